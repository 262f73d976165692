// bpf_dynptr_clone, bpf_dynptr_copy and bpf_dynptr_memset, and skb dynptr writes, against Linux
// 6.18: test/verifier/objects/dynptr_kfuncs.bpf.o. The messages below were read from the
// kernel's log (kobj --log 1); tsbpf's verifier must give the same, and the kernel test
// re-checks the table (verdicts, messages, processed counts) where bpf() is there.
import { objectTableTests } from './object-table.ts';

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

objectTableTests(object, expected);
