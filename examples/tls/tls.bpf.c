// TLS ClientHello parsing in XDP: SNI, ALPN and a JA3-style fingerprint,
// published through a ring buffer; ClientHellos whose SNI is in a deny map are
// dropped.  The other half of "HTTP and TLS parsing are just not implemented
// yet" (see examples/http for the first).
//
// tls_parse (xdp): Ethernet -> IPv4 (IHL-aware, first fragments) or IPv6 (no
// extension headers) -> TCP -> a TLS record of type handshake (22) holding a
// whole ClientHello (handshake type 1): legacy version, random, session id,
// cipher suites, compression methods, extensions.  From the extensions:
// server_name (0, the first host_name entry), supported_groups (10),
// ec_point_formats (11), ALPN (16).  A ClientHello longer than its record or
// its segment is "truncated": there is no TCP reassembly (docs/BEYOND.md).
//
// JA3-style fingerprint: 64-bit FNV-1a over the JA3 string
//   "version,ciphers,extensions,groups,point_formats"
// (decimal numbers, '-' between list items, GREASE values removed), hashed as
// it is produced, never built: the cipher and extension lists in their bpf_loop
// callbacks, groups and point formats after the extension walk from offsets it
// recorded.  (JA3 proper takes MD5 of the same string.)
//
// As in examples/http, the payload is copied into a per-CPU map value and the
// parser state lives there, so the verifier sees unknown scalars, indices are
// masked, and each bpf_loop callback converges after a few passes.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define WIN 2048 // payload bytes looked at (power of two: indices are masked)
#define WIN_MASK (WIN - 1)
#define SNI_LEN 128 // deny-map key: the SNI, lowercased, zero padded
#define ALPN_LEN 64 // ALPN protocol_name_list bytes published
#define MAX_EXTS 64
#define MAX_POINT_FORMATS 16

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

enum stat {
  STAT_PACKETS,
  STAT_NOT_TCP,
  STAT_NO_PAYLOAD,
  STAT_NOT_TLS, // unparsed: not a TLS handshake record
  STAT_OTHER_HANDSHAKE, // a handshake record, but not a ClientHello
  STAT_TRUNCATED, // unparsed: record or handshake longer than what we have
  STAT_MALFORMED, // unparsed: a length or field that lies
  STAT_PARSED, // ClientHellos parsed (and published)
  STAT_BLOCKED, // of those, dropped because of their SNI
  STAT_RINGBUF_FULL,
  STAT_MAX,
};

enum reason {
  WHY_LENGTH, // an inner length runs past its container
  WHY_FIELD, // session id > 32, odd or empty cipher list, no compression method
  WHY_SNI, // server_name extension: empty name, wrong name type, bad list
  WHY_SNI_OVERSIZE, // host name longer than SNI_LEN - 1
  WHY_TOO_MANY_EXTS,
  WHY_DUP_SNI,
  WHY_MAX,
};

struct tls_event {
  __u64 ja3; // FNV-1a 64 of the JA3 string
  __u8 saddr[16], daddr[16]; // IPv4: the first 4 bytes
  __u16 sport, dport; // host byte order
  __u16 version; // ClientHello legacy_version
  __u8 family; // 4 or 6
  __u8 blocked;
  __u16 ciphers, exts; // counts, GREASE excluded
  __u8 sni_len, alpn_len;
  __u8 pad[2];
  __u8 sni[SNI_LEN];
  __u8 alpn[ALPN_LEN]; // raw protocol_name_list (len-prefixed names), truncated
};

