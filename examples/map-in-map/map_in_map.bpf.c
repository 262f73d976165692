// Maps of maps and spin locks, two more things a loader and verifier must get
// right:
//   outer_array  ARRAY_OF_MAPS whose slots libbpf fills at load time from the
//                .maps initialiser (inner maps declared in the same object);
//                the inner map type/sizes come from the __array(values, ...)
//                template
//   outer_hash   HASH_OF_MAPS, one inner map under key 7
//   locked       hash map whose value holds a struct bpf_spin_lock; updates
//                of its two fields happen under the lock
// mim_xdp counts each packet in the inner array chosen by the packet length
// (even -> inner_even, odd -> inner_odd) and in the inner map of outer_hash,
// and keeps a locked {packets, bytes} pair.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
};

struct inner inner_even SEC(".maps");
struct inner inner_odd SEC(".maps");
struct inner inner_h SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner);
} outer_array SEC(".maps") = {
    .values = {[0] = &inner_even, [1] = &inner_odd},
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 8);
  __type(key, __u32);
  __array(values, struct inner);
} outer_hash SEC(".maps") = {
    .values = {[7] = &inner_h},
};

struct locked_pair {
  struct bpf_spin_lock lock;
  __u32 pad;
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, struct locked_pair);
} locked SEC(".maps");

static __always_inline void bump(void *inner, __u32 slot, __u64 by) {
  __u64 *v = bpf_map_lookup_elem(inner, &slot);
  if (v) __sync_fetch_and_add(v, by);
}

SEC("xdp")
int mim_xdp(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  __u32 parity = len & 1;
  void *inner = bpf_map_lookup_elem(&outer_array, &parity);
  if (!inner) return XDP_ABORTED;
  bump(inner, 0, 1);   // packets
  bump(inner, 1, len); // bytes

  __u32 seven = 7;
  void *ih = bpf_map_lookup_elem(&outer_hash, &seven);
  if (ih) bump(ih, len & 3, 1);

  __u32 key = 1;
  struct locked_pair *lp = bpf_map_lookup_elem(&locked, &key);
  if (!lp) {
    struct locked_pair fresh = {};
    bpf_map_update_elem(&locked, &key, &fresh, BPF_NOEXIST);
    lp = bpf_map_lookup_elem(&locked, &key);
    if (!lp) return XDP_ABORTED;
  }
  bpf_spin_lock(&lp->lock);
  lp->packets++;
  lp->bytes += len;
  bpf_spin_unlock(&lp->lock);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
