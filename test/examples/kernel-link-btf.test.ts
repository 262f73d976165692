// Issue #3, point 7: every example program linked by `tsbpf obj link` (raw bytecode plus the
// BTF, func_info and line_info it writes) is accepted by the running kernel through the kbtf
// oracle (test/examples/kbtf.c), and where BPF_PROG_TEST_RUN can run it, the kernel's retval,
// data_out and array maps equal `tsbpf run FILE.o`'s on the same input.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { cli, scratch } from '../cli/helpers.ts';
import { buildCTool, prepareKbpf, repoRoot, runKbpfSync } from '../oracles.ts';
import { readFileSync } from 'node:fs';

const kbpf = prepareKbpf();
const kbtf = kbpf.skip ? kbpf : buildCTool('kbtf', join(repoRoot, 'test/examples/kbtf.c'));
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
]);
const RUNNABLE = new Set(['socket_filter', 'xdp', 'sched_cls', 'sched_act', 'syscall']);
const MAP_TYPES =
  /^(hash|array|prog_array|perf_event_array|percpu_hash|percpu_array|lru_hash|lru_percpu_hash|lpm_trie|devmap|cpumap|xskmap|devmap_hash|queue|stack|ringbuf|bloom_filter)$/;

/** Programs loaded and run in both, whose results cannot agree by construction. */
const RUN_EXCLUDED: Record<string, string> = {
  tail_entry:
    'tsbpf run fills the prog array from the object (tail calls happen); the oracle loads one program, so its tail calls fall through',
  timer_arm_xdp:
    'the kernel fires the armed timer in real time before the maps are read; tsbpf run does not drive its event loop after the run',
};

interface LinkJson {
  type: string;
  maps: {
    spec: string;
    flags: number;
    key_type_id: number;
    value_type_id: number;
    frozen?: boolean;
    initial_data?: string;
    origin: string;
  }[];
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
  let sawBtfMatter = false;
  try {
    for (const obj of examples()) {
      const spec = loadCollectionSpec(new Uint8Array(readFileSync(obj)), { file: obj });
      const short = obj.slice(repoRoot.length + 1);
      for (const p of spec.programs) {
        const id = `${short} ${p.name}`;
        if (!LOADABLE.has(p.progType)) {
          // BTF-typed contexts (tp_btf, iter) need attach_btf_id of a kernel function.
          excluded.push(`${id}: ${p.progType} needs an attach target (attach_btf_id)`);
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
          // Maps of maps need an inner map fd at creation, which the oracle does not make.
          excluded.push(`${id}: map type ${inner.spec.split(':')[0]} (needs an inner map)`);
          continue;
        }
        // Map BTF ids only with the BTF: the no-BTF control below creates plain maps.
        const mapArgs = (btf: boolean) =>
          l.maps.flatMap((m, i) => [
            '--map',
            btf ? `${m.spec}:${m.flags}:${m.key_type_id}:${m.value_type_id}` : `${m.spec}:${m.flags}`,
            ...(m.initial_data ? ['--init', `${i}:${m.initial_data}`] : []),
            ...(m.frozen ? ['--freeze', String(i)] : []),
          ]);
        const btfArgs = ['--btf', f('btf'), '--func-info', f('func'), '--line-info', f('line')];
        const args = ['--type', l.type, ...btfArgs, ...mapArgs(true)];
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
  // 39 programs in the examples: tp_btf/iter (2) need attach_btf_id, mim_xdp a map of maps.
  assert.ok(accepted.length >= 36, `accepted ${accepted.length}`);
  assert.ok(ranSame.length >= 20, `ran ${ranSame.length}`);
});