struct tls_scratch {
  __u8 buf[WIN];
  __u8 sni[SNI_LEN];
  __u8 alpn[ALPN_LEN];
  __u8 saddr[16], daddr[16];
  __u64 hash;
  __u32 len, pos, ext_end, cs_pos, ciphers, exts, first, fail, reason;
  __u32 sni_len, sni_seen, alpn_len, groups_pos, groups_n, pf_pos, pf_n;
  __u32 copy_from, copy_to_alpn;
  __u16 sport, dport, version;
  __u8 family;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tls_scratch);
} tls_scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} tls_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, WHY_MAX);
  __type(key, __u32);
  __type(value, __u64);
} malformed_why SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u8[SNI_LEN]);
  __type(value, __u64); // drops
} sni_deny SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} tls_events SEC(".maps");

// x & mask, done where the verifier sees it (clang drops a mask it can prove
// useless, but its proof may rest on a register copy the verifier lost).
#define BOUNDED(x, mask)                                         \
  ({                                                             \
    __u64 _v = (x);                                              \
    asm volatile("%[v] &= %[m]" : [v] "+r"(_v) : [m] "i"(mask)); \
    _v;                                                          \
  })

static void count(void *map, __u32 key) {
  __u64 *n = bpf_map_lookup_elem(map, &key);
  if (n) __sync_fetch_and_add(n, 1);
}

static struct tls_scratch *scratch(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&tls_scratch, &zero);
}

static __u32 u8at(struct tls_scratch *s, __u32 p) { return s->buf[BOUNDED(p, WIN_MASK)]; }
static __u32 u16at(struct tls_scratch *s, __u32 p) { return u8at(s, p) << 8 | u8at(s, p + 1); }

