// The comparative suite's native baseline: the same algorithms as bpf/workloads.bpf.c (both
// include ../algo.h), built with gcc -O2 by bench/compare.ts and timed in a loop.
//   workloads NAME PACKET_FILE MIN_MS   → prints "ns_per_run retval"
// Each run goes through a volatile function pointer and a compiler barrier on the packet, so
// gcc can neither hoist the work out of the loop nor fold it into a constant, just as a BPF
// program is an opaque call for its runner.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../algo.h"

typedef __u32 (*workload_fn)(const __u8 *d, const __u8 *end);

static __attribute__((noinline)) __u32 w_xdp_pass(const __u8 *d, const __u8 *end) {
  (void)d;
  (void)end;
  return 2; /* XDP_PASS */
}
static __attribute__((noinline)) __u32 w_parse(const __u8 *d, const __u8 *end) { return algo_parse(d, end); }
static __attribute__((noinline)) __u32 w_csum(const __u8 *d, const __u8 *end) { return algo_csum(d, end); }
static __attribute__((noinline)) __u32 w_hash(const __u8 *d, const __u8 *end) { return algo_hash(d, end); }
static __attribute__((noinline)) __u32 w_life(const __u8 *d, const __u8 *end) { return algo_life(d, end); }
static __attribute__((noinline)) __u32 w_sort(const __u8 *d, const __u8 *end) { return algo_sort(d, end); }

/* The hash map: a fixed table like BPF_MAP_TYPE_HASH (max 1024 entries), separate chaining
 * with preallocated elements, a multiplicative hash of the key. */
#define BUCKETS 1024
struct elem {
  struct elem *next;
  __u32 key;
  __u64 value;
};
static struct elem *buckets[BUCKETS];
static struct elem pool[BUCKETS];
static unsigned pool_used;

static __attribute__((noinline)) __u64 *map_lookup(__u32 key) {
  for (struct elem *e = buckets[(key * 0x9e3779b1u) >> 22]; e; e = e->next)
    if (e->key == key) return &e->value;
  return NULL;
}
static __attribute__((noinline)) int map_update(__u32 key, __u64 value) {
  __u64 *v = map_lookup(key);
  if (v) {
    *v = value;
    return 0;
  }
  if (pool_used == BUCKETS) return -1;
  struct elem *e = &pool[pool_used++];
  unsigned b = (key * 0x9e3779b1u) >> 22;
  e->key = key;
  e->value = value;
  e->next = buckets[b];
  buckets[b] = e;
  return 0;
}
static __attribute__((noinline)) __u32 w_hashmap(const __u8 *d, const __u8 *end) {
  (void)d;
  (void)end;
  __u64 sum = 0;
  for (__u32 i = 0; i < MAP_KEYS; i++) {
    __u32 key = i * 16 + 3;
    __u64 *v = map_lookup(key);
    if (!v) {
      map_update(key, (__u64)i * i + 7);
      v = map_lookup(key);
      if (!v) return 0;
    }
    sum += *v;
  }
  return (__u32)sum;
}

/* bpf_loop: a callback through a pointer, LOOP_ITERS times. */
static __attribute__((noinline)) long loop_cb(__u64 index, void *ctx) {
  __u64 *acc = ctx;
  *acc = algo_loop_step(index, *acc);
  return 0;
}
static long (*volatile loop_cb_ptr)(__u64, void *) = loop_cb;
static __attribute__((noinline)) __u32 w_loop(const __u8 *d, const __u8 *end) {
  (void)d;
  (void)end;
  __u64 acc = 0;
  long (*cb)(__u64, void *) = loop_cb_ptr;
  for (__u64 i = 0; i < LOOP_ITERS; i++)
    if (cb(i, &acc)) break;
  return (__u32)(acc ^ (acc >> 32));
}

static const struct {
  const char *name;
  workload_fn fn;
} table[] = {{"xdp_pass", w_xdp_pass}, {"parse", w_parse}, {"csum", w_csum}, {"hash", w_hash},
             {"life", w_life},         {"sort", w_sort},   {"hashmap", w_hashmap}, {"loop", w_loop}};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: workloads NAME PACKET_FILE MIN_MS\n");
    return 2;
  }
  workload_fn fn = NULL;
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (!strcmp(argv[1], table[i].name)) fn = table[i].fn;
  if (!fn) {
    fprintf(stderr, "workloads: unknown workload %s\n", argv[1]);
    return 2;
  }
  static __u8 pkt[4096];
  FILE *f = fopen(argv[2], "rb");
  if (!f) {
    perror(argv[2]);
    return 2;
  }
  size_t len = fread(pkt, 1, sizeof pkt, f);
  fclose(f);
  double min_ns = atof(argv[3]) * 1e6;
  workload_fn volatile call = fn;
  __u32 ret = call(pkt, pkt + len); /* warm-up (and the hash map's first inserts) */
  for (long n = 1;; n *= 2) {
    double t = now_ns();
    for (long i = 0; i < n; i++) {
      __asm__ volatile("" : : "r"(pkt) : "memory");
      ret = call(pkt, pkt + len);
    }
    double dt = now_ns() - t;
    if (dt >= min_ns || n >= (1L << 40)) {
      printf("%.2f %u\n", dt / n, ret);
      return 0;
    }
  }
}
