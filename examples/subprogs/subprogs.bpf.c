// BPF-to-BPF calls.  clang keeps __noinline functions as separate
// subprograms in .text; libbpf appends each one a program calls to that
// program and fixes the call offsets.
//   static __noinline  checked by the verifier in its caller's context
//   global (non-static) __noinline  verified once on its own, against its
//                       BTF signature (arguments are unknown scalars or
//                       pointers it must check itself)
// Two programs share the subprograms, so .text is linked into both.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

// Integer square root by Newton's method, bounded iterations.
static __noinline __u64 isqrt(__u64 x) {
  if (x < 2) return x;
  __u64 r = x / 2;
  for (int i = 0; i < 40; i++) {
    __u64 next = (r + x / r) / 2;
    if (next >= r) break;
    r = next;
  }
  return r;
}

static __noinline __u32 fold(__u64 v) { return (__u32)(v ^ (v >> 32)); }

// Global function: the verifier does not know its callers, so it checks the
// pointer and the index on its own.
__noinline int store_result(__u32 slot, __u64 value) {
  __u64 *p = bpf_map_lookup_elem(&results, &slot);
  if (!p) return -1;
  *p = value;
  return 0;
}

// A global function that itself calls a static one and a global one.
__noinline __u64 mix(__u64 a, __u64 b) {
  __u64 s = isqrt(a * a + b * b); // hypotenuse
  store_result(3, fold(s));
  return s;
}

SEC("xdp")
int subprogs_xdp(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  store_result(0, isqrt(len));  // 64 bytes -> 8
  store_result(1, mix(3, 4));   // 5
  return XDP_PASS;
}

SEC("syscall")
int subprogs_syscall(void *ctx) {
  store_result(2, isqrt(1000000)); // 1000
  return (int)mix(5, 12);          // 13
}

char LICENSE[] SEC("license") = "GPL";
