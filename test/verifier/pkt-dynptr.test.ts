// skb and xdp dynptrs against Linux 6.18: test/verifier/objects/pkt_dynptr.bpf.o parses
// Ethernet/IPv4 through bpf_dynptr_slice(_rdwr) in XDP, TC and socket filter programs, plus
// near-misses. The messages below were read from the kernel's log (kobj --log 1); tsbpf's
// verifier must give the same, and the kernel test re-checks the table where bpf() is there.
import { objectTableTests } from './object-table.ts';

export const object = 'test/verifier/objects/pkt_dynptr.bpf.o';

/** Program → undefined (accepted) or the kernel's message. */
const expected: Record<string, string | undefined> = {
  accept_xdp_parse: undefined,
  accept_tc_parse: undefined,
  accept_xdp_adjust: undefined,
  accept_socket_filter_slice: undefined,
  accept_xdp_dynptr_read: undefined,
  // bpf_dynptr_slice() returns PTR_TO_MEM | MEM_RDONLY | PTR_MAYBE_NULL
  reject_slice_without_null_check: "R0 invalid mem access 'rdonly_mem_or_null'",
  reject_write_rdonly_slice: 'R0 cannot write into rdonly_mem',
  // may_access_direct_pkt_data(env, NULL, BPF_WRITE) is false for socket filters
  reject_rdwr_slice_in_socket_filter: 'the prog does not allow writes to packet data',
  // bpf_kfunc_set_xdp is registered for XDP programs only
  reject_xdp_dynptr_in_tc: 'calling kernel function bpf_dynptr_from_xdp is not allowed',
  // clear_all_pkt_pointers() also invalidates skb/xdp slices
  reject_slice_after_adjust_head: "R7 invalid mem access 'scalar'",
};

objectTableTests(object, expected);
