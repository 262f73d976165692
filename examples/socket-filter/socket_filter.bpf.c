// Socket filter: keeps only IPv4 UDP datagrams to one destination port
// (const volatile, patchable before load) and truncates everything else to
// 0 bytes (= drop).  Two programs reach the same decision in two ways:
//   udp_port_filter  bpf_skb_load_bytes() into the stack
//   udp_port_legacy  the classic-BPF-style packet loads (BPF_LD | BPF_ABS /
//                    BPF_IND), emitted by clang for __builtin_bpf_load_byte/
//                    half/word; the offsets count from the network header.
// skb->data of a socket filter starts at the network header for IP sockets,
// packet sockets of type SOCK_DGRAM and BPF_PROG_TEST_RUN (which strips the
// Ethernet header it is given), but at the MAC header for SOCK_RAW packet
// sockets: udp_port_filter takes the IPv4 header offset from l3_offset
// (set it to 14 there); udp_port_legacy needs no such setting.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/filter.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u16 udp_port = 53;   // destination port to keep, host order
const volatile __u32 l3_offset = 0;   // where the IPv4 header starts in skb->data
const volatile __u32 keep_bytes = 0xffff; // snap length for accepted packets

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int udp_port_filter(struct __sk_buff *skb) {
  if (skb->protocol != bpf_htons(ETH_P_IP)) return 0;
  struct iphdr ip;
  if (bpf_skb_load_bytes(skb, l3_offset, &ip, sizeof(ip)) < 0) return 0;
  if (ip.version != 4 || ip.protocol != IPPROTO_UDP) return 0;
  if (ip.frag_off & bpf_htons(0x1fff)) return 0;
  struct udphdr uh;
  if (bpf_skb_load_bytes(skb, l3_offset + ip.ihl * 4, &uh, sizeof(uh)) < 0) return 0;
  return uh.dest == bpf_htons(udp_port) ? keep_bytes : 0;
}

SEC("socket")
int udp_port_legacy(struct __sk_buff *skb) {
  // Legacy loads return host-order values and end the program (returning 0)
  // when the offset is outside the packet.  SKF_NET_OFF makes the offset
  // relative to the network header, wherever skb->data starts: constant
  // offsets become BPF_LD | BPF_ABS, computed ones BPF_LD | BPF_IND.
  if (skb->protocol != bpf_htons(ETH_P_IP)) return 0;
  __u32 vihl = load_byte(skb, SKF_NET_OFF);
  if ((vihl >> 4) != 4) return 0;
  if (load_byte(skb, SKF_NET_OFF + offsetof(struct iphdr, protocol)) != IPPROTO_UDP) return 0;
  if (load_half(skb, SKF_NET_OFF + offsetof(struct iphdr, frag_off)) & 0x1fff) return 0;
  __u32 l4 = (vihl & 0xf) * 4;
  if (load_half(skb, SKF_NET_OFF + l4 + offsetof(struct udphdr, dest)) != udp_port) return 0;
  // One 32-bit load of length and checksum: the UDP length must cover its header.
  if ((load_word(skb, SKF_NET_OFF + l4 + 4) >> 16) < sizeof(struct udphdr)) return 0;
  return keep_bytes;
}

char LICENSE[] SEC("license") = "GPL";
