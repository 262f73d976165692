// HTTP/1.x request and response parsing in XDP, as the talk "eBPF's Abilities
// and Limitations: The Truth" says is possible but not done yet.
//
// One program, http_parse (xdp), over Ethernet -> IPv4 (IHL-aware, first
// fragments only) or IPv6 (no extension headers) -> TCP (data offset aware):
//   * a TCP payload that starts with a request line ("GET /path HTTP/1.1\r\n")
//     is parsed byte by byte by a state machine run under bpf_loop: method,
//     path, version, then header lines up to max_headers, Host captured;
//   * a payload that starts with "HTTP/1.x " is a response: its status code
//     is counted;
//   * anything else is counted as not HTTP; requests that break the grammar
//     below are counted as malformed with a reason.  Every packet that is not
//     dropped by a rule passes.
// Complete requests (the blank line ending the headers is in this segment)
// are counted per method, per Host and per path prefix.  Complete and partial
// requests (request line complete, headers cut by the segment's end) are
// matched against the path rule table, an LPM trie on the path bytes; a match
// is XDP_DROP.  No TCP reassembly: a second segment of a split request starts
// in the middle of the headers, does not start with a method, and is counted
// as not HTTP.  docs/BEYOND.md has the exact grammar and the verifier budget.
//
// Verifier strategy: the payload (at most WIN bytes) is copied into a per-CPU
// map value (a bpf_loop over direct packet reads); the parser state lives in that map value
// too, so every load of it is an unknown scalar to the verifier, every index
// is masked, and the bpf_loop callback converges after a few passes whatever
// the packet holds.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define WIN 2048 // payload bytes looked at (power of two: indices are masked)
#define WIN_MASK (WIN - 1)
#define PATH_MAX_LEN 128
#define HOST_MAX_LEN 64
#define PREFIX_LEN 32
#define NAME_MAX_LEN 64
#define VALUE_MAX_LEN 1024
#define HDR_CAP 100 // hard cap on max_headers

// Configuration, patched before load.
const volatile __u32 max_headers = 32; // more header lines than this: malformed

enum stat {
  STAT_PACKETS,
  STAT_NOT_TCP, // not IPv4/IPv6 + TCP, or a non-first IPv4 fragment
  STAT_NO_PAYLOAD,
  STAT_REQUESTS, // complete requests
  STAT_PARTIAL, // request line complete, headers cut by the segment's end
  STAT_RESPONSES,
  STAT_NOT_HTTP, // unparsed: does not start with a known method or "HTTP/"
  STAT_MALFORMED, // unparsed: started like HTTP, then broke the grammar
  STAT_DROPPED, // requests dropped by a path rule
  STAT_MAX,
};

enum reason {
  WHY_SYNTAX,
  WHY_OVERSIZE, // path, header name, header value or Host too long
  WHY_TOO_MANY_HEADERS,
  WHY_TRUNCATED, // the payload ends inside the request line
  WHY_DUP_HOST,
  WHY_BAD_RESPONSE,
  WHY_MAX,
};

enum state {
  ST_METHOD,
  ST_PATH,
  ST_VERSION,
  ST_NAME, // at or inside a header name (name_len == 0: line start)
  ST_OWS, // after "name:", skipping spaces
  ST_VALUE,
  ST_LF, // after the CR ending a header line
  ST_END_LF, // after the CR of the blank line
  ST_DONE,
  ST_FAIL,
};

enum method { M_OTHER, M_GET, M_HEAD, M_POST, M_PUT, M_DELETE, M_CONNECT, M_OPTIONS, M_TRACE, M_PATCH, M_MAX };

struct path_key {
  __u32 prefixlen; // in bits, as BPF_MAP_TYPE_LPM_TRIE wants
  __u8 data[PATH_MAX_LEN];
};

struct http_scratch {
  __u8 buf[WIN];
  struct path_key path; // the path bytes double as the LPM lookup key
  __u8 host[HOST_MAX_LEN]; // lowercased, zero padded: the hosts key
  __u8 prefix[PREFIX_LEN]; // zero padded: the prefixes key
  __u64 method_word; // the method's bytes, little-endian
  __u32 len, state, reason, method;
  __u32 path_len, prefix_done, name_len, host_cand, host_on, host_seen;
  __u32 host_len, host_trim, value_len, vpos, hdr_count;
};

struct rule {
  __u32 id;
  __u32 pad;
  __u64 hits;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct http_scratch);
} http_scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} http_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, WHY_MAX);
  __type(key, __u32);
  __type(value, __u64);
} malformed_why SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, M_MAX);
  __type(key, __u32);
  __type(value, __u64);
} methods SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u8[HOST_MAX_LEN]);
  __type(value, __u64);
} hosts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u8[PREFIX_LEN]);
  __type(value, __u64);
} prefixes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1000);
  __type(key, __u32);
  __type(value, __u64);
} status_codes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 256);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct path_key);
  __type(value, struct rule);
} path_rules SEC(".maps");