// GREASE (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa.
static int is_grease(__u32 v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

static __u64 fnv_byte(__u64 h, __u8 b) { return (h ^ b) * FNV_PRIME; }

// Hashes v (< 100000) in decimal, without leading zeros.
static __u64 fnv_dec(__u64 h, __u32 v) {
  __u32 div = 10000;
  int started = 0;
#pragma unroll
  for (int k = 0; k < 5; k++) {
    __u32 d = v / div;
    v -= d * div;
    if (d || started || k == 4) {
      h = fnv_byte(h, '0' + d);
      started = 1;
    }
    div /= 10;
  }
  return h;
}

// Appends one list item to the JA3 hash: '-' unless it is the list's first.
static void ja3_item(struct tls_scratch *s, __u32 v) {
  __u64 h = s->hash;
  if (!s->first) h = fnv_byte(h, '-');
  s->first = 0;
  s->hash = fnv_dec(h, v);
}

static void ja3_field_end(struct tls_scratch *s) {
  s->hash = fnv_byte(s->hash, ',');
  s->first = 1;
}

static int cipher_step(__u32 i, void *unused) {
  struct tls_scratch *s = scratch();
  if (!s) return 1;
  __u32 v = u16at(s, s->cs_pos + 2 * i);
  if (!is_grease(v)) {
    ja3_item(s, v);
    s->ciphers++;
  }
  return 0;
}

static int group_step(__u32 i, void *unused) {
  struct tls_scratch *s = scratch();
  if (!s) return 1;
  __u32 v = u16at(s, s->groups_pos + 2 * i);
  if (!is_grease(v)) ja3_item(s, v);
  return 0;
}

static __u8 lower(__u8 c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Copies byte i of a name into sni (lowercased) or alpn.
static int copy_step(__u32 i, void *unused) {
  struct tls_scratch *s = scratch();
  if (!s) return 1;
  __u8 c = u8at(s, s->copy_from + i);
  if (s->copy_to_alpn) s->alpn[BOUNDED(i, ALPN_LEN - 1)] = c;
  else s->sni[BOUNDED(i, SNI_LEN - 1)] = lower(c);
  return 0;
}

static int fail(struct tls_scratch *s, __u32 why) {
  s->fail = 1;
  s->reason = why;
  return 1; // stop bpf_loop
}

// server_name: ServerNameList = len(2) { name_type(1) len(2) name }; the first
// entry must be a host_name (0) of 1..SNI_LEN-1 bytes.
static int parse_sni(struct tls_scratch *s, __u32 d, __u32 elen) {
  if (s->sni_seen) return fail(s, WHY_DUP_SNI);
  s->sni_seen = 1;
  if (elen < 5) return fail(s, WHY_SNI);
  __u32 list = u16at(s, d);
  if (list + 2 > elen || list < 3 || u8at(s, d + 2) != 0) return fail(s, WHY_SNI);
  __u32 n = u16at(s, d + 3);
  if (n + 3 > list) return fail(s, WHY_LENGTH);
  if (n == 0) return fail(s, WHY_SNI);
  if (n >= SNI_LEN) return fail(s, WHY_SNI_OVERSIZE);
  s->sni_len = n;
  s->copy_from = d + 5;
  s->copy_to_alpn = 0;
  bpf_loop(n, copy_step, NULL, 0);
  return 0;
}

// One extension: type(2) len(2) data.  Stops the loop at the end of the block.
static int ext_step(__u32 i, void *unused) {
  struct tls_scratch *s = scratch();
  if (!s) return 1;
  __u32 p = s->pos, end = s->ext_end;
  if (p == end) return 1;
  if (i >= MAX_EXTS) return fail(s, WHY_TOO_MANY_EXTS);
  if (p + 4 > end) return fail(s, WHY_LENGTH);
  __u32 type = u16at(s, p), elen = u16at(s, p + 2), d = p + 4;
  if (d + elen > end) return fail(s, WHY_LENGTH);
  s->pos = d + elen;
  if (!is_grease(type)) {
    ja3_item(s, type);
    s->exts++;
  }
  __u32 n;
  switch (type) {
  case 0:
    return parse_sni(s, d, elen);
  case 10: // supported_groups: len(2) { group(2) }
    if (elen < 2) return fail(s, WHY_LENGTH);
    n = u16at(s, d);
    if (n + 2 > elen || (n & 1)) return fail(s, WHY_LENGTH);
    s->groups_pos = d + 2;
    s->groups_n = n / 2;
    return 0;
  case 11: // ec_point_formats: len(1) { format(1) }
    if (elen < 1) return fail(s, WHY_LENGTH);
    n = u8at(s, d);
    if (n + 1 > elen) return fail(s, WHY_LENGTH);
    s->pf_pos = d + 1;
    s->pf_n = n;
    return 0;
  case 16: // ALPN: len(2) protocol_name_list, published raw
    if (elen < 2) return fail(s, WHY_LENGTH);
    n = u16at(s, d);
    if (n + 2 > elen) return fail(s, WHY_LENGTH);
    if (n > ALPN_LEN) n = ALPN_LEN;
    s->alpn_len = n;
    s->copy_from = d + 2;
    s->copy_to_alpn = 1;
    bpf_loop(n, copy_step, NULL, 0);
    return 0;
  default:
    return 0;
  }
}

// Everything after the handshake header.  Returns an enum stat.
static __u32 parse_client_hello(struct tls_scratch *s, __u32 end) {
  __u32 p = 9;
  if (p + 2 + 32 + 1 > end) return fail(s, WHY_LENGTH), STAT_MALFORMED;
  s->version = u16at(s, p);
  p += 2 + 32; // version, random
  __u32 sid = u8at(s, p);
  if (sid > 32) return fail(s, WHY_FIELD), STAT_MALFORMED;
  p += 1 + sid;
  if (p + 2 > end) return fail(s, WHY_LENGTH), STAT_MALFORMED;
  __u32 cs = u16at(s, p);
  if (cs == 0 || (cs & 1)) return fail(s, WHY_FIELD), STAT_MALFORMED;
  p += 2;
  if (p + cs + 1 > end) return fail(s, WHY_LENGTH), STAT_MALFORMED;
  s->cs_pos = p;
  p += cs;
  __u32 comp = u8at(s, p);
  if (comp == 0) return fail(s, WHY_FIELD), STAT_MALFORMED;
  p += 1 + comp;
  if (p > end) return fail(s, WHY_LENGTH), STAT_MALFORMED;
  __u32 ext_end = p;
  if (p != end) { // extensions are optional
    if (p + 2 > end) return fail(s, WHY_LENGTH), STAT_MALFORMED;
    ext_end = p + 2 + u16at(s, p);
    if (ext_end > end) return fail(s, WHY_LENGTH), STAT_MALFORMED;
    p += 2;
  }
  s->pos = p;
  s->ext_end = ext_end;

  s->hash = fnv_dec(FNV_OFFSET, s->version);
  ja3_field_end(s);
  bpf_loop(cs / 2, cipher_step, NULL, 0);
  ja3_field_end(s);
  bpf_loop(MAX_EXTS + 1, ext_step, NULL, 0);
  if (s->fail) return STAT_MALFORMED;
  if (s->pos != s->ext_end) return fail(s, WHY_TOO_MANY_EXTS), STAT_MALFORMED;
  ja3_field_end(s);
  bpf_loop(s->groups_n, group_step, NULL, 0);
  ja3_field_end(s);
  // Point formats with a bounded loop kept as a loop (a backward jump): the
  // verifier walks its at most 16 steps one by one; the exit test forks, but
  // the branch that leaves ends at once, so the cost grows linearly.
  __u32 pf = s->pf_n;
#pragma clang loop unroll(disable)
  for (__u32 k = 0; k < MAX_POINT_FORMATS; k++) {
    if (k >= pf) break;
    ja3_item(s, u8at(s, s->pf_pos + k));
  }
  return STAT_PARSED;
}

// Offset of the TCP payload (addresses and ports saved in s), or -1.
static int tcp_payload(struct xdp_md *ctx, struct tls_scratch *s) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return -1;
  __u8 *l3 = (void *)(eth + 1);
  int l4;
  __builtin_memset(s->saddr, 0, sizeof(s->saddr));
  __builtin_memset(s->daddr, 0, sizeof(s->daddr));
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    if (l3 + 20 > (__u8 *)end) return -1;
    __u32 ihl = (l3[0] & 0xf) * 4;
    __u16 frag = ((__u16)l3[6] << 8 | l3[7]) & 0x1fff;
    if ((l3[0] >> 4) != 4 || ihl < 20 || l3[9] != IPPROTO_TCP || frag) return -1;
    __builtin_memcpy(s->saddr, l3 + 12, 4);
    __builtin_memcpy(s->daddr, l3 + 16, 4);
    s->family = 4;
    l4 = sizeof(*eth) + ihl;
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    if (l3 + 40 > (__u8 *)end || l3[6] != IPPROTO_TCP) return -1;
    __builtin_memcpy(s->saddr, l3 + 8, 16);
    __builtin_memcpy(s->daddr, l3 + 24, 16);
    s->family = 6;
    l4 = sizeof(*eth) + 40;
  } else {
    return -1;
  }
  __u8 *tcp = (__u8 *)data + l4;
  if (tcp + 20 > (__u8 *)end) return -1;
  __u32 doff = (tcp[12] >> 4) * 4;
  if (doff < 20) return -1;
  s->sport = tcp[0] << 8 | tcp[1];
  s->dport = tcp[2] << 8 | tcp[3];
  return l4 + doff;
}

