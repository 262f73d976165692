// tc classifier (cls_bpf, direct-action): reads __sk_buff metadata, tags
// flows with skb->mark by DSCP class, reads headers through direct packet
// access, and rewrites the IPv4 TTL / DSCP byte of selected packets with
// bpf_skb_store_bytes() + bpf_l3_csum_replace() to keep the header checksum
// right.  Statistics go to an array indexed by traffic class.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define MARK_BASE 0x100     // skb->mark = MARK_BASE | class
#define TTL_FLOOR 8         // TTLs below this are raised to it
#define DSCP_EF 46          // expedited forwarding
#define CLASSES 4

struct class_stats {
  __u64 packets;
  __u64 bytes;
  __u64 rewritten;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, CLASSES);
  __type(key, __u32);
  __type(value, struct class_stats);
} tc_stats SEC(".maps");

const volatile __u32 ef_ifindex = 0; // 0 = every interface

static __always_inline __u32 classify(__u8 tos) {
  __u8 dscp = tos >> 2;
  if (dscp == DSCP_EF) return 3;
  if (dscp >= 32) return 2;
  if (dscp > 0) return 1;
  return 0;
}

SEC("tc")
int tc_classify(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return TC_ACT_OK;
  if (skb->protocol != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return TC_ACT_OK;

  __u32 cls = classify(ip->tos);
  __u8 old_ttl = ip->ttl;
  __u8 old_tos = ip->tos;
  skb->mark = MARK_BASE | cls;
  if (cls == 3 && skb->priority == 0) skb->priority = 6; // TC_PRIO_INTERACTIVE

  struct class_stats *st = bpf_map_lookup_elem(&tc_stats, &cls);
  if (st) {
    __sync_fetch_and_add(&st->packets, 1);
    __sync_fetch_and_add(&st->bytes, skb->len);
  }

  // TTL and protocol share a 16-bit checksum word: rewrite it as a whole.
  const __u32 ttl_off = ETH_HLEN + offsetof(struct iphdr, ttl);
  const __u32 csum_off = ETH_HLEN + offsetof(struct iphdr, check);
  const __u32 tos_off = ETH_HLEN + offsetof(struct iphdr, tos);
  int changed = 0;
  if (old_ttl < TTL_FLOOR) {
    __u16 old_word = bpf_htons((__u16)old_ttl << 8 | ip->protocol);
    __u8 new_ttl = TTL_FLOOR;
    __u16 new_word = bpf_htons((__u16)new_ttl << 8 | ip->protocol);
    if (bpf_skb_store_bytes(skb, ttl_off, &new_ttl, 1, 0) < 0) return TC_ACT_SHOT;
    if (bpf_l3_csum_replace(skb, csum_off, old_word, new_word, 2) < 0) return TC_ACT_SHOT;
    changed = 1;
  }
  // Packets arriving on ef_ifindex lose their EF marking (clear DSCP, keep ECN).
  if (cls == 3 && ef_ifindex != 0 && skb->ingress_ifindex == ef_ifindex) {
    __u8 new_tos = old_tos & 0x3;
    // The checksum word holding tos is (version/ihl << 8 | tos).
    data = (void *)(long)skb->data; // helpers above invalidated packet pointers
    end = (void *)(long)skb->data_end;
    ip = data + ETH_HLEN;
    if ((void *)(ip + 1) > end) return TC_ACT_SHOT;
    __u8 vihl = *(__u8 *)ip;
    __u16 old_word = bpf_htons((__u16)vihl << 8 | old_tos);
    __u16 new_word = bpf_htons((__u16)vihl << 8 | new_tos);
    if (bpf_skb_store_bytes(skb, tos_off, &new_tos, 1, 0) < 0) return TC_ACT_SHOT;
    if (bpf_l3_csum_replace(skb, csum_off, old_word, new_word, 2) < 0) return TC_ACT_SHOT;
    changed = 1;
  }
  if (changed && st) __sync_fetch_and_add(&st->rewritten, 1);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