// x & mask, done where the verifier sees it: clang drops a plain mask when an
// earlier test already bounds x, but that test may be on another register copy.
#define BOUNDED(x, mask)                                      \
  ({                                                          \
    __u64 _v = (x);                                           \
    asm volatile("%[v] &= %[m]" : [v] "+r"(_v) : [m] "i"(mask)); \
    _v;                                                       \
  })

static void count(void *map, __u32 key) {
  __u64 *n = bpf_map_lookup_elem(map, &key);
  if (n) __sync_fetch_and_add(n, 1);
}

static void count_key(void *map, const void *key) {
  __u64 one = 1, *n = bpf_map_lookup_elem(map, key);
  if (n) __sync_fetch_and_add(n, 1);
  else bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

#define W2(a, b) ((__u64)(a) | (__u64)(b) << 8)
#define W3(a, b, c) (W2(a, b) | (__u64)(c) << 16)
#define W4(a, b, c, d) (W3(a, b, c) | (__u64)(d) << 24)
#define W5(a, b, c, d, e) (W4(a, b, c, d) | (__u64)(e) << 32)
#define W6(a, b, c, d, e, f) (W5(a, b, c, d, e) | (__u64)(f) << 40)
#define W7(a, b, c, d, e, f, g) (W6(a, b, c, d, e, f) | (__u64)(g) << 48)

static __u32 method_of(__u64 w) {
  switch (w) {
  case W3('G', 'E', 'T'): return M_GET;
  case W4('H', 'E', 'A', 'D'): return M_HEAD;
  case W4('P', 'O', 'S', 'T'): return M_POST;
  case W3('P', 'U', 'T'): return M_PUT;
  case W6('D', 'E', 'L', 'E', 'T', 'E'): return M_DELETE;
  case W7('C', 'O', 'N', 'N', 'E', 'C', 'T'): return M_CONNECT;
  case W7('O', 'P', 'T', 'I', 'O', 'N', 'S'): return M_OPTIONS;
  case W5('T', 'R', 'A', 'C', 'E'): return M_TRACE;
  case W5('P', 'A', 'T', 'C', 'H'): return M_PATCH;
  default: return M_OTHER;
  }
}

// RFC 9110 tchar: the bytes a header name may hold.
static int is_tchar(__u8 c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  switch (c) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
  case '-': case '.': case '^': case '_': case '`': case '|': case '~':
    return 1;
  default:
    return 0;
  }
}