// Copies the payload into s->buf one byte per bpf_loop call, through direct
// packet access (bpf_xdp_load_bytes would do it in one call, but runtimes
// without it, like tsbpf today, could not run the program).
struct load_ctx {
  struct xdp_md *xdp;
  struct tls_scratch *s;
  __u64 off;
};

static int load_step(__u32 i, struct load_ctx *lc) {
  __u8 *data = (void *)(long)lc->xdp->data, *end = (void *)(long)lc->xdp->data_end;
  __u64 at = BOUNDED(i, WIN_MASK);
  __u8 *p = data + BOUNDED(lc->off, 255) + at;
  if (p + 1 > end) return 1;
  lc->s->buf[at] = *p;
  return 0;
}

SEC("xdp")
int tls_parse(struct xdp_md *ctx) {
  count(&tls_stats, STAT_PACKETS);
  struct tls_scratch *s = scratch();
  if (!s) return XDP_PASS;
  int off = tcp_payload(ctx, s);
  if (off < 0) {
    count(&tls_stats, STAT_NOT_TCP);
    return XDP_PASS;
  }
  long plen = (long)(ctx->data_end - ctx->data) - off;
  if (plen <= 0) {
    count(&tls_stats, STAT_NO_PAYLOAD);
    return XDP_PASS;
  }
  __u32 len = plen > WIN ? WIN : plen;
  struct load_ctx lc = {.xdp = ctx, .s = s, .off = off};
  if (off > 255 || bpf_loop(len, load_step, &lc, 0) != len) return XDP_PASS;
  s->len = len;

  // Record header: type 22, version 3.x, length.
  if (len < 5 || s->buf[0] != 22 || s->buf[1] != 3 || s->buf[2] > 4) {
    count(&tls_stats, STAT_NOT_TLS);
    return XDP_PASS;
  }
  __u32 rec = u16at(s, 3);
  // Handshake header: type, 24-bit length; the whole ClientHello in this record
  // and in this segment (plen, not len: a segment longer than WIN is truncated).
  if (rec < 4 || len < 9) {
    count(&tls_stats, rec < 4 ? STAT_MALFORMED : STAT_TRUNCATED);
    if (rec < 4) count(&malformed_why, WHY_LENGTH);
    return XDP_PASS;
  }
  if (s->buf[5] != 1) {
    count(&tls_stats, STAT_OTHER_HANDSHAKE);
    return XDP_PASS;
  }
  __u32 hs = u8at(s, 6) << 16 | u16at(s, 7);
  if (rec + 5 > len || hs + 4 > rec) {
    count(&tls_stats, STAT_TRUNCATED);
    return XDP_PASS;
  }

  __builtin_memset(s->sni, 0, sizeof(s->sni));
  __builtin_memset(s->alpn, 0, sizeof(s->alpn));
  s->ciphers = s->exts = s->fail = s->reason = 0;
  s->sni_len = s->sni_seen = s->alpn_len = 0;
  s->groups_pos = s->groups_n = s->pf_pos = s->pf_n = 0;
  s->first = 1;
  __u32 verdict = parse_client_hello(s, 9 + hs);
  if (verdict != STAT_PARSED) {
    count(&tls_stats, verdict);
    count(&malformed_why, s->reason);
    return XDP_PASS;
  }
  count(&tls_stats, STAT_PARSED);

  int blocked = 0;
  if (s->sni_len) {
    __u64 *hits = bpf_map_lookup_elem(&sni_deny, s->sni);
    if (hits) {
      __sync_fetch_and_add(hits, 1);
      blocked = 1;
      count(&tls_stats, STAT_BLOCKED);
    }
  }
  struct tls_event *e = bpf_ringbuf_reserve(&tls_events, sizeof(*e), 0);
  if (e) {
    e->ja3 = s->hash;
    __builtin_memcpy(e->saddr, s->saddr, 16);
    __builtin_memcpy(e->daddr, s->daddr, 16);
    e->sport = s->sport;
    e->dport = s->dport;
    e->version = s->version;
    e->family = s->family;
    e->blocked = blocked;
    e->ciphers = s->ciphers;
    e->exts = s->exts;
    e->sni_len = s->sni_len;
    e->alpn_len = s->alpn_len;
    e->pad[0] = e->pad[1] = 0;
    __builtin_memcpy(e->sni, s->sni, SNI_LEN);
    __builtin_memcpy(e->alpn, s->alpn, ALPN_LEN);
    bpf_ringbuf_submit(e, 0);
  } else {
    count(&tls_stats, STAT_RINGBUF_FULL);
  }
  return blocked ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
