// XDP packet parser: Ethernet (with up to two VLAN tags) -> IPv4 / IPv6 ->
// TCP / UDP / ICMP, with the bounds check the verifier demands before every
// header read.  Counts packets per protocol in an array map and drops
// malformed packets (truncated headers, bad IPv4 IHL) and IPv4 fragments
// with a non-zero offset.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// Index into proto_count; the host reads these by number.
enum proto_slot {
  SLOT_OTHER_L2 = 0, // not IPv4/IPv6
  SLOT_IPV4 = 1,
  SLOT_IPV6 = 2,
  SLOT_TCP = 3,
  SLOT_UDP = 4,
  SLOT_ICMP = 5,
  SLOT_OTHER_L4 = 6,
  SLOT_MALFORMED = 7,
  SLOT_FRAGMENT = 8,
  SLOT_COUNT = 9,
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SLOT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} proto_count SEC(".maps");

struct vlan_hdr {
  __be16 tci;
  __be16 encap_proto;
};

static __always_inline void bump(__u32 slot) {
  __u64 *n = bpf_map_lookup_elem(&proto_count, &slot);
  if (n) __sync_fetch_and_add(n, 1);
}

// Returns the L4 protocol, or -1 when the header is cut short.
static __always_inline int parse_ipv4(void *data, void *end, void **l4) {
  struct iphdr *ip = data;
  if ((void *)(ip + 1) > end) return -1;
  __u32 hlen = ip->ihl * 4;
  if (hlen < sizeof(*ip)) return -1;
  if (data + hlen > end) return -1;
  // Only the first fragment carries the L4 header.
  if (ip->frag_off & bpf_htons(0x1fff)) return -2;
  *l4 = data + hlen;
  return ip->protocol;
}

static __always_inline int parse_ipv6(void *data, void *end, void **l4) {
  struct ipv6hdr *ip6 = data;
  if ((void *)(ip6 + 1) > end) return -1;
  *l4 = ip6 + 1;
  return ip6->nexthdr;
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) {
    bump(SLOT_MALFORMED);
    return XDP_DROP;
  }
  __u16 proto = eth->h_proto;
  void *cur = eth + 1;

#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_hdr *vh = cur;
    if ((void *)(vh + 1) > end) {
      bump(SLOT_MALFORMED);
      return XDP_DROP;
    }
    proto = vh->encap_proto;
    cur = vh + 1;
  }

  void *l4 = 0;
  int l4proto;
  if (proto == bpf_htons(ETH_P_IP)) {
    bump(SLOT_IPV4);
    l4proto = parse_ipv4(cur, end, &l4);
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    bump(SLOT_IPV6);
    l4proto = parse_ipv6(cur, end, &l4);
  } else {
    bump(SLOT_OTHER_L2);
    return XDP_PASS;
  }
  if (l4proto == -2) {
    bump(SLOT_FRAGMENT);
    return XDP_DROP;
  }
  if (l4proto < 0) {
    bump(SLOT_MALFORMED);
    return XDP_DROP;
  }

  switch (l4proto) {
  case IPPROTO_TCP: {
    struct tcphdr *th = l4;
    if ((void *)(th + 1) > end || th->doff < 5) {
      bump(SLOT_MALFORMED);
      return XDP_DROP;
    }
    bump(SLOT_TCP);
    return XDP_PASS;
  }
  case IPPROTO_UDP: {
    struct udphdr *uh = l4;
    if ((void *)(uh + 1) > end) {
      bump(SLOT_MALFORMED);
      return XDP_DROP;
    }
    bump(SLOT_UDP);
    return XDP_PASS;
  }
  case IPPROTO_ICMP:
  case IPPROTO_ICMPV6:
    bump(SLOT_ICMP);
    return XDP_PASS;
  default:
    bump(SLOT_OTHER_L4);
    return XDP_PASS;
  }
}

char LICENSE[] SEC("license") = "GPL";