static __u8 lower(__u8 c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int fail(struct http_scratch *s, __u32 why) {
  s->state = ST_FAIL;
  s->reason = why;
  return 1; // stop bpf_loop
}

// Zeroes the i-th space after the Host value (the hosts key is zero padded).
// A bpf_loop rather than a 64-step loop in the caller: with an unknown bound,
// such a loop has the verifier fork at every step (with it, the program took
// 29,567 instructions processed to verify; with this callback, 1,740).
static int trim_step(__u32 i, void *unused) {
  __u32 zero = 0;
  struct http_scratch *s = bpf_map_lookup_elem(&http_scratch, &zero);
  if (!s) return 1;
  s->host[BOUNDED(s->host_trim + i, HOST_MAX_LEN - 1)] = 0;
  return 0;
}

// One byte of the request.  i is unknown to the verifier; so is everything
// read from s.
static int http_step(__u32 i, void *unused) {
  __u32 zero = 0;
  struct http_scratch *s = bpf_map_lookup_elem(&http_scratch, &zero);
  if (!s) return 1;
  __u8 c = s->buf[BOUNDED(i, WIN_MASK)];
  __u32 n;
  switch (s->state) {
  case ST_METHOD:
    if (c == ' ') {
      s->method = method_of(s->method_word);
      if (s->method == M_OTHER) return fail(s, WHY_SYNTAX);
      s->state = ST_PATH;
      return 0;
    }
    n = s->name_len;
    if (c < 'A' || c > 'Z' || n >= 7) return fail(s, WHY_SYNTAX);
    s->method_word |= (__u64)c << ((n & 7) * 8);
    s->name_len = n + 1;
    return 0;
  case ST_PATH:
    n = s->path_len;
    if (c == ' ') {
      if (n == 0) return fail(s, WHY_SYNTAX);
      s->state = ST_VERSION;
      return 0;
    }
    if (c < 0x21 || c > 0x7e) return fail(s, WHY_SYNTAX);
    if (n == 0 && c != '/' && c != '*') return fail(s, WHY_SYNTAX);
    if (n >= PATH_MAX_LEN) return fail(s, WHY_OVERSIZE);
    s->path.data[BOUNDED(n, PATH_MAX_LEN - 1)] = c;
    if (!s->prefix_done) {
      if ((n > 0 && c == '/') || c == '?' || c == '#') s->prefix_done = 1;
      else if (n < PREFIX_LEN) s->prefix[BOUNDED(n, PREFIX_LEN - 1)] = c;
    }
    s->path_len = n + 1;
    return 0;
  case ST_VERSION: {
    // "HTTP/1.0" or "HTTP/1.1", then CR LF
    n = s->vpos;
    s->vpos = n + 1;
    switch (n) {
    case 0: return c == 'H' ? 0 : fail(s, WHY_SYNTAX);
    case 1: case 2: return c == 'T' ? 0 : fail(s, WHY_SYNTAX);
    case 3: return c == 'P' ? 0 : fail(s, WHY_SYNTAX);
    case 4: return c == '/' ? 0 : fail(s, WHY_SYNTAX);
    case 5: return c == '1' ? 0 : fail(s, WHY_SYNTAX);
    case 6: return c == '.' ? 0 : fail(s, WHY_SYNTAX);
    case 7: return c == '0' || c == '1' ? 0 : fail(s, WHY_SYNTAX);
    case 8: return c == '\r' ? 0 : fail(s, WHY_SYNTAX);
    default:
      if (c != '\n') return fail(s, WHY_SYNTAX);
      s->state = ST_NAME;
      s->name_len = 0;
      s->host_cand = 1;
      return 0;
    }
  }
  case ST_NAME:
    n = s->name_len;
    if (n == 0 && c == '\r') {
      s->state = ST_END_LF;
      return 0;
    }
    if (c == ':') {
      if (n == 0) return fail(s, WHY_SYNTAX);
      __u32 h = s->hdr_count + 1;
      s->hdr_count = h;
      if (h > max_headers || h > HDR_CAP) return fail(s, WHY_TOO_MANY_HEADERS);
      s->host_on = 0;
      if (s->host_cand && n == 4) {
        if (s->host_seen) return fail(s, WHY_DUP_HOST);
        s->host_seen = 1;
        s->host_on = 1;
      }
      s->value_len = 0;
      s->state = ST_OWS;
      return 0;
    }
    if (!is_tchar(c)) return fail(s, WHY_SYNTAX);
    if (n >= NAME_MAX_LEN) return fail(s, WHY_OVERSIZE);
    if (n >= 4 || lower(c) != ((W4('h', 'o', 's', 't') >> ((n & 3) * 8)) & 0xff)) s->host_cand = 0;
    s->name_len = n + 1;
    return 0;
  case ST_OWS:
    if (c == ' ' || c == '\t') return 0;
    s->state = ST_VALUE;
    // fall through: this byte starts the value
  case ST_VALUE:
    if (c == '\r') {
      s->state = ST_LF;
      if (s->host_on && s->host_trim < s->host_len) { // drop trailing spaces
        bpf_loop(s->host_len - s->host_trim, trim_step, NULL, 0);
        s->host_len = s->host_trim;
      }
      return 0;
    }
    if (c != '\t' && (c < 0x20 || c == 0x7f)) return fail(s, WHY_SYNTAX);
    n = s->value_len;
    if (n >= VALUE_MAX_LEN) return fail(s, WHY_OVERSIZE);
    s->value_len = n + 1;
    if (s->host_on) {
      n = s->host_len;
      if (n >= HOST_MAX_LEN) return fail(s, WHY_OVERSIZE);
      s->host[BOUNDED(n, HOST_MAX_LEN - 1)] = lower(c);
      s->host_len = n + 1;
      if (c != ' ' && c != '\t') s->host_trim = n + 1;
    }
    return 0;
  case ST_LF:
    if (c != '\n') return fail(s, WHY_SYNTAX);
    s->state = ST_NAME;
    s->name_len = 0;
    s->host_cand = 1;
    return 0;
  case ST_END_LF:
    if (c != '\n') return fail(s, WHY_SYNTAX);
    s->state = ST_DONE;
    return 1;
  default:
    return 1;
  }
}

static int is_digit(__u8 c) { return c >= '0' && c <= '9'; }

// "HTTP/1.x SSS " or "HTTP/1.x SSS\r": count the status code.
static void parse_response(struct http_scratch *s) {
  __u8 *b = s->buf;
  if (s->len < 13 || b[5] != '1' || b[6] != '.' || !is_digit(b[7]) || b[8] != ' ' || !is_digit(b[9]) ||
      !is_digit(b[10]) || !is_digit(b[11]) || (b[12] != ' ' && b[12] != '\r')) {
    count(&http_stats, STAT_MALFORMED);
    count(&malformed_why, WHY_BAD_RESPONSE);
    return;
  }
  __u32 code = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
  if (code < 100 || code > 599) {
    count(&http_stats, STAT_MALFORMED);
    count(&malformed_why, WHY_BAD_RESPONSE);
    return;
  }
  count(&http_stats, STAT_RESPONSES);
  count_key(&status_codes, &code);
}

// Offset of the TCP payload, or -1 when the packet is not TCP we can parse.
static int tcp_payload(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return -1;
  __u8 *l3 = (void *)(eth + 1);
  int l4;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    if (l3 + 20 > (__u8 *)end) return -1;
    __u32 ihl = (l3[0] & 0xf) * 4;
    __u16 frag = ((__u16)l3[6] << 8 | l3[7]) & 0x1fff;
    if ((l3[0] >> 4) != 4 || ihl < 20 || l3[9] != IPPROTO_TCP || frag) return -1;
    l4 = sizeof(*eth) + ihl;
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    if (l3 + 40 > (__u8 *)end || l3[6] != IPPROTO_TCP) return -1;
    l4 = sizeof(*eth) + 40;
  } else {
    return -1;
  }
  __u8 *tcp = (__u8 *)data + l4;
  if (tcp + 20 > (__u8 *)end) return -1;
  __u32 doff = (tcp[12] >> 4) * 4;
  if (doff < 20) return -1;
  return l4 + doff;
}

