// test/verifier/callbacks/callbacks.bpf.o: bpf_loop callbacks verified as the kernel does, as if
// called an unknown number of times (each run re-entered from the state the last one left,
// until the state at the call repeats). Verdicts and processed counts recorded from Linux 6.18
// (kobj --log 0); the kernel test checks they still hold. Rebuild with callbacks/build.sh.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';
import { loadExampleProgram } from './objects.ts';

const object = join(repoRoot, 'test/verifier/callbacks/callbacks.bpf.o');

/** Program → the kernel's verdict and processed instructions. */
const KERNEL: Record<string, { verdict: 'accept' | 'reject'; processed: number; slack?: number }> = {
  draft_counter: { verdict: 'accept', processed: 120 },
  precise_counter: { verdict: 'accept', processed: 36 },
  // the same state at the inner loop's head in two callback runs is progress, not an infinite loop
  inner_loop: { verdict: 'accept', processed: 1789 },
  const_key_counter: { verdict: 'accept', processed: 47 },
  bounded_counter: { verdict: 'accept', processed: 59 },
  // a constant loop count of 16 ends the unrolling of a precise counter after 16 runs
  precise_slot: { verdict: 'accept', processed: 171 },
  imprecise_slot: { verdict: 'accept', processed: 38 },
  // an unknown loop count: the precise counter never repeats, the kernel gives up at 1M
  precise_slot_unbounded: { verdict: 'reject', processed: 1000001 },
  inner_loop_unbounded: { verdict: 'accept', processed: 1788 },
  draft_unbounded: { verdict: 'accept', processed: 119 },
  // tsbpf processed 7238 until a prune at the bpf_loop call after a callback's exit recorded that
  // step before its precision walk (explore.ts propagateOnPrune()): c->pos, read through the
  // callback's pointer into the caller's stack (frame-0 fp-264), is now precise in the checkpoint
  // at the callback's exit, as in the kernel; the count is now the kernel's
  // (test/verifier/precision-history.test.ts)
  walk_buffer: { verdict: 'accept', processed: 14523 },
  // never converges either: 8193 queued runs (the jump sequence limit) before 1M
  walk_masked_buffer: { verdict: 'reject', processed: 172060 },
  key_from_pos: { verdict: 'accept', processed: 101 },
  // the copy size is a helper's size argument (precise), so is the position; its range grows
  copy_in_callback: { verdict: 'reject', processed: 116847 },
};

test('every program of the object has an expectation', () => {
  const spec = loadCollectionSpec(readFileSync(object), { file: object });
  assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(KERNEL).sort());
});

for (const [name, want] of Object.entries(KERNEL)) {
  if (want.processed >= 1_000_000) {
    // the full 1M run takes a minute; a callback that never repeats its state outgrows any limit
    test(`tsbpf: ${name} does not converge (refused at a 30,000 insn limit)`, () => {
      const r = verify(loadExampleProgram(object, name).input, { insnLimit: 30_000 });
      assert.equal(r.error?.message, 'BPF program is too large. Processed 30001 insn');
    });
    continue;
  }
  const slack = want.slack ?? 2;
  test(`tsbpf: ${name} is ${want.verdict}ed, processed count within ${slack}x of ${want.processed}`, () => {
    const r = verify(loadExampleProgram(object, name).input, { logLevel: 1 });
    assert.equal(r.verdict, want.verdict, `${r.error?.message}`);
    const n = r.insnsProcessed;
    assert.ok(n * slack >= want.processed && n <= want.processed * slack, `${n}`);
  });
}

const skip = prepareKobj();
test('kernel: the recorded verdicts and processed counts are what Linux says', { skip }, () => {
  for (const [name, want] of Object.entries(KERNEL)) {
    const p = runKobj(['--prog', name, '--log', '0', object]).programs[0]!;
    assert.equal(p.verdict, want.verdict, name);
    assert.equal(p.insnsProcessed, want.processed, name);
  }
});
