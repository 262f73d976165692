// formatEntry()/formatMapDump() against `bpftool -j map dump` of the same bytes in the kernel:
// the fixture object (test/maps/fixtures/fmt.bpf.c) is loaded by bpftool in a private mount
// namespace (its own bpffs), values are written with `bpftool map update`, and bpftool's
// "formatted" output must equal ours. Skipped when bpftool, unshare or bpf() is unavailable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/collection-spec.ts';
import type { MapSpec } from '../../src/elf/spec.ts';
import { ArrayMap } from '../../src/maps/array.ts';
import { createMap } from '../../src/maps/create.ts';
import { btfValue, btfValueToJson, formatEntry, formatMapDump } from '../../src/maps/format.ts';
import { Arena } from '../../src/vm/arena.ts';

const obj = new URL('./fixtures/fmt.bpf.o', import.meta.url).pathname;
const spec = loadCollectionSpec(new Uint8Array(readFileSync(obj)), { file: obj });
const btf = spec.btf!;
const mapSpec = (name: string): MapSpec => {
  const m = spec.maps.find((x) => x.name === name);
  if (!m) throw new Error(`fixture has no map ${name}: ${spec.maps.map((x) => x.name).join(', ')}`);
  return m;
};

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A struct sample with a string in `name`, an invalid enum value and random everything else. */
function sample(seed: number): Uint8Array {
  const sampleId = btf.typeByName('sample', 'struct').id;
  const b = bytes(btf.sizeof(sampleId), seed);
  const name = btf.memberOffset(sampleId, 'name').bitOffset / 8;
  b.set([104, 105, 0, 0, 0, 0, 0, 0], name);
  return b;
}

const hexArgs = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** Runs `sh` with the fixture loaded and its maps pinned under $M; undefined if impossible. */
function withBpftool(script: string): string | undefined {
  const sh = `set -e
mount -t bpf bpf /sys/fs/bpf
mkdir /sys/fs/bpf/t
bpftool prog loadall ${obj} /sys/fs/bpf/t pinmaps /sys/fs/bpf/t/maps >/dev/null 2>&1
M=/sys/fs/bpf/t/maps
${script}`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', sh], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

const probe = withBpftool('echo ok');
const skip = probe?.trim() === 'ok' ? undefined : 'bpftool/unshare/bpf() unavailable';
if (skip) console.log(`# maps format test against bpftool skipped: ${skip}`);

/** bpftool's "formatted" objects of one map, as JSON text per entry. */
function bpftoolDump(updates: string, map: string): unknown[] {
  const out = withBpftool(`${updates}\nbpftool -j map dump pinned $M/${map}`);
  assert.ok(out, 'bpftool run failed');
  return (JSON.parse(out) as { formatted: unknown }[]).map((e) => e.formatted);
}

describe('BTF formatting: tsbpf vs bpftool', { skip }, () => {
  test('global data (.bss struct with every kind of member, .data int)', () => {
    const bss = mapSpec('fmt.bss');
    const v = sample(5);
    const theirs = bpftoolDump(
      `bpftool map update pinned $M/fmt_bss key hex 00 00 00 00 value hex ${hexArgs(v)}`,
      'fmt_bss',
    );
    const m = createMap(new Arena(), bss, { btf });
    m.update(ArrayMap.key(0), v);
    const ours = formatMapDump(m).map((e) => JSON.parse(btfValueToJson(e)));
    // Global data maps have no key type: bpftool then shows only the value.
    assert.deepEqual(ours, theirs);
    const data = createMap(new Arena(), mapSpec('fmt.data'), { btf });
    assert.deepEqual(
      formatMapDump(data).map((e) => JSON.parse(btfValueToJson(e)).value),
      [{ '.data': [{ counter: 7 }] }],
    );
  });

  test('hash with struct key (bitfields) and struct value', () => {
    const s = mapSpec('by_bits');
    const keys = [bytes(s.keySize, 1), bytes(s.keySize, 2)];
    const vals = [sample(11), sample(12)];
    const cmds = keys.map(
      (k, i) => `bpftool map update pinned $M/by_bits key hex ${hexArgs(k)} value hex ${hexArgs(vals[i]!)}`,
    );
    const theirs = bpftoolDump(cmds.join('\n'), 'by_bits');
    const m = createMap(new Arena(), s, { btf });
    keys.forEach((k, i) => {
      m.update(k, vals[i]!);
    });
    const ours = formatMapDump(m).map((e) => JSON.parse(btfValueToJson(e)));
    // Hash iteration orders differ: compare as sets.
    const sort = (a: unknown[]) => a.map((x) => JSON.stringify(x)).sort();
    assert.deepEqual(sort(ours), sort(theirs));
  });

  test('per-CPU array of enums: one value per CPU, named or numeric', () => {
    const s = mapSpec('colors');
    const cpus =
      Number(/(\d+)$/.exec(readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim())![1]) + 1;
    // bpftool writes the same value to every CPU: GREEN (5) at key 0, 77 (no enumerator) at key 1.
    const theirs = bpftoolDump(
      [
        'bpftool map update pinned $M/colors key hex 00 00 00 00 value hex 05 00 00 00',
        'bpftool map update pinned $M/colors key hex 01 00 00 00 value hex 4d 00 00 00',
      ].join('\n'),
      'colors',
    );
    const m = createMap(new Arena(), s, { btf, nrCpus: cpus });
    assert.ok(m instanceof ArrayMap);
    m.updatePerCpu(ArrayMap.key(0), new Array(cpus).fill(new Uint8Array([5, 0, 0, 0])));
    m.updatePerCpu(ArrayMap.key(1), new Array(cpus).fill(new Uint8Array([77, 0, 0, 0])));
    assert.deepEqual(
      formatMapDump(m).map((e) => JSON.parse(btfValueToJson(e))),
      theirs,
    );
  });
});

test('formatEntry: numbers past 2^53 keep every digit', () => {
  const s = mapSpec('by_bits');
  const sampleId = btf.typeByName('sample', 'struct').id;
  const v = new Uint8Array(btf.sizeof(sampleId));
  const big = btf.memberOffset(sampleId, 'big').bitOffset / 8;
  new DataView(v.buffer).setBigUint64(big, 0xfedcba9876543210n, true);
  const text = formatEntry(btf, s.keyTypeId, s.valueTypeId, new Uint8Array(s.keySize), v);
  assert.match(text, /"big":18364758544493064720[,}]/);
  assert.equal(btfValue(btf, sampleId, v) instanceof Object, true);
});
