// A small XDP layer-4 load balancer, as a larger realistic program (well
// over 1,000 instructions once everything is inlined):
//   - parses Ethernet / IPv4 (with options) / TCP, UDP, ICMP
//   - looks the destination up in a table of virtual services (VIP, port,
//     protocol) -> a set of backends
//   - connection tracking in an LRU hash: the first packet of a flow picks a
//     backend through a 64-slot lookup ring (hash of the 5-tuple), later
//     packets stick to it; TCP FIN/RST mark the entry as closing
//   - rewrites destination address (DNAT) and MACs, patches the IPv4 header
//     checksum and the TCP/UDP checksum incrementally (RFC 1624), sends the
//     packet back out (XDP_TX)
//   - answers ICMP echo requests addressed to a VIP itself
//   - decrements TTL, drops TTL-expired and malformed packets
//   - per-service and global per-CPU counters
// Map layout (filled by the host):
//   services   hash   struct vip_key -> struct service
//   rings      array  service id * RING_SIZE + slot -> backend index
//   backends   array  backend index -> struct backend
//   conntrack  lru    struct flow_key -> struct conn
//   counters   percpu array, enum counter -> packets
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// <linux/icmp.h> drags in libc headers: declare the little we need.
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
struct icmphdr {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 id;
  __be16 sequence;
};

#define RING_SIZE 64
#define MAX_SERVICES 64
#define MAX_BACKENDS 256

enum counter {
  C_RX = 0,
  C_NOT_IPV4,
  C_MALFORMED,
  C_NO_SERVICE,
  C_TTL_EXPIRED,
  C_NEW_FLOW,
  C_EXISTING_FLOW,
  C_NO_BACKEND,
  C_TX,
  C_ICMP_ECHO,
  C_FIN_RST,
  C_MSS_CLAMPED,
  C_DNS_QUERY,
  C_COUNTERS,
};

struct vip_key {
  __be32 addr;
  __be16 port; // 0 for ICMP
  __u8 proto;
  __u8 pad;
};

struct service {
  __u32 id;       // index of its ring in "rings"
  __u32 flags;    // SVC_F_*
  __u64 packets;
  __u64 bytes;
};
#define SVC_F_NO_CONNTRACK 1 // pick per packet (stateless), e.g. for DNS
#define SVC_F_DNS_AFFINITY 2 // UDP DNS: same query name -> same backend

struct backend {
  __be32 addr;
  __u8 mac[ETH_ALEN];
  __u8 healthy;
  __u8 pad;
};

struct flow_key {
  __be32 saddr;
  __be32 daddr;
  __be16 sport;
  __be16 dport;
  __u8 proto;
  __u8 pad[3];
};

struct conn {
  __u32 backend;
  __u32 state; // CONN_*
  __u64 packets;
  __u64 last_seen_ns;
};
#define CONN_OPEN 1
#define CONN_CLOSING 2

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MAX_SERVICES);
  __type(key, struct vip_key);
  __type(value, struct service);
} services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_SERVICES * RING_SIZE);
  __type(key, __u32);
  __type(value, __u32);
} rings SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_BACKENDS);
  __type(key, __u32);
  __type(value, struct backend);
} backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct flow_key);
  __type(value, struct conn);
} conntrack SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, C_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

const volatile __u8 lb_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01}; // our source MAC
const volatile __u32 hash_seed = 0x9e3779b9;
const volatile __u16 mss_max = 1400; // TCP MSS clamp on SYNs towards backends (0 = off)

static __always_inline int count(enum counter c, int action) {
  __u32 k = c;
  __u64 *n = bpf_map_lookup_elem(&counters, &k);
  if (n) *n += 1;
  return action;
}

// --- checksums -------------------------------------------------------------

