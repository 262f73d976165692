// The workloads' algorithms, shared word for word by the eBPF programs (bpf/workloads.bpf.c)
// and the native C baseline (native/workloads.c), so both sides time the same code.
// Every packet read is bounds-checked against `end` (the verifier requires it; natively it is
// a compare the CPU predicts).
#ifndef TSBPF_BENCH_ALGO_H
#define TSBPF_BENCH_ALGO_H
#include <linux/types.h>

#define ALGO static __attribute__((always_inline)) inline

/* Packet layout the generator writes: Ethernet, IPv4 (20 bytes), UDP, payload. */
#define PAYLOAD_OFF 42
#define LIFE_N 32
#define SORT_N 64
#define HASH_WORDS 256
#define CSUM_WORDS 750
#define MAP_KEYS 64
#define LOOP_ITERS 1000000

/* Header parsing: Ethernet → IPv4 (any IHL) → UDP; returns a digest of the 5-tuple. */
ALGO __u32 algo_parse(const __u8 *d, const __u8 *end) {
  if (d + 34 > end) return 1;
  if (d[12] != 0x08 || d[13] != 0x00) return 1;
  const __u8 *ip = d + 14;
  if ((ip[0] >> 4) != 4) return 1;
  __u32 ihl = (ip[0] & 15) * 4;
  if (ihl < 20) return 1;
  if (ip[9] != 17) return 1;
  const __u8 *l4 = ip + ihl;
  if (l4 + 8 > end) return 1;
  __u32 saddr = ((__u32)ip[12] << 24) | ((__u32)ip[13] << 16) | ((__u32)ip[14] << 8) | ip[15];
  __u32 daddr = ((__u32)ip[16] << 24) | ((__u32)ip[17] << 16) | ((__u32)ip[18] << 8) | ip[19];
  __u32 ports = ((__u32)l4[0] << 24) | ((__u32)l4[1] << 16) | ((__u32)l4[2] << 8) | l4[3];
  __u32 h = saddr * 0x9e3779b1u;
  h ^= daddr + 0x7f4a7c15u + (h << 6) + (h >> 2);
  h ^= ports + 0x7f4a7c15u + (h << 6) + (h >> 2);
  return h ^ ip[9];
}

/* RFC 1071 Internet checksum over the whole 1500-byte frame, 16 bits at a time. */
ALGO __u32 algo_csum(const __u8 *d, const __u8 *end) {
  __u64 sum = 0;
  for (int i = 0; i < CSUM_WORDS; i++) {
    const __u8 *p = d + 2 * i;
    if (p + 2 > end) break;
    sum += ((__u32)p[0] << 8) | p[1];
  }
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u32)(~sum & 0xffff);
}

/* MurmurHash3 (x86_32) over 1 KiB of payload, read as little-endian 32-bit words. */
ALGO __u32 algo_hash(const __u8 *d, const __u8 *end) {
  __u32 h = 0x12345678u;
  const __u8 *w = d + PAYLOAD_OFF;
  if (w + 4 * HASH_WORDS > end) return 0;
  for (int i = 0; i < HASH_WORDS; i++) {
    const __u8 *p = w + 4 * i;
    __u32 k = (__u32)p[0] | ((__u32)p[1] << 8) | ((__u32)p[2] << 16) | ((__u32)p[3] << 24);
    k *= 0xcc9e2d51u;
    k = (k << 15) | (k >> 17);
    k *= 0x1b873593u;
    h ^= k;
    h = (h << 13) | (h >> 19);
    h = h * 5 + 0xe6546b64u;
  }
  h ^= HASH_WORDS * 4;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* One Game of Life generation on a 32×32 torus, one bit per cell (row y = payload word y);
 * returns a digest of the new board. */
ALGO __u32 algo_life(const __u8 *d, const __u8 *end) {
  __u32 rows[LIFE_N];
  __u32 next[LIFE_N];
  const __u8 *p = d + PAYLOAD_OFF;
  if (p + 4 * LIFE_N > end) return 0;
  for (int y = 0; y < LIFE_N; y++)
    rows[y] = (__u32)p[4 * y] | ((__u32)p[4 * y + 1] << 8) | ((__u32)p[4 * y + 2] << 16) |
              ((__u32)p[4 * y + 3] << 24);
  for (int y = 0; y < LIFE_N; y++) {
    __u32 up = rows[(y + LIFE_N - 1) & (LIFE_N - 1)];
    __u32 mid = rows[y];
    __u32 down = rows[(y + 1) & (LIFE_N - 1)];
    __u32 out = 0;
    for (int x = 0; x < LIFE_N; x++) {
      int l = (x + LIFE_N - 1) & (LIFE_N - 1);
      int r = (x + 1) & (LIFE_N - 1);
      __u32 n = ((up >> l) & 1) + ((up >> x) & 1) + ((up >> r) & 1) + ((mid >> l) & 1) +
                ((mid >> r) & 1) + ((down >> l) & 1) + ((down >> x) & 1) + ((down >> r) & 1);
      __u32 alive = (mid >> x) & 1;
      if (n == 3 || (alive && n == 2)) out |= 1u << x;
    }
    next[y] = out;
  }
  __u32 h = 0;
  for (int y = 0; y < LIFE_N; y++) h = (h ^ next[y]) * 0x01000193u;
  return h;
}

/* Bubble sort of 64 payload words in a stack array; returns a digest of the sorted order.
 * The compare-exchange is branch-free (a branch per pair would make the verifier walk every
 * path: 2^2016 of them). */
ALGO __u32 algo_sort(const __u8 *d, const __u8 *end) {
  __u32 v[SORT_N];
  const __u8 *p = d + PAYLOAD_OFF;
  if (p + 4 * SORT_N > end) return 0;
  for (int i = 0; i < SORT_N; i++)
    v[i] = (__u32)p[4 * i] | ((__u32)p[4 * i + 1] << 8) | ((__u32)p[4 * i + 2] << 16) |
           ((__u32)p[4 * i + 3] << 24);
  for (int i = 0; i < SORT_N - 1; i++)
    for (int j = 0; j < SORT_N - 1 - i; j++) {
      __u32 a = v[j], b = v[j + 1];
      __u32 swap = (__u32)(((__u64)b - (__u64)a) >> 32); /* all ones when a > b */
      __u32 x = (a ^ b) & swap;
      v[j] = a ^ x;
      v[j + 1] = b ^ x;
    }
  __u32 h = 0;
  for (int i = 0; i < SORT_N; i++) h = (h ^ v[i]) * 0x01000193u;
  return h;
}

/* The bpf_loop callback's body: a 1M-step recurrence the compiler cannot close-form. */
ALGO __u64 algo_loop_step(__u64 index, __u64 acc) { return (acc ^ index) * 0x100000001b3ull + 1; }

#endif
