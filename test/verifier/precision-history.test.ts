// Precision marks propagated on a prune follow the path that reached the pruned instruction.
// The step into that instruction (a jump, a callback's return to its bpf_loop call) must be in
// the state's history before the walk starts (kernel: push_jmp_history() before
// propagate_precision() in is_state_visited()); without it the walk takes idx - 1 for the
// predecessor, marks nothing on the real path, and a later state is pruned against a
// checkpoint that lacks the mark. tsbpf records the step into every jump point, as the kernel
// does (explore.ts propagateOnPrune()).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeProgram } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { caseProgram, parseCase } from './cases.ts';
import { buildKbpf } from './kbpf.ts';
import { loadExampleProgram } from './objects.ts';

const callbacksObject = new URL('./callbacks/callbacks.bpf.o', import.meta.url).pathname;

// Three paths meet at `use`, which is decided on r2 (so r2 is precise there):
//  F (r6 <= 5) falls through into `use` with r2 = 0 and leaves a checkpoint there;
//  A (5 < r6 <= 10) leaves a checkpoint at `a`, jumps to `use` with r2 = 0 and is pruned:
//    its r2 must become precise in the checkpoint at `a`; the walk that took the insn before
//    `use` (r2 = 0, on F only) for A's predecessor stopped there;
//  B (r6 > 10) reaches `a` with r2 = 1: equal to the checkpoint only while r2 there is
//    imprecise. Explored, it takes `bad` and dereferences a scalar.
const CASE = `-- expect reject
-- message R6 invalid mem access 'scalar'
-- asm
call 7
r6 = r0
r0 = 0
r2 = 0
r1 = 0
if r6 > 10 goto b
if r6 > 5 goto a
r1 = 0
r1 = 0
r1 = 0
r1 = 0
r1 = 0
r2 = 0
use:
if r2 != 0 goto bad
call 7
call 7
r1 = 0
r1 = 0
r1 = 0
r1 = 0
r1 = 0
r0 = 0
exit
a:
r1 = 0
goto use
b:
r2 = 1
goto a
bad:
r0 = *(u64 *)(r6 + 0)
exit
`;

const c = parseCase(CASE, 'precision-prune-jump-edge');

// Once unsound: tsbpf accepted this program because the jump edge into the pruned insn was not
// in the history. Recording it also needed the kernel's checkpoint rules to keep examples/l4lb
// near the kernel's count: a history longer than 40 entries forces a checkpoint, states that keep
// missing are evicted also when a later one is hit, `rX = rY` drops rY's "id + K" link, and an
// unlinked old scalar is compared by range alone.
test('a prune after a jump marks the jump path precise: the path that needs it is explored and rejected', () => {
  const r = verify(caseProgram(c), { logLevel: 1 });
  assert.equal(r.verdict, 'reject');
  assert.equal(r.error?.message, "R6 invalid mem access 'scalar'");
  // the bad dereference is the last instruction but one
  assert.equal(r.error?.insnIdx, c.insns.length - 2);
});

test('a prune at bpf_loop after a callback exit marks the caller slot read through the callback pointer', () => {
  // callbacks.bpf.o walk_buffer: the kernel processes 14,523 insns (callbacks.test.ts checks
  // that against Linux); without the callback-exit edge tsbpf pruned the NULL-lookup path at
  // the callback's exit against a state whose c->pos (fp-264 of frame 0) was left imprecise
  // and processed 7,238
  const r = verify(loadExampleProgram(callbacksObject, 'walk_buffer').input, { logLevel: 0 });
  assert.equal(r.verdict, 'accept');
  assert.equal(r.insnsProcessed, 14523);
});

const kbpf = buildKbpf();
test('kernel: the same program is rejected for the same reason', {
  skip: kbpf ? false : 'bpf() unavailable (needs root and gcc)',
}, () => {
  const k = kbpf!.load(encodeProgram(c.insns), c.progType, c.maps, 1, undefined);
  kbpf!.close();
  assert.equal(k.accepted, false);
  assert.ok(k.log.includes("R6 invalid mem access 'scalar'"), k.log.join('\n'));
  // the failing path is `b`'s: the kernel did not prune it at `a`
  assert.ok(
    k.log.some((l) => /^\d+: \(b7\) r2 = 1 /.test(l)),
    k.log.join('\n'),
  );
});