static __always_inline __u16 csum_fold(__u32 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 32-bit field.
static __always_inline __u16 csum_replace4(__u16 check, __be32 from, __be32 to) {
  __u32 sum = (__u16)~check;
  sum += (__u16)~(from & 0xffff) + (__u16)~(from >> 16);
  sum += (to & 0xffff) + (to >> 16);
  return ~csum_fold(sum);
}

static __always_inline __u16 csum_replace2(__u16 check, __be16 from, __be16 to) {
  __u32 sum = (__u16)~check;
  sum += (__u16)~from;
  sum += to;
  return ~csum_fold(sum);
}

// Full checksum of an IPv4 header of 20..60 bytes (ICMP replies rebuild it).
static __always_inline __u16 ipv4_csum(struct iphdr *ip, void *end) {
  __u32 sum = 0;
  __u16 *p = (__u16 *)ip;
#pragma unroll
  for (int i = 0; i < 30; i++) {
    if (i >= ip->ihl * 2) break;
    if ((void *)(p + i + 1) > end) break;
    sum += p[i];
  }
  return ~csum_fold(sum);
}

// --- flow hashing ----------------------------------------------------------

static __always_inline __u32 rol32(__u32 x, int k) { return (x << k) | (x >> (32 - k)); }

// A small avalanche mix (not jhash; any good 32-bit mixer will do).
static __always_inline __u32 mix3(__u32 a, __u32 b, __u32 c) {
  a -= c; a ^= rol32(c, 4);  c += b;
  b -= a; b ^= rol32(a, 6);  a += c;
  c -= b; c ^= rol32(b, 8);  b += a;
  a -= c; a ^= rol32(c, 16); c += b;
  b -= a; b ^= rol32(a, 19); a += c;
  c -= b; c ^= rol32(b, 4);  b += a;
  return c;
}

static __always_inline __u32 flow_hash(const struct flow_key *k) {
  return mix3(k->saddr ^ hash_seed, k->daddr, ((__u32)k->sport << 16 | k->dport) ^ k->proto);
}

// --- TCP MSS clamping -----------------------------------------------------

// Walks the options of a SYN (at most 40 bytes) and lowers an MSS above
// mss_max, patching the TCP checksum.  Returns 1 if it changed the packet.
static __always_inline int clamp_mss(struct tcphdr *th, void *end) {
  if (!mss_max || !th->syn) return 0;
  // The option area's length as a number, not as an end pointer: with two
  // end pointers clang drops the checks against data_end that it can infer,
  // and the verifier cannot infer them.
  __u32 optlen = th->doff * 4 - sizeof(*th);
  __u32 o = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < 20; i++) { // each option is >= 2 bytes, except NOP
    if (o >= optlen || o >= 40) return 0;
    __u8 *opt = (__u8 *)(th + 1) + o;
    if ((void *)(opt + 1) > end) return 0;
    __u8 kind = opt[0];
    if (kind == 0) return 0; // end of options
    if (kind == 1) {         // NOP
      o++;
      continue;
    }
    if ((void *)(opt + 2) > end) return 0;
    __u8 len = opt[1];
    if (len < 2) return 0;
    if (kind == 2 && len == 4) {
      if (o + 4 > optlen || (void *)(opt + 4) > end) return 0;
      __u16 mss = (__u16)opt[2] << 8 | opt[3];
      if (mss <= mss_max) return 0;
      // The raw (memory-order) 16-bit values, as the checksum sums them.
      __be16 old = opt[2] | (__u16)opt[3] << 8;
      __be16 neu = bpf_htons(mss_max);
      opt[2] = mss_max >> 8;
      opt[3] = mss_max & 0xff;
      // At an odd offset from the TCP header the field straddles two
      // checksum words; its bytes then count swapped (RFC 1071 sec. 2(B)).
      if ((o + sizeof(*th) + 2) & 1) {
        old = (old >> 8) | (old << 8);
        neu = (neu >> 8) | (neu << 8);
      }
      th->check = csum_replace2(th->check, old, neu);
      return 1;
    }
    o += len;
  }
  return 0;
}

// --- DNS query names -------------------------------------------------------

