// Every example object through objectKernelVerdicts(): the static scan together with the verifier
// run as each profiled release ran it. Expectations follow from the feature table's dates (each
// with its source in src/kernels/features.ts) and the kernel's own messages for those features.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import {
  compareVersions,
  KERNEL_VERSIONS,
  type KernelVerdict,
  objectKernelVerdicts,
  type ScanResult,
} from '../../src/kernels/index.ts';

const root = new URL('../../', import.meta.url).pathname;
const inventory = JSON.parse(readFileSync(`${root}examples/inventory.json`, 'utf8')) as {
  objects: { example: string; object: string }[];
};

const results = new Map<string, { scan: ScanResult; verdicts: KernelVerdict[] }>();
for (const o of inventory.objects) {
  const spec = loadCollectionSpec(readFileSync(`${root}${o.object}`), { file: o.object });
  results.set(o.example, objectKernelVerdicts(spec, KERNEL_VERSIONS, { logLevel: 0 }));
}
const on = (example: string, version: string): KernelVerdict => {
  const v = results.get(example)?.verdicts.find((x) => x.version === version);
  assert.ok(v, `${example} on ${version}`);
  return v;
};
const kernelSays = (v: KernelVerdict, program: string): string =>
  v.reasons.find((r) => r.from === 'verifier' && r.program === program)?.text ?? '';
const missing = (v: KernelVerdict): string[] => v.reasons.filter((r) => r.from === 'scan').map((r) => r.text);

// What a release's verifier or loader says about a feature it lacks (src/verifier/profile.ts)
const RELEASE_MESSAGE =
  /: (unknown opcode [0-9a-f]{2}|unrecognized bpf_ld_imm64 insn|invalid func unknown#\d+|unknown func \S+#\d+|back-edge from insn \d+ to \d+|BPF_(ALU|MOV|XADD|CALL) uses reserved fields|tail_calls are not allowed .*|map \S+: BPF_MAP_CREATE fails .*|program type \S+ needs .*|program of \d+ insns is too large .*)( \(insn \d+\))?$/;

test('each example loads exactly from the release its features need, and older releases say why in their words', () => {
  for (const [example, { scan, verdicts }] of results) {
    for (const v of verdicts) {
      const old = compareVersions(v.version, scan.minVersion) < 0;
      assert.equal(
        v.verdict,
        old ? 'blocked' : 'ok',
        `${example} on ${v.version}: ${v.reasons[0]?.text ?? ''}`,
      );
      for (const r of v.reasons.filter((x) => x.from === 'verifier'))
        assert.match(r.text, RELEASE_MESSAGE, `${example} on ${v.version}`);
    }
  }
});

test('bpf_loop: callback pointers are unrecognized before 5.13, helper 181 unknown before 5.17', () => {
  assert.match(
    kernelSays(on('bpf-loop', '5.10'), 'loop_histogram'),
    /unrecognized bpf_ld_imm64 insn \(insn \d+\)$/,
  );
  for (const prog of ['loop_histogram', 'loop_primes'])
    assert.match(kernelSays(on('bpf-loop', '5.15'), prog), /^\S+: invalid func unknown#181 \(insn \d+\)$/);
  assert.match(
    missing(on('bpf-loop', '5.15'))[0]!,
    /^bpf_loop \(helper 181\) at insn \d+ of loop_histogram needs 5\.17$/,
  );
  assert.equal(on('bpf-loop', '6.1').verdict, 'ok');
});

test('timers: life and timer need bpf_timer (5.15); life also bpf_loop (5.17)', () => {
  const timers = (v: KernelVerdict) =>
    missing(v).filter((t) => /^bpf_timer_\w+ \(helper 1(69|70|71|72)\)/.test(t));
  assert.ok(timers(on('timer', '5.10')).length > 0);
  assert.equal(on('timer', '5.15').verdict, 'ok');
  assert.ok(timers(on('life', '5.10')).length > 0);
  assert.deepEqual(timers(on('life', '5.15')), []);
  // seed always calls bpf_loop; step at the default 64 × 40 takes its direct path, and the
  // walk never reaches its bpf_loop call.
  assert.match(kernelSays(on('life', '5.15'), 'seed'), /invalid func unknown#181/);
  assert.equal(on('life', '6.1').verdict, 'ok');
});

test('cpu v4 (6.6), bounded loops (5.3), ring buffer (5.8), global data (5.2)', () => {
  for (const v of ['4.19', '5.4', '5.10', '5.15', '6.1'])
    assert.match(
      kernelSays(on('isa-v4', v), 'isa_v4'),
      /: (unknown opcode|BPF_(ALU|MOV) uses reserved fields)/,
    );
  assert.equal(on('isa-v4', '6.6').verdict, 'ok');
  assert.match(
    kernelSays(on('loops', '4.19'), 'checksum_loop'),
    /: back-edge from insn \d+ to \d+ \(insn \d+\)$/,
  );
  assert.equal(on('loops', '5.4').verdict, 'ok');
  assert.match(
    kernelSays(on('tls', '5.4'), 'tls_parse'),
    /map tls_events: BPF_MAP_CREATE fails .* ringbuf needs 5\.8$/,
  );
  assert.match(kernelSays(on('globals', '4.19'), 'globals_xdp'), /unrecognized bpf_ld_imm64 insn/);
  assert.equal(on('globals', '5.4').verdict, 'ok');
});
