// bpf_loop(nr, callback, ctx, flags): the kernel calls callback(i, ctx) up
// to nr times (stopping early when it returns 1); the verifier checks the
// callback once instead of every iteration, so the count may be large or
// unknown.  Two uses:
//   loop_histogram (xdp)      byte histogram of the packet, the callback
//                             reading the packet through a context struct
//   loop_primes    (syscall)  sieve of Eratosthenes in a map value with a
//                             nested bpf_loop and an early stop
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SIEVE_N 1024

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} histogram SEC(".maps"); // one bucket per high nibble

struct sieve {
  __u8 composite[SIEVE_N];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sieve);
} sieve_map SEC(".maps");

const volatile __u32 prime_limit = 1000; // count primes below this (<= SIEVE_N)
__u64 prime_count; // .bss: result of loop_primes
__u64 largest_prime;

// No counter in here: the verifier re-checks the callback until the states
// it sees repeat, and a counter that changes every iteration would never
// repeat.  bpf_loop's return value already counts the iterations.
struct hist_ctx {
  struct xdp_md *xdp;
};

static int hist_step(__u32 i, struct hist_ctx *hc) {
  __u8 *data = (void *)(long)hc->xdp->data;
  __u8 *end = (void *)(long)hc->xdp->data_end;
  // i is unknown to the verifier in a callback: bound it so that data + i + 1
  // stays within MAX_PACKET_OFF (0xffff), else the range check teaches nothing.
  if (i >= 4096 || data + i + 1 > end) return 1; // stop
  __u32 bucket = data[i] >> 4;
  __u64 *n = bpf_map_lookup_elem(&histogram, &bucket);
  if (n) __sync_fetch_and_add(n, 1);
  return 0;
}

SEC("xdp")
int loop_histogram(struct xdp_md *ctx) {
  struct hist_ctx hc = {.xdp = ctx};
  int calls = bpf_loop(1500, hist_step, &hc, 0);
  return calls > 1 ? XDP_PASS : XDP_DROP; // the last call stopped the loop
}

// bpf_loop's ctx argument must point to the stack, so the map value pointer
// travels inside a stack struct.
struct sieve_ctx {
  struct sieve *s;
};

struct mark_ctx {
  struct sieve *s;
  __u32 p;
};

static int mark_multiple(__u32 i, struct mark_ctx *mc) {
  __u64 m = (__u64)mc->p * (mc->p + i); // p*p, p*(p+1), ...
  if (m >= prime_limit || m >= SIEVE_N) return 1;
  mc->s->composite[m] = 1;
  return 0;
}

static int sieve_step(__u32 p, struct sieve_ctx *sc) {
  struct sieve *s = sc->s;
  if (p < 2) return 0;
  if (p >= prime_limit || p >= SIEVE_N) return 1;
  if (s->composite[p]) return 0;
  prime_count++;
  largest_prime = p;
  struct mark_ctx mc = {.s = s, .p = p};
  bpf_loop(SIEVE_N, mark_multiple, &mc, 0);
  return 0;
}

SEC("syscall")
int loop_primes(void *ctx) {
  __u32 zero = 0;
  struct sieve *s = bpf_map_lookup_elem(&sieve_map, &zero);
  if (!s) return -1;
  prime_count = 0;
  struct sieve_ctx sc = {.s = s};
  int n = bpf_loop(SIEVE_N, sieve_step, &sc, 0);
  return n; // iterations done
}

char LICENSE[] SEC("license") = "GPL";