struct dnshdr {
  __be16 id;
  __be16 flags;
  __be16 qdcount;
  __be16 ancount;
  __be16 nscount;
  __be16 arcount;
};

#define DNS_MAX_NAME 128

// Hash of the first question's name, case-folded (DNS names are case
// insensitive), or 0 if the packet is not a well-formed single query.
static __always_inline __u32 dns_name_hash(struct udphdr *uh, void *end) {
  struct dnshdr *dh = (void *)(uh + 1);
  if ((void *)(dh + 1) > end) return 0;
  if (dh->flags & bpf_htons(0x8000)) return 0; // a response
  if (dh->qdcount != bpf_htons(1)) return 0;
  __u8 *p = (__u8 *)(dh + 1);
  __u32 h = 2166136261u;
  __u32 label_left = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < DNS_MAX_NAME; i++) {
    if ((void *)(p + i + 1) > end) return 0;
    __u8 c = p[i];
    if (label_left == 0) {
      if (c == 0) return h ? h : 1;  // root label: done
      if (c & 0xc0) return 0;        // compression pointer in a query: odd
      label_left = c;
      h = (h ^ '.') * 16777619u;
      continue;
    }
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    h = (h ^ c) * 16777619u;
    label_left--;
  }
  return 0; // longer than we look
}

// --- ICMP echo -------------------------------------------------------------

static __always_inline int icmp_echo_reply(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip,
                                           struct icmphdr *ic, void *end) {
  if (ic->type != ICMP_ECHO || ic->code != 0) return count(C_NO_SERVICE, XDP_PASS);
  // Swap addresses and MACs, turn the request into a reply.
  __u8 tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
  __be32 a = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = a;
  ip->ttl = 64;
  ip->check = 0;
  ip->check = ipv4_csum(ip, end);
  // Only the type changes in the ICMP message: patch the checksum word.
  __be16 old = *(__be16 *)ic;
  ic->type = ICMP_ECHOREPLY;
  ic->checksum = csum_replace2(ic->checksum, old, *(__be16 *)ic);
  return count(C_ICMP_ECHO, XDP_TX);
}

// --- main ------------------------------------------------------------------

static __always_inline __u32 pick_backend(const struct service *svc, const struct flow_key *fk,
                                          __u32 name_hash) {
  __u32 h = name_hash ? mix3(name_hash, hash_seed, svc->id) : flow_hash(fk);
  __u32 slot = svc->id * RING_SIZE + (h % RING_SIZE);
  __u32 *b = bpf_map_lookup_elem(&rings, &slot);
  return b ? *b : MAX_BACKENDS;
}

