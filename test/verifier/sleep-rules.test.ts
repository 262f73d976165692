// Where sleeping is allowed, against Linux 6.18: test/verifier/objects/sleep_rules.bpf.o has
// one program per rule (sleepable helpers and kfuncs inside callbacks, bpf_rcu_read_lock
// sections). Each program's verdict and message below were read from the kernel's log (kobj
// --log 1) and are what the kernel's verifier.c says for that rule; tsbpf's verifier must give
// the same, and the kernel test re-checks the table wherever bpf() is available.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { resolveKfuncCalls } from '../../src/runtime/kfunc-calls.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
import { verify } from '../../src/verifier/index.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';

const object = 'test/verifier/objects/sleep_rules.bpf.o';
const RCU_EXIT = 'BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region';
const SLEEP_IN_RCU = 'sleepable helper bpf_copy_from_user#148 in rcu_read_lock region';
const UNMATCHED = 'unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)';

/** Program → undefined (accepted) or the kernel's message. */
const expected: Record<string, string | undefined> = {
  accept_sleep_in_loop: undefined,
  accept_sleep_in_for_each: undefined,
  accept_sleep_deep_in_loop: undefined,
  accept_sleep_in_nested_loops: undefined,
  // kernel: push_async_cb() leaves in_sleepable false for timer callbacks
  reject_sleep_in_timer_cb: 'helper call might sleep in a non-sleepable prog',
  reject_sleepable_kfunc_in_tp: 'program must be sleepable to call sleepable kfunc bpf_copy_from_user_str',
  accept_sleepable_kfunc: undefined,
  accept_rcu: undefined,
  reject_helper_sleeps_in_rcu: SLEEP_IN_RCU,
  reject_kfunc_sleeps_in_rcu: 'kernel func bpf_copy_from_user_str is sleepable within rcu_read_lock region',
  // 6.18 keeps a flag, not a depth
  reject_rcu_nested: 'nested rcu read lock (kernel function bpf_rcu_read_lock)',
  reject_rcu_unmatched: UNMATCHED,
  reject_rcu_unlock_twice: UNMATCHED,
  reject_rcu_left_open: RCU_EXIT,
  // the callback runs inside the caller's section
  reject_loop_sleeps_in_rcu: SLEEP_IN_RCU,
  accept_rcu_in_loop_cb: undefined,
  // nothing checks a callback's exit: the section is still open at the program's exit
  reject_rcu_open_in_loop_cb: RCU_EXIT,
  accept_rcu_across_static_subprog: undefined,
  accept_global_call_in_rcu: undefined,
  // a global function is verified as a program of its own
  reject_global_leaves_rcu_open: RCU_EXIT,
  accept_rcu_in_socket_filter: undefined,
};

function tsbpfVerdict(name: string): string | undefined {
  const spec = resolveKfuncCalls(
    loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object }),
  );
  const linked = linkProgram(spec, name, { mapIndex: 'used' });
  const r = verify(linkedVerifyProgram(spec, linked));
  return r.verdict === 'accept' ? undefined : r.error?.message;
}

for (const [name, message] of Object.entries(expected)) {
  test(`tsbpf: ${name} ${message === undefined ? 'is accepted' : `is refused: ${message}`}`, () => {
    assert.equal(tsbpfVerdict(name), message);
  });
}

test('the table names every program of the object', () => {
  const spec = loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object });
  assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(expected).sort());
});

const skip = prepareKobj();
test('kernel: the same verdicts and messages', { skip }, () => {
  const r = runKobj([object]);
  for (const p of r.programs) {
    const want = expected[p.program];
    assert.equal(p.verdict, want === undefined ? 'accept' : 'reject', p.program);
    if (want === undefined) continue;
    const log = logOf(runKobj(['--prog', p.program, '--log', '1', object]).stdout);
    assert.ok(closingMessage(log).includes(want), `${p.program}: ${closingMessage(log).join(' | ')}`);
  }
});
