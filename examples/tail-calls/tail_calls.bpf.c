// Tail calls: bpf_tail_call(ctx, &prog_array, index) replaces the running
// program with the one in the slot (same stack depth budget, no return);
// if the slot is empty the call falls through.  The PROG_ARRAY is filled
// by libbpf from the .maps initialiser below (relocations in .rel.maps),
// so no user-space code is needed to wire the stages:
//   tail_entry -> [0] stage_eth -> [1] stage_ipv4 | [2] stage_ipv6 -> [3] stage_count
// Slot 4 stays empty to show the fall-through.
// Because the initialiser names the stage programs, libbpf can only load the
// object as a whole (kobj --all): loading one program alone fails while
// filling the slots of the programs it left out.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum { ST_ETH = 0, ST_IPV4 = 1, ST_IPV6 = 2, ST_COUNT = 3, ST_EMPTY = 4, ST_SLOTS = 5 };

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} hops SEC(".maps"); // how many times each stage ran, [7] = fall-throughs

static __always_inline void hop(__u32 slot) {
  __u64 *n = bpf_map_lookup_elem(&hops, &slot);
  if (n) __sync_fetch_and_add(n, 1);
}

int stage_eth(struct xdp_md *ctx);
int stage_ipv4(struct xdp_md *ctx);
int stage_ipv6(struct xdp_md *ctx);
int stage_count(struct xdp_md *ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, ST_SLOTS);
  __uint(key_size, sizeof(__u32)); // not __type(key, ...): prog arrays take no BTF
  __array(values, int(struct xdp_md *));
} stages SEC(".maps") = {
    .values =
        {
            [ST_ETH] = (void *)&stage_eth,
            [ST_IPV4] = (void *)&stage_ipv4,
            [ST_IPV6] = (void *)&stage_ipv6,
            [ST_COUNT] = (void *)&stage_count,
        },
};

SEC("xdp")
int tail_entry(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &stages, ST_ETH);
  hop(7); // only reached if the slot is empty
  return XDP_PASS;
}

SEC("xdp")
int stage_eth(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  hop(ST_ETH);
  if ((void *)(eth + 1) > end) return XDP_DROP;
  if (eth->h_proto == bpf_htons(ETH_P_IP))
    bpf_tail_call(ctx, &stages, ST_IPV4);
  else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
    bpf_tail_call(ctx, &stages, ST_IPV6);
  else
    bpf_tail_call(ctx, &stages, ST_EMPTY);
  hop(7);
  return XDP_PASS;
}

SEC("xdp")
int stage_ipv4(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct iphdr *ip = data + sizeof(struct ethhdr);
  hop(ST_IPV4);
  if ((void *)(ip + 1) > end) return XDP_DROP;
  if (ip->ttl <= 1) return XDP_DROP;
  bpf_tail_call(ctx, &stages, ST_COUNT);
  return XDP_PASS;
}

SEC("xdp")
int stage_ipv6(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
  hop(ST_IPV6);
  if ((void *)(ip6 + 1) > end) return XDP_DROP;
  if (ip6->hop_limit <= 1) return XDP_DROP;
  bpf_tail_call(ctx, &stages, ST_COUNT);
  return XDP_PASS;
}

SEC("xdp")
int stage_count(struct xdp_md *ctx) {
  hop(ST_COUNT);
  return XDP_TX; // distinguishes "went all the way" from a fall-through
}

char LICENSE[] SEC("license") = "GPL";
