// XDP firewall: drops IPv4 packets whose source address is in a blocklist
// (hash map, key = address in network byte order) and TCP/UDP packets whose
// destination port is marked in a 65536-entry array (index = port in host
// byte order, value != 0 = blocked).  Every verdict is counted in a per-CPU
// array indexed by the reason, so that user space sums the CPUs.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum verdict_slot {
  V_PASS = 0,          // allowed
  V_DROP_SRC = 1,      // source address in blocklist
  V_DROP_PORT = 2,     // destination port blocked
  V_DROP_MALFORMED = 3,
  V_PASS_NON_IPV4 = 4, // not inspected
  V_SLOTS = 5,
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __be32);  // source IPv4 address, network order
  __type(value, __u64); // packets dropped for this address
} blocked_src SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 65536);
  __type(key, __u32); // destination port, host order
  __type(value, __u8);
} blocked_port SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, V_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} verdicts SEC(".maps");

static __always_inline int count(__u32 slot, int action) {
  __u64 *n = bpf_map_lookup_elem(&verdicts, &slot);
  if (n) *n += 1; // per-CPU: no atomic needed
  return action;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return count(V_DROP_MALFORMED, XDP_DROP);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return count(V_PASS_NON_IPV4, XDP_PASS);

  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end || ip->ihl < 5) return count(V_DROP_MALFORMED, XDP_DROP);

  __be32 src = ip->saddr;
  __u64 *hits = bpf_map_lookup_elem(&blocked_src, &src);
  if (hits) {
    __sync_fetch_and_add(hits, 1);
    return count(V_DROP_SRC, XDP_DROP);
  }

  if (ip->frag_off & bpf_htons(0x1fff)) return count(V_PASS, XDP_PASS); // no L4 header
  void *l4 = (void *)ip + ip->ihl * 4;
  __u16 dport;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr *th = l4;
    if ((void *)(th + 1) > end) return count(V_DROP_MALFORMED, XDP_DROP);
    dport = th->dest;
  } else if (ip->protocol == IPPROTO_UDP) {
    struct udphdr *uh = l4;
    if ((void *)(uh + 1) > end) return count(V_DROP_MALFORMED, XDP_DROP);
    dport = uh->dest;
  } else {
    return count(V_PASS, XDP_PASS);
  }

  __u32 port = bpf_ntohs(dport);
  __u8 *blocked = bpf_map_lookup_elem(&blocked_port, &port);
  if (blocked && *blocked) return count(V_DROP_PORT, XDP_DROP);
  return count(V_PASS, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
