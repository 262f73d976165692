// Issue #3, point 7: every example program linked by `tsbpf obj link` (raw bytecode plus the
// BTF, func_info and line_info it writes) is accepted by the running kernel through the kbtf
// oracle (test/examples/kbtf.c), and where BPF_PROG_TEST_RUN can run it, the kernel's retval,
// data_out and array maps equal `tsbpf run FILE.o`'s on the same input. BTF-attached tracing
// programs get the attach type and vmlinux type `obj link --json` names; maps of maps get the
// inner map template and the initialiser's inner maps it lists.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dumpMap } from '../../src/cli/map-spec.ts';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import type { CollectionSpec } from '../../src/elf/spec.ts';
import { newCollection } from '../../src/runtime/collection.ts';
import { cli, scratch } from '../cli/helpers.ts';
import { prepareKbpf, repoRoot, runKbpfSync } from '../oracles.ts';
import { prepareCTool } from './kobj.ts';

const kbpf = prepareKbpf();
// libbpf finds the attach_btf_id in the kernel's BTF (libbpf_find_vmlinux_btf_id()).
const kbtf = kbpf.skip ? kbpf : prepareCTool('kbtf');
const skip = kbpf.skip ?? kbtf.skip ?? false;

const LOADABLE = new Set([
  'socket_filter',
  'xdp',
  'sched_cls',
  'sched_act',
  'cgroup_skb',
  'syscall',
  'tracepoint',
  'kprobe',
  'raw_tracepoint',
  'perf_event',
  'tracing',
]);
const RUNNABLE = new Set(['socket_filter', 'xdp', 'sched_cls', 'sched_act', 'syscall']);
const MAP_TYPES =
  /^(hash|array|prog_array|perf_event_array|percpu_hash|percpu_array|lru_hash|lru_percpu_hash|lpm_trie|devmap|cpumap|xskmap|devmap_hash|queue|stack|ringbuf|bloom_filter|array_of_maps|hash_of_maps)$/;

/** Programs loaded and run in both, whose results cannot agree by construction. */
const RUN_EXCLUDED: Record<string, string> = {
  tail_entry:
    'tsbpf run fills the prog array from the object (tail calls happen); the oracle loads one program, so its tail calls fall through',
  timer_arm_xdp:
    'the kernel fires the armed timer in real time before the maps are read; tsbpf run does not drive its event loop after the run',
};

interface LinkJson {
  type: string;
  attach_type?: string;
  attach_btf?: { name: string; kind: string };
  maps: {
    spec: string;
    flags: number;
    key_type_id: number;
    value_type_id: number;
    frozen?: boolean;
    initial_data?: string;
    origin: string;
    inner_map?: { spec: string; flags: number };
    values?: { key: number; kind: string; name: string; spec?: string; flags?: number }[];
  }[];
}

/** The inner maps tsbpf put in map-of-maps slots, after running `prog` on 64 zero bytes. */
function tsbpfSlotMaps(spec: CollectionSpec, prog: string, l: LinkJson): Map<string, string> {
  const out = new Map<string, string>();
  const coll = newCollection(spec, { programs: [prog], verify: false });
  try {
    coll.program(prog).run({ data: new Uint8Array(64) });
    l.maps.forEach((m, i) => {
      for (const v of m.values ?? [])
        if (v.kind === 'map' && v.spec?.startsWith('array:'))
          for (const e of dumpMap(coll.map(v.name))) out.set(`map${i}/${v.key}[${e.key}]`, e.value);
    });
  } finally {
    coll.close();
  }
  return out;
}

function examples(): string[] {
  const dir = join(repoRoot, 'examples');
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true }))
    if (d.isDirectory())
      for (const f of readdirSync(join(dir, d.name))) if (f.endsWith('.o')) out.push(join(dir, d.name, f));
  return out.sort();
}

