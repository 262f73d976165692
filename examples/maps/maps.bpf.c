// One of each common map kind, declared as BTF-defined maps in ".maps", and
// two programs that use them:
//   maps_selftest (xdp)      a fixed sequence of operations on every map, so
//                            that the final contents are known in advance
//                            (see the expected values in the comments); run
//                            it with BPF_PROG_TEST_RUN.  Not SEC("syscall"):
//                            syscall programs are sleepable, and Linux 6.18
//                            refuses a bloom filter map in a sleepable
//                            program.
//   maps_xdp      (xdp)      per-packet bookkeeping keyed by packet length
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 128);
  __type(key, __u32);
  __type(value, __u64);
} hash_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 64);
  __type(key, __u64);
  __type(value, __u32);
} lru_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u64);
} percpu_hash_map SEC(".maps");

struct pair {
  __u32 a;
  __u32 b;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct pair);
} array_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} percpu_array_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} ringbuf SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 16);
  __type(value, __u32);
} queue SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK);
  __uint(max_entries, 16);
  __type(value, __u32);
} stack SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
  __uint(max_entries, 100);
  __uint(map_extra, 3); // number of hash functions
  __type(value, __u32);
} bloom SEC(".maps");

struct event {
  __u32 kind; // 1 = reserve/submit, 2 = output
  __u32 value;
  __u64 sum;
};

SEC("xdp")
int maps_selftest(struct xdp_md *ctx) {
  __u32 k;
  __u64 v;

  // hash: keys 1..3 -> 10, 20, 30; then key 2 deleted and key 3 += 5.
  for (__u32 i = 1; i <= 3; i++) {
    k = i;
    v = i * 10;
    bpf_map_update_elem(&hash_map, &k, &v, BPF_NOEXIST);
  }
  k = 2;
  bpf_map_delete_elem(&hash_map, &k);
  k = 3;
  __u64 *p = bpf_map_lookup_elem(&hash_map, &k);
  if (p) *p += 5; // hash_map[3] = 35

  // lru_hash: 64-bit keys.
  __u64 lk = 0x1122334455667788ULL;
  __u32 lv = 7;
  bpf_map_update_elem(&lru_map, &lk, &lv, BPF_ANY);

  // percpu_hash: this CPU's slot only.
  k = 9;
  v = 99;
  bpf_map_update_elem(&percpu_hash_map, &k, &v, BPF_ANY);

  // array: element i = {i, i*i} for i < 8.
  // The counter lives in a register; only its copy k goes through the stack
  // (a key passed by pointer), so the verifier can track the bound.
  for (__u32 i = 0; i < 8; i++) {
    k = i;
    struct pair *pr = bpf_map_lookup_elem(&array_map, &k);
    if (!pr) return XDP_ABORTED;
    pr->a = i;
    pr->b = i * i;
  }

  // percpu_array: slot 1 of this CPU += 3.
  k = 1;
  p = bpf_map_lookup_elem(&percpu_array_map, &k);
  if (p) *p += 3;

  // queue (FIFO) and stack (LIFO): push 1,2,3, pop one from each.
  __u32 x, popped_q = 0, popped_s = 0;
  for (__u32 i = 1; i <= 3; i++) {
    x = i;
    bpf_map_push_elem(&queue, &x, BPF_ANY);
    bpf_map_push_elem(&stack, &x, BPF_ANY);
  }
  bpf_map_pop_elem(&queue, &popped_q);  // 1
  bpf_map_pop_elem(&stack, &popped_s);  // 3
  __u32 peek = 0;
  bpf_map_peek_elem(&queue, &peek);     // 2

  // bloom filter: 42 added, so it is found; 43 is (almost surely) not.
  x = 42;
  bpf_map_push_elem(&bloom, &x, BPF_ANY);
  int has42 = bpf_map_peek_elem(&bloom, &x) == 0;

  // ring buffer: one record by reserve/submit, one by output.
  struct event *e = bpf_ringbuf_reserve(&ringbuf, sizeof(*e), 0);
  if (e) {
    e->kind = 1;
    e->value = popped_q * 100 + popped_s * 10 + peek; // 132
    e->sum = has42;
    bpf_ringbuf_submit(e, 0);
  }
  struct event out = {.kind = 2, .value = popped_s, .sum = 35};
  bpf_ringbuf_output(&ringbuf, &out, sizeof(out), 0);
  return XDP_PASS;
}

SEC("xdp")
int maps_xdp(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  __u32 bucket = len >> 6; // 64-byte buckets
  __u64 one = 1;
  __u64 *n = bpf_map_lookup_elem(&hash_map, &bucket);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&hash_map, &bucket, &one, BPF_NOEXIST);

  __u32 slot = bucket & 3;
  __u64 *pc = bpf_map_lookup_elem(&percpu_array_map, &slot);
  if (pc) *pc += len;

  __u64 lkey = ((__u64)ctx->ingress_ifindex << 32) | ctx->rx_queue_index;
  __u32 *seen = bpf_map_lookup_elem(&lru_map, &lkey);
  if (seen)
    (*seen)++;
  else
    bpf_map_update_elem(&lru_map, &lkey, &one, BPF_ANY);

  if (bpf_map_peek_elem(&bloom, &len) == 0) bpf_map_push_elem(&queue, &len, BPF_EXIST);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