SEC("xdp")
int l4lb(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  count(C_RX, 0);

  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return count(C_MALFORMED, XDP_DROP);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return count(C_NOT_IPV4, XDP_PASS);
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return count(C_MALFORMED, XDP_DROP);
  __u32 ihl = ip->ihl * 4;
  if (ip->version != 4 || ihl < sizeof(*ip) || (void *)ip + ihl > end)
    return count(C_MALFORMED, XDP_DROP);
  if (ip->frag_off & bpf_htons(0x3fff)) return count(C_NO_SERVICE, XDP_PASS); // fragments: slow path
  void *l4 = (void *)ip + ihl;

  struct vip_key vk = {.addr = ip->daddr, .proto = ip->protocol};
  struct flow_key fk = {.saddr = ip->saddr, .daddr = ip->daddr, .proto = ip->protocol};
  struct tcphdr *th = 0;
  struct udphdr *uh = 0;
  __u16 *l4check = 0;
  int closing = 0;

  switch (ip->protocol) {
  case IPPROTO_TCP:
    th = l4;
    if ((void *)(th + 1) > end || th->doff < 5) return count(C_MALFORMED, XDP_DROP);
    vk.port = th->dest;
    fk.sport = th->source;
    fk.dport = th->dest;
    l4check = &th->check;
    closing = th->fin || th->rst;
    break;
  case IPPROTO_UDP:
    uh = l4;
    if ((void *)(uh + 1) > end) return count(C_MALFORMED, XDP_DROP);
    vk.port = uh->dest;
    fk.sport = uh->source;
    fk.dport = uh->dest;
    l4check = &uh->check;
    break;
  case IPPROTO_ICMP: {
    struct icmphdr *ic = l4;
    if ((void *)(ic + 1) > end) return count(C_MALFORMED, XDP_DROP);
    if (!bpf_map_lookup_elem(&services, &vk)) return count(C_NO_SERVICE, XDP_PASS);
    return icmp_echo_reply(ctx, eth, ip, ic, end);
  }
  default:
    return count(C_NO_SERVICE, XDP_PASS);
  }

  struct service *svc = bpf_map_lookup_elem(&services, &vk);
  if (!svc) return count(C_NO_SERVICE, XDP_PASS);
  if (ip->ttl <= 1) return count(C_TTL_EXPIRED, XDP_DROP);
  __sync_fetch_and_add(&svc->packets, 1);
  __sync_fetch_and_add(&svc->bytes, bpf_ntohs(ip->tot_len));

  // Sticky backend from conntrack, else a fresh pick.
  __u32 bidx;
  __u64 now = bpf_ktime_get_ns();
  struct conn *ct = 0;
  if (!(svc->flags & SVC_F_NO_CONNTRACK)) ct = bpf_map_lookup_elem(&conntrack, &fk);
  if (ct) {
    bidx = ct->backend;
    ct->packets++;
    ct->last_seen_ns = now;
    if (closing) ct->state = CONN_CLOSING;
    count(C_EXISTING_FLOW, 0);
  } else {
    __u32 name_hash = 0;
    if (uh && (svc->flags & SVC_F_DNS_AFFINITY)) {
      name_hash = dns_name_hash(uh, end);
      if (name_hash) count(C_DNS_QUERY, 0);
    }
    bidx = pick_backend(svc, &fk, name_hash);
    if (bidx >= MAX_BACKENDS) return count(C_NO_BACKEND, XDP_DROP);
    if (!(svc->flags & SVC_F_NO_CONNTRACK)) {
      struct conn fresh = {.backend = bidx, .state = closing ? CONN_CLOSING : CONN_OPEN,
                           .packets = 1, .last_seen_ns = now};
      bpf_map_update_elem(&conntrack, &fk, &fresh, BPF_ANY);
    }
    count(C_NEW_FLOW, 0);
  }
  if (closing) count(C_FIN_RST, 0);

  struct backend *be = bpf_map_lookup_elem(&backends, &bidx);
  if (!be || !be->healthy || be->addr == 0) return count(C_NO_BACKEND, XDP_DROP);

  // DNAT: the destination address is part of the IPv4 header checksum and of
  // the TCP/UDP pseudo-header checksum.
  __be32 old_daddr = ip->daddr;
  __be32 new_daddr = be->addr;
  ip->daddr = new_daddr;
  ip->check = csum_replace4(ip->check, old_daddr, new_daddr);
  if (l4check && (void *)(l4check + 1) <= end) {
    // A UDP checksum of 0 means "none" and stays 0.
    if (!uh || *l4check != 0) {
      __u16 c = csum_replace4(*l4check, old_daddr, new_daddr);
      if (uh && c == 0) c = 0xffff;
      *l4check = c;
    }
  }

  if (th && (void *)(th + 1) <= end && clamp_mss(th, end)) count(C_MSS_CLAMPED, 0);

  // TTL lives in the checksum word (ttl << 8 | protocol).
  __be16 old_word = *(__be16 *)&ip->ttl;
  ip->ttl--;
  ip->check = csum_replace2(ip->check, old_word, *(__be16 *)&ip->ttl);

  // L2: from us to the backend.
  __builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
#pragma unroll
  for (int i = 0; i < ETH_ALEN; i++) eth->h_source[i] = lb_mac[i];
  return count(C_TX, XDP_TX);
}

char LICENSE[] SEC("license") = "GPL";