test('every example program linked by tsbpf loads in the kernel with its BTF; runs agree', {
  skip,
}, async (t) => {
  const s = scratch('tsbpf-kbtf-');
  const accepted: string[] = [];
  const rejected: string[] = [];
  const excluded: string[] = [];
  const ranSame: string[] = [];
  const ranDiff: string[] = [];
  const attachChecked: string[] = [];
  const slotsChecked: string[] = [];
  let sawBtfMatter = false;
  try {
    for (const obj of examples()) {
      const spec = loadCollectionSpec(new Uint8Array(readFileSync(obj)), { file: obj });
      const short = obj.slice(repoRoot.length + 1);
      for (const p of spec.programs) {
        const id = `${short} ${p.name}`;
        if (!LOADABLE.has(p.progType)) {
          excluded.push(`${id}: program type ${p.progType} is not one kbtf loads`);
          continue;
        }
        const f = (ext: string) => s.path(`${p.name}.${ext}`);
        const link = await cli(
          'obj',
          'link',
          obj,
          '--prog',
          p.name,
          '-o',
          f('bin'),
          '--btf-out',
          f('btf'),
          '--func-info-out',
          f('func'),
          '--line-info-out',
          f('line'),
          '--json',
        );
        assert.equal(link.code, 0, `${id}: ${link.err}`);
        const l = JSON.parse(link.out) as LinkJson;
        const inner = l.maps.find((m) => !MAP_TYPES.test(m.spec.split(':')[0]!));
        if (inner) {
          excluded.push(`${id}: map type ${inner.spec.split(':')[0]} is not one kbtf creates`);
          continue;
        }
        // Map BTF ids only with the BTF: the no-BTF control below creates plain maps.
        const mapArgs = (btf: boolean) =>
          l.maps.flatMap((m, i) => [
            '--map',
            btf ? `${m.spec}:${m.flags}:${m.key_type_id}:${m.value_type_id}` : `${m.spec}:${m.flags}`,
            ...(m.initial_data ? ['--init', `${i}:${m.initial_data}`] : []),
            ...(m.frozen ? ['--freeze', String(i)] : []),
            ...(m.inner_map ? ['--inner', `${i}:${m.inner_map.spec}:${m.inner_map.flags}`] : []),
            // Program slots (tail calls) are not filled: the oracle loads one program.
            ...(m.values ?? [])
              .filter((v) => v.kind === 'map')
              .flatMap((v) => ['--slot', `${i}:${v.key}:${v.spec}:${v.flags}`]),
          ]);
        const attach = l.attach_btf
          ? ['--attach-type', l.attach_type!, '--attach-btf', `${l.attach_btf.kind}:${l.attach_btf.name}`]
          : [];
        const btfArgs = ['--btf', f('btf'), '--func-info', f('func'), '--line-info', f('line')];
        const args = ['--type', l.type, ...attach, ...btfArgs, ...mapArgs(true)];
        const runnable = RUNNABLE.has(l.type);
        const k = runKbpfSync(kbtf.path, [
          ...args,
          '--log',
          '1',
          ...(runnable ? ['--run', '--dump-maps'] : []),
          f('bin'),
        ]);
        if (k.verdict !== 'accept') {
          rejected.push(`${id}: ${k.stdout.split('\n').slice(-6).join(' | ')} ${k.stderr}`);
          continue;
        }
        accepted.push(id);
        if (p.name === 'loop_histogram') {
          // The BTF is what made it load: without func_info the kernel refuses the callback.
          const noBtf = runKbpfSync(kbtf.path, ['--type', l.type, ...mapArgs(false), f('bin')]);
          assert.equal(noBtf.verdict, 'reject', `${id} without BTF: ${noBtf.raw}`);
          sawBtfMatter = true;
        }
        if (l.attach_btf) {
          // The attach target is what made it load: a tracing program without one is refused.
          assert.match(k.stdout, /^attach_btf_id: [1-9]\d*$/m, id);
          const noTarget = runKbpfSync(kbtf.path, ['--type', l.type, ...btfArgs, ...mapArgs(true), f('bin')]);
          assert.equal(noTarget.verdict, 'reject', `${id} without attach_btf_id: ${noTarget.raw}`);
          attachChecked.push(id);
        }
        const kernelSlots = new Map(
          [...k.stdout.matchAll(/^(map\d+\/\d+\[\d+\]): ([0-9a-f]+)$/gm)].map((x) => [x[1]!, x[2]!]),
        );
        if (l.maps.some((m) => m.values?.some((v) => v.kind === 'map'))) {
          // Filled slots are what let it run: with empty outer maps mim_xdp returns XDP_ABORTED.
          assert.ok(kernelSlots.size > 0, `${id}: the kernel printed no inner maps`);
          const mine = tsbpfSlotMaps(spec, p.name, l);
          assert.deepEqual(kernelSlots, mine, `${id}: inner maps after the run`);
          slotsChecked.push(id);
        }
        if (!runnable || k.runError) continue;
        if (RUN_EXCLUDED[p.name]) {
          excluded.push(`${id} (run only): ${RUN_EXCLUDED[p.name]}`);
          continue;
        }
        const r = await cli('run', obj, '--prog', p.name, '--dump-maps', '--json');
        assert.equal(r.code, 0, `${id}: tsbpf run: ${r.err}`);
        const ours = JSON.parse(r.out) as {
          retval: number;
          data_out: string;
          maps?: { index: number; type: string; entries: { key: string; value: string }[] }[];
        };
        const mine = new Map<string, string>();
        for (const m of ours.maps ?? [])
          if (m.type === 'array') for (const e of m.entries) mine.set(`map${m.index}[${e.key}]`, e.value);
        const same =
          ours.retval === k.retval &&
          ours.data_out === (k.dataOut ?? '') &&
          [...k.maps].every(([key, v]) => mine.get(key) === v);
        (same ? ranSame : ranDiff).push(
          same
            ? id
            : `${id}: kernel retval ${k.retval} maps ${JSON.stringify([...k.maps])}, tsbpf ${ours.retval} maps ${JSON.stringify([...mine])}`,
        );
      }
    }
  } finally {
    s.remove();
  }
  t.diagnostic(`kernel accepted ${accepted.length} linked example programs`);
  for (const e of excluded) t.diagnostic(`excluded: ${e}`);
  t.diagnostic(`ran in both: ${ranSame.length} agree, ${ranDiff.length} differ`);
  assert.ok(sawBtfMatter, 'loop_histogram was checked without its BTF');
  assert.deepEqual(ranDiff, []);
  assert.deepEqual(rejected, []);
  // Every program of every example object; the tp_btf and iter programs with their target.
  const all = examples().flatMap(
    (o) => loadCollectionSpec(new Uint8Array(readFileSync(o)), { file: o }).programs,
  );
  assert.equal(accepted.length, all.length, `accepted ${accepted.length} of ${all.length}`);
  assert.ok(all.length >= 39, `${all.length} example programs`);
  assert.deepEqual(
    attachChecked.map((x) => x.split(' ')[1]),
    all.filter((p) => p.progType === 'tracing').map((p) => p.name),
  );
  assert.deepEqual(
    slotsChecked.map((x) => x.split(' ')[1]),
    ['mim_xdp'],
  );
  assert.ok(ranSame.length >= 20, `ran ${ranSame.length}`);
});
