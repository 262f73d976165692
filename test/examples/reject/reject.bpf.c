// Programs with one mistake each, for testing that tsbpf's verifier judges them
// as Linux does (and says why in the kernel's words).  Not an example: kept out
// of examples/ because every example must load.  Load each program on its own
// (kobj without --all); expected.json records what Linux 6.18 said to root.
// Most are refused; stack_uninit and ptr_leak are accepted for a privileged
// loader (CAP_PERFMON allows uninitialised stack reads and pointer leaks) and
// refused for an unprivileged one.  Each body is written so that clang keeps
// the mistake.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} arr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} rb SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
  __uint(max_entries, 4);
  __type(value, __u32);
} bloom SEC(".maps");

struct locked {
  struct bpf_spin_lock lock;
  __u32 n;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct locked);
} locks SEC(".maps");

struct ptr_slot {
  __u64 p;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ptr_slot);
} ptrs SEC(".maps");

const volatile __u32 frozen = 1;

// Reads a packet byte with no check against data_end.
SEC("xdp")
int pkt_no_bounds(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  return data[12];
}

// Checks 14 bytes, reads the 15th.
SEC("xdp")
int pkt_off_by_one(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *end = (void *)(long)ctx->data_end;
  if (data + 14 > end) return XDP_DROP;
  return data[14];
}

// Uses a lookup result without testing it for NULL.
SEC("xdp")
int map_null_deref(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&hash, &k);
  return *v;
}

// Indexes past the value with an offset taken from the packet.
SEC("xdp")
int map_value_oob(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *end = (void *)(long)ctx->data_end;
  if (data + 1 > end) return XDP_DROP;
  __u32 k = 0;
  __u8 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_DROP;
  return v[data[0]]; // up to 255 bytes into an 8-byte value
}

// Passes an uninitialised stack buffer to a helper.
SEC("xdp")
int stack_uninit(struct xdp_md *ctx) {
  __u32 k = 1;
  __u64 value;
  asm volatile("" : "=m"(value)); // clang may not initialise or drop it
  return bpf_map_update_elem(&arr, &k, &value, BPF_ANY);
}

// A loop bounded only by a 32-bit number from the packet (xorshift, so that
// clang cannot replace the loop by a closed form).
SEC("xdp")
int unbounded_loop(struct xdp_md *ctx) {
  __u32 *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(data + 1) > end) return XDP_DROP;
  __u32 n = *data, x = 1;
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  return x;
}

// Reserves ring buffer space and never submits or discards it.
SEC("xdp")
int ringbuf_leak(struct xdp_md *ctx) {
  __u64 *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  *e = 1;
  return XDP_PASS;
}

// Writes to a frozen .rodata variable.
SEC("xdp")
int write_rodata(struct xdp_md *ctx) {
  *(volatile __u32 *)&frozen = 2;
  return XDP_PASS;
}

// Writes to a read-only context field.
SEC("xdp")
int ctx_write(struct xdp_md *ctx) {
  ctx->data = ctx->data_end;
  return XDP_PASS;
}

// Calls a helper that XDP programs may not use.
SEC("xdp")
int wrong_helper(struct xdp_md *ctx) {
  __u64 buf = 0;
  return bpf_skb_load_bytes(ctx, 0, &buf, sizeof(buf));
}

// Leaves the program with a spin lock held.
SEC("tc")
int spin_lock_held(struct __sk_buff *skb) {
  __u32 k = 0;
  struct locked *l = bpf_map_lookup_elem(&locks, &k);
  if (!l) return 0;
  bpf_spin_lock(&l->lock);
  l->n++;
  return 0;
}

// Stores a packet pointer in a map value (leaking a kernel address).
SEC("xdp")
int ptr_leak(struct xdp_md *ctx) {
  __u32 k = 0;
  struct ptr_slot *s = bpf_map_lookup_elem(&ptrs, &k);
  if (!s) return XDP_PASS;
  s->p = ctx->data; // the loaded value is a packet pointer
  __u64 p = (long)(void *)(long)ctx->data;
  s->p = p;
  return XDP_PASS;
}

// Returns 2 where only 0 and 1 are allowed.
SEC("cgroup_skb/ingress")
int bad_return(struct __sk_buff *skb) {
  return skb->len > 100 ? 2 : 1;
}

// A sleepable program may not use a bloom filter map.
SEC("syscall")
int sleepable_bloom(void *ctx) {
  __u32 v = 1;
  return bpf_map_push_elem(&bloom, &v, BPF_ANY);
}

static int loop_cb(__u32 i, void *ctx) { return 0; }

// bpf_loop's context must be a stack pointer, not a map value.
SEC("xdp")
int loop_ctx_not_stack(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_PASS;
  bpf_loop(4, loop_cb, v, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
