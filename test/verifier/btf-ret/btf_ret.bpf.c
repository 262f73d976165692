// What BTF-attached programs may return and where lsm programs may write their ctx
// (kernel: check_return_code() and bpf_lsm_get_retval_range() in 6.18; btf_ctx_access(), which
// lsm uses alone as is_valid_access and which ignores the access type). fentry/fexit return 0,
// iterators 0 or 1, lsm programs what their hook may (int hooks 0 or a negative errno, bool hooks
// 0 or 1, compared in 32 bits; void hooks anything), fmod_ret and tp_btf anything.
// btf-ret.test.ts checks tsbpf against these expectations and, where this kernel loads the
// program type (tp_btf, iter), against Linux. Rebuild: test/verifier/btf-ret/build.sh
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/security_file_open")
int fentry_ret0(__u64 *ctx) {
  return 0;
}

SEC("fentry/security_file_open")
int fentry_ret1(__u64 *ctx) {
  return 1;
}

// vfs_read(file, buf, count, pos) returns ssize_t, seen by fexit in slot 4
SEC("fexit/vfs_read")
int fexit_ret_bit(__u64 *ctx) {
  return ctx[4] & 1;
}

SEC("fmod_ret/security_file_open")
int fmod_ret_errno(__u64 *ctx) {
  return -22;
}

SEC("tp_btf/sched_switch")
int tp_btf_ret7(__u64 *ctx) {
  return 7;
}

SEC("iter/task")
int iter_ret1(void *ctx) {
  return 1;
}

SEC("iter/task")
int iter_ret2(void *ctx) {
  return 2;
}

// int file_open(struct file *file): 0 or a negative errno
SEC("lsm/file_open")
int lsm_eperm(__u64 *ctx) {
  return -1;
}

SEC("lsm/file_open")
int lsm_max_errno(__u64 *ctx) {
  return -4095;
}

// clang returns the int as `r0 = 0xfffff000 ll`: its lower 32 bits are -4096, out of range,
// and the message shows the 64-bit bounds
SEC("lsm/file_open")
int lsm_below_errno(__u64 *ctx) {
  return -4096;
}

// the same in a 64-bit register, as the kernel's selftest verifier_lsm.c has it
SEC("lsm/file_open")
__attribute__((naked)) int lsm_below_errno64(void) {
  asm volatile("r0 = -4096; exit;" ::: "memory");
}

SEC("lsm/file_open")
int lsm_positive(__u64 *ctx) {
  return 1;
}

// only the lower 32 bits are the hook's int: 1 << 32 returns 0
SEC("lsm/file_open")
__attribute__((naked)) int lsm_upper_bits(void) {
  asm volatile("r0 = 0x100000000 ll; exit;" ::: "memory");
}

// the previous program's return value, read from the slot after the arguments, is in range
SEC("lsm/file_open")
int lsm_prev_ret(__u64 *ctx) {
  return (int)ctx[1];
}

// int inode_xattr_skipcap(const char *name) is a boolean hook: 0 or 1
SEC("lsm/inode_xattr_skipcap")
int lsm_bool_1(__u64 *ctx) {
  return 1;
}

SEC("lsm/inode_xattr_skipcap")
int lsm_bool_2(__u64 *ctx) {
  return 2;
}

// void file_free_security(struct file *file): the return value is ignored
SEC("lsm/file_free_security")
int lsm_void_any(__u64 *ctx) {
  return 5;
}

// ctx writes: lsm may overwrite any slot it may read (the trampoline's copy of the arguments)
// int file_mprotect(struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot)
SEC("lsm/file_mprotect")
int lsm_write_scalar(__u64 *ctx) {
  ctx[2] = 0;
  return 0;
}

SEC("lsm/file_mprotect")
int lsm_write_scalar4(__u64 *ctx) {
  *(volatile __u32 *)&ctx[1] = 0; // a scalar slot may be written in any size
  return 0;
}

SEC("lsm/file_open")
int lsm_write_ptr(__u64 *ctx) {
  ctx[0] = 0;
  return 0;
}

SEC("lsm/file_open")
int lsm_write_ret(__u64 *ctx) {
  ctx[1] = 0;
  return 0;
}

SEC("lsm/file_open")
int lsm_write_off4(__u64 *ctx) {
  *(volatile __u32 *)((char *)ctx + 4) = 0;
  return 0;
}

SEC("lsm/file_open")
int lsm_write_ptr_size4(__u64 *ctx) {
  *(volatile __u32 *)ctx = 0;
  return 0;
}

SEC("lsm/file_open")
int lsm_write_past(__u64 *ctx) {
  ctx[2] = 0;
  return 0;
}

SEC("tp_btf/sched_switch")
int tp_btf_write(__u64 *ctx) {
  ctx[3] = 0;
  return 0;
}
