// test/verifier/for-each/for-each.bpf.o: bpf_for_each_map_elem callbacks get (map, key, value,
// ctx) and are verified as if called any number of times. Verdicts, processed counts and error
// lines recorded from Linux 6.18 (kobj --log 0); the kernel test checks they still hold.
// Rebuild with for-each/build.sh.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { verify } from '../../src/verifier/index.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';
import { loadExampleProgram } from './objects.ts';

const object = join(repoRoot, 'test/verifier/for-each/for-each.bpf.o');

const KERNEL: Record<string, { verdict: 'accept' | 'reject'; processed: number; error?: string }> = {
  sum_values: { verdict: 'accept', processed: 40 },
  stop_early: { verdict: 'accept', processed: 19 },
  // the ctx counter never repeats while the result is precise: the kernel gives up
  count_and_stop: {
    verdict: 'reject',
    processed: 106508,
    error: 'The sequence of 8193 jumps is too complex.',
  },
  value_oob: {
    verdict: 'reject',
    processed: 14,
    error: 'invalid access to map value, value_size=8 off=8 size=8',
  },
  bad_return: {
    verdict: 'reject',
    processed: 13,
    error: 'At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]',
  },
  ringbuf_map: { verdict: 'reject', processed: 9, error: 'callback function not allowed for map' },
  null_ctx: { verdict: 'reject', processed: 8, error: "R4 invalid mem access 'scalar'" },
};

for (const [name, want] of Object.entries(KERNEL)) {
  if (want.processed > 100_000) {
    // 100k instructions take seconds; a callback that never repeats its state outgrows any limit
    test(`tsbpf: ${name} does not converge (refused at a 20,000 insn limit)`, () => {
      const r = verify(loadExampleProgram(object, name).input, { insnLimit: 20_000 });
      assert.equal(r.error?.message, 'BPF program is too large. Processed 20001 insn');
    });
    continue;
  }
  test(`tsbpf: ${name} is ${want.verdict}ed after ${want.processed} insns, as by the kernel`, () => {
    const r = verify(loadExampleProgram(object, name).input, {});
    assert.equal(r.verdict, want.verdict, `${r.error?.message}`);
    assert.equal(r.insnsProcessed, want.processed);
    if (want.error) assert.equal(r.error?.message, want.error);
  });
}

const skip = prepareKobj();
test('kernel: the recorded verdicts, processed counts and errors are what Linux says', { skip }, () => {
  const report = runKobj(['--log', '0', object]);
  assert.deepEqual(report.programs.map((p) => p.program).sort(), Object.keys(KERNEL).sort());
  for (const p of report.programs) {
    const want = KERNEL[p.program]!;
    assert.equal(p.verdict, want.verdict, p.program);
    assert.equal(p.insnsProcessed, want.processed, p.program);
    if (want.error) assert.equal(p.error, want.error, p.program);
  }
});
