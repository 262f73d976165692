// bpf_dynptr_clone, bpf_dynptr_copy and bpf_dynptr_memset, and skb dynptr writes, against Linux
// 6.18: test/verifier/objects/dynptr_kfuncs.bpf.o. The messages below were read from the
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

const object = 'test/verifier/objects/dynptr_kfuncs.bpf.o';

/** Program → undefined (accepted) or the kernel's message. */
const expected: Record<string, string | undefined> = {
  accept_error_returns: undefined,
  accept_clone_local: undefined,
  accept_copy_pkt_to_local: undefined,
  accept_memset_copy_tc: undefined,
  accept_dynptr_write_tc: undefined,
  accept_socket_rdonly: undefined,
  // a clone shares the reservation's reference; one of its own would be left unreleased
  accept_clone_ringbuf_submit: undefined,
  // only bpf_dynptr_write counts as changing packet data, not the kfuncs
  accept_slice_after_skb_memset: undefined,
  // the clone shares the reservation: submitting it destroys the original too
  reject_clone_ringbuf_use_original_after_submit: 'Expected an initialized dynptr as arg #0',
  reject_clone_over_referenced: 'cannot overwrite referenced dynptr',
  reject_memset_uninit: 'Expected an initialized dynptr as arg #0',
  reject_copy_src_uninit: 'Expected an initialized dynptr as arg #2',
  // the clone keeps the xdp type, so clear_all_pkt_pointers() reaches its slices
  reject_clone_xdp_slice_after_adjust_head: "R7 invalid mem access 'scalar'",
  reject_slice_after_skb_dynptr_write: "R6 invalid mem access 'scalar'",
  reject_clone_slice_after_overwrite: "R0 invalid mem access 'scalar'",
};

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
    assert.equal(tsbpfVerify(p.program).insnsProcessed, p.insnsProcessed, p.program);
    assert.equal(p.verdict, want === undefined ? 'accept' : 'reject', p.program);
    if (want === undefined) continue;
    const log = logOf(runKobj(['--prog', p.program, '--log', '1', object]).stdout);
    assert.ok(closingMessage(log).includes(want), `${p.program}: ${closingMessage(log).join(' | ')}`);
  }
});
