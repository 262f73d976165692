// bpf_user_ringbuf_drain() and its callback's `struct bpf_dynptr *` (CONST_PTR_TO_DYNPTR), against Linux
// 6.18: test/verifier/objects/user_ringbuf.bpf.o. The messages below were read from the
// kernel's log (kobj --log 1); tsbpf's verifier must give the same, and the kernel test
// re-checks the table (verdicts, messages, processed counts) where bpf() is there.
import { objectTableTests } from './object-table.ts';

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

objectTableTests(object, expected, { countGap: COUNT_GAP });
