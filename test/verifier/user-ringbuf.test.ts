// bpf_user_ringbuf_drain() and its callback's `struct bpf_dynptr *` (CONST_PTR_TO_DYNPTR), against Linux
// 6.18: test/verifier/objects/user_ringbuf.bpf.o. The messages below were read from the
// kernel's log (kobj --log 1); tsbpf's verifier must give the same, and the kernel test
// re-checks the table (verdicts, messages, processed counts) where bpf() is there.
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

const object = 'test/verifier/objects/user_ringbuf.bpf.o';

/** Program → undefined (accepted) or the kernel's message. */
const expected: Record<string, string | undefined> = {
  accept_drain_sum: undefined,
  // kfuncs take the const dynptr as read-only, whatever their prototype: memset passes
  accept_probe_sample: undefined,
  accept_drain_bad_flags: undefined,
  // only a dynptr on the program's stack can be released
  reject_release_const_dynptr: 'cannot release unowned const bpf_dynptr',
  reject_read_dynptr_ptr: "R1 invalid mem access 'dynptr_ptr'",
  reject_reinit_const_dynptr: 'Dynptr has to be an uninitialized dynptr',
  reject_callback_returns_2:
    'At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]',
  // check_map_func_compatibility(): the helper wants a BPF_MAP_TYPE_USER_RINGBUF
  reject_drain_kernel_ringbuf: 'cannot pass map_type 27 into func bpf_user_ringbuf_drain#209',
};

/**
 * Programs whose callback is explored a little differently: tsbpf prunes the repeated callback
 * iterations at other points than the kernel (141 / 166, 209 / 197, 78 / 81 insns), a gap of
 * sync callbacks in general (a bpf_for_each_map_elem callback of the same shape: 133 / 142).
 */
const COUNT_GAP = new Set(['accept_drain_sum', 'accept_probe_sample', 'accept_drain_bad_flags']);

function tsbpfVerify(name: string) {
  const spec = resolveKfuncCalls(
    loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object }),
  );
  const linked = linkProgram(spec, name, { mapIndex: 'used' });
  return verify(linkedVerifyProgram(spec, linked));
}

for (const [name, message] of Object.entries(expected)) {
  test(`tsbpf: ${name} ${message === undefined ? 'is accepted' : `is refused: ${message}`}`, () => {
    const r = tsbpfVerify(name);
    assert.equal(r.verdict === 'accept' ? undefined : r.error?.message, message);
  });
}

test('the table names every program of the object', () => {
  const spec = loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object });
  assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(expected).sort());
});

const skip = prepareKobj();
test('kernel: the same verdicts, messages and processed-instruction counts', { skip }, () => {
  const r = runKobj([object]);
  assert.equal(r.programs.length, Object.keys(expected).length);
  for (const p of r.programs) {
    const want = expected[p.program];
    const ours = tsbpfVerify(p.program).insnsProcessed;
    if (COUNT_GAP.has(p.program)) {
      assert.ok(Math.abs(ours - p.insnsProcessed!) <= p.insnsProcessed! * 0.2, `${p.program}: ${ours}`);
    } else assert.equal(ours, p.insnsProcessed, p.program);
    assert.equal(p.verdict, want === undefined ? 'accept' : 'reject', p.program);
    if (want === undefined) continue;
    const log = logOf(runKobj(['--prog', p.program, '--log', '1', object]).stdout);
    assert.ok(closingMessage(log).includes(want), `${p.program}: ${closingMessage(log).join(' | ')}`);
  }
});
