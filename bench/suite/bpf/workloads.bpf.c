// The comparative suite's eBPF side: one XDP program per workload (bench/compare.ts).
// Rebuild (only when this file or ../algo.h changes; the .o is committed so the bench needs no
// clang): clang-19 -O2 -g -target bpf -Wall -I/usr/include/$(uname -m)-linux-gnu \
//   -fdebug-compilation-dir=. -c workloads.bpf.c -o workloads.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../algo.h"

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 1024);
} table SEC(".maps");

#define PKT(ctx) (const __u8 *)(long)(ctx)->data, (const __u8 *)(long)(ctx)->data_end

SEC("xdp") int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") int parse(struct xdp_md *ctx) { return algo_parse(PKT(ctx)); }
SEC("xdp") int csum(struct xdp_md *ctx) { return algo_csum(PKT(ctx)); }
SEC("xdp") int hash(struct xdp_md *ctx) { return algo_hash(PKT(ctx)); }
SEC("xdp") int life(struct xdp_md *ctx) { return algo_life(PKT(ctx)); }
SEC("xdp") int sort(struct xdp_md *ctx) { return algo_sort(PKT(ctx)); }

/* 64 lookups in a hash map (inserting a key on its first miss); returns the sum of the values,
 * which does not depend on how many runs came before. */
SEC("xdp") int hashmap(struct xdp_md *ctx) {
  __u64 sum = 0;
  for (__u32 i = 0; i < MAP_KEYS; i++) {
    __u32 key = i * 16 + 3;
    __u64 *v = bpf_map_lookup_elem(&table, &key);
    if (!v) {
      __u64 init = (__u64)i * i + 7;
      bpf_map_update_elem(&table, &key, &init, BPF_ANY);
      v = bpf_map_lookup_elem(&table, &key);
      if (!v) return 0;
    }
    sum += *v;
  }
  return (__u32)sum;
}

static long loop_cb(__u64 index, void *ctx) {
  __u64 *acc = ctx;
  *acc = algo_loop_step(index, *acc);
  return 0;
}

SEC("xdp") int loop(struct xdp_md *ctx) {
  __u64 acc = 0;
  bpf_loop(LOOP_ITERS, loop_cb, &acc, 0);
  return (__u32)(acc ^ (acc >> 32));
}