// Copies the payload into s->buf one byte per bpf_loop call, through direct
// packet access (bpf_xdp_load_bytes would do it in one call, but runtimes
// without it, like tsbpf today, could not run the program).
struct load_ctx {
  struct xdp_md *xdp;
  struct http_scratch *s;
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
int http_parse(struct xdp_md *ctx) {
  __u32 zero = 0;
  count(&http_stats, STAT_PACKETS);
  int off = tcp_payload(ctx);
  if (off < 0) {
    count(&http_stats, STAT_NOT_TCP);
    return XDP_PASS;
  }
  long plen = (long)(ctx->data_end - ctx->data) - off;
  if (plen <= 0) {
    // also a data offset pointing past the end: nothing to parse
    count(&http_stats, STAT_NO_PAYLOAD);
    return XDP_PASS;
  }
  struct http_scratch *s = bpf_map_lookup_elem(&http_scratch, &zero);
  if (!s) return XDP_PASS;
  __u32 len = plen > WIN ? WIN : plen;
  struct load_ctx lc = {.xdp = ctx, .s = s, .off = off};
  if (off > 255 || bpf_loop(len, load_step, &lc, 0) != len) return XDP_PASS;
  s->len = len;

  if (len >= 5 && s->buf[0] == 'H' && s->buf[1] == 'T' && s->buf[2] == 'T' && s->buf[3] == 'P' &&
      s->buf[4] == '/') {
    parse_response(s);
    return XDP_PASS;
  }

  __builtin_memset(&s->path, 0, sizeof(s->path));
  __builtin_memset(s->host, 0, sizeof(s->host));
  __builtin_memset(s->prefix, 0, sizeof(s->prefix));
  s->method_word = 0;
  s->state = ST_METHOD;
  s->reason = 0;
  s->method = 0;
  s->path_len = s->prefix_done = s->name_len = s->host_cand = s->host_on = s->host_seen = 0;
  s->host_len = s->host_trim = s->value_len = s->vpos = s->hdr_count = 0;

  bpf_loop(len, http_step, NULL, 0);

  __u32 st = s->state;
  if (st == ST_METHOD || (st == ST_FAIL && s->method == M_OTHER)) {
    count(&http_stats, STAT_NOT_HTTP);
    return XDP_PASS;
  }
  if (st == ST_FAIL || st == ST_PATH || st == ST_VERSION) {
    count(&http_stats, STAT_MALFORMED);
    count(&malformed_why, st == ST_FAIL ? s->reason : WHY_TRUNCATED);
    return XDP_PASS;
  }
  if (st == ST_DONE) {
    count(&http_stats, STAT_REQUESTS);
    count(&methods, s->method);
    count_key(&prefixes, s->prefix);
    if (s->host_len > 0) count_key(&hosts, s->host);
  } else {
    count(&http_stats, STAT_PARTIAL);
  }

  s->path.prefixlen = s->path_len * 8;
  struct rule *r = bpf_map_lookup_elem(&path_rules, &s->path);
  if (r) {
    __sync_fetch_and_add(&r->hits, 1);
    count(&http_stats, STAT_DROPPED);
    return XDP_DROP;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
