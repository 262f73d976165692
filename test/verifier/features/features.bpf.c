// Programs for the verifier features the examples need (maps of maps, spin locks, global
// functions, iterator contexts, BTF-typed pointers), each accepted or refused by Linux for one
// reason. features.test.ts checks tsbpf's verdict and message against the kernel's (kobj).
// Rebuild: test/verifier/features/build.sh
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
};
struct inner inner0 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps") = {.values = {[0] = &inner0}};

struct locked {
  struct bpf_spin_lock lock;
  __u32 n;
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct locked);
} locks SEC(".maps");

// map of maps: the looked-up inner map, null-checked, is a map pointer for the next lookup
SEC("xdp")
int mim_ok(struct xdp_md *ctx) {
  __u32 k = 0;
  void *in = bpf_map_lookup_elem(&outer, &k);
  if (!in) return XDP_PASS;
  __u64 *v = bpf_map_lookup_elem(in, &k);
  if (v) *v += 1;
  return XDP_PASS;
}

// the outer lookup may fail: passing its result on unchecked is refused
SEC("xdp")
int mim_no_null_check(struct xdp_md *ctx) {
  __u32 k = 0;
  void *in = bpf_map_lookup_elem(&outer, &k);
  __u64 *v = bpf_map_lookup_elem(in, &k);
  if (v) *v += 1;
  return XDP_PASS;
}

// programs may only look maps of maps up
SEC("xdp")
int mim_update_outer(struct xdp_md *ctx) {
  __u32 k = 0;
  __u32 fd = 0;
  bpf_map_update_elem(&outer, &k, &fd, BPF_ANY);
  return XDP_PASS;
}

SEC("tc")
int lock_ok(struct __sk_buff *skb) {
  __u32 k = 0;
  struct locked *l = bpf_map_lookup_elem(&locks, &k);
  if (!l) return 0;
  bpf_spin_lock(&l->lock);
  l->n++;
  bpf_spin_unlock(&l->lock);
  return 0;
}

SEC("tc")
int lock_twice(struct __sk_buff *skb) {
  __u32 k = 0, k1 = 1;
  struct locked *a = bpf_map_lookup_elem(&locks, &k);
  struct locked *b = bpf_map_lookup_elem(&locks, &k1);
  if (!a || !b) return 0;
  bpf_spin_lock(&a->lock);
  bpf_spin_lock(&b->lock);
  bpf_spin_unlock(&b->lock);
  bpf_spin_unlock(&a->lock);
  return 0;
}

SEC("tc")
int lock_call_inside(struct __sk_buff *skb) {
  __u32 k = 0;
  struct locked *l = bpf_map_lookup_elem(&locks, &k);
  if (!l) return 0;
  bpf_spin_lock(&l->lock);
  l->n = bpf_get_prandom_u32();
  bpf_spin_unlock(&l->lock);
  return 0;
}

SEC("tc")
int unlock_without_lock(struct __sk_buff *skb) {
  __u32 k = 0;
  struct locked *l = bpf_map_lookup_elem(&locks, &k);
  if (!l) return 0;
  bpf_spin_unlock(&l->lock);
  return 0;
}

SEC("tc")
int unlock_other_lock(struct __sk_buff *skb) {
  __u32 k = 0, k1 = 1;
  struct locked *a = bpf_map_lookup_elem(&locks, &k);
  struct locked *b = bpf_map_lookup_elem(&locks, &k1);
  if (!a || !b) return 0;
  bpf_spin_lock(&a->lock);
  bpf_spin_unlock(&b->lock);
  return 0;
}

SEC("tc")
int lock_wrong_offset(struct __sk_buff *skb) {
  __u32 k = 0;
  struct locked *l = bpf_map_lookup_elem(&locks, &k);
  if (!l) return 0;
  bpf_spin_lock((struct bpf_spin_lock *)&l->n);
  bpf_spin_unlock(&l->lock);
  return 0;
}

// iterators: ctx layouts of iter/bpf_map_elem and iter/task, bpf_seq_* only in iterators
struct seq_file;
struct bpf_map;
struct bpf_iter_meta {
  struct seq_file *seq;
  __u64 session_id;
  __u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map_elem {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
  void *key;
  void *value;
} __attribute__((preserve_access_index));

struct task_struct {
  int pid;
  int tgid;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
  struct bpf_iter_meta *meta;
  struct task_struct *task;
} __attribute__((preserve_access_index));

SEC("iter/bpf_map_elem")
int iter_elem_ok(struct bpf_iter__bpf_map_elem *ctx) {
  __u32 *key = ctx->key;
  __u64 *val = ctx->value;
  if (!key || !val) return 0;
  *val += *key; // the value is writable in place
  bpf_seq_write(ctx->meta->seq, key, 4);
  return 0;
}

SEC("iter/bpf_map_elem")
int iter_key_no_null_check(struct bpf_iter__bpf_map_elem *ctx) {
  __u32 *key = ctx->key;
  return *key & 1;
}

SEC("iter/bpf_map_elem")
int iter_write_key(struct bpf_iter__bpf_map_elem *ctx) {
  __u32 *key = ctx->key;
  if (!key) return 0;
  *key = 1;
  return 0;
}

SEC("iter/task")
int iter_task_ok(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  if (!t) return 0;
  __u64 pid = t->pid;
  bpf_seq_write(ctx->meta->seq, &pid, sizeof(pid));
  return 0;
}

SEC("iter/task")
int iter_task_no_null_check(struct bpf_iter__task *ctx) {
  return ctx->task->tgid & 1;
}

SEC("iter/task")
int iter_task_write(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  if (!t) return 0;
  t->pid = 1;
  return 0;
}

SEC("xdp")
int seq_write_in_xdp(struct xdp_md *ctx) {
  bpf_seq_write((struct seq_file *)0, "x", 1);
  return XDP_PASS;
}

SEC("iter/bpf_map_elem")
int iter_seq_write_null_seq(struct bpf_iter__bpf_map_elem *ctx) {
  bpf_seq_write((struct seq_file *)0, "x", 1);
  return 0;
}

// global functions: verified once against their BTF signature; callers see only the signature
struct pair {
  __u32 a;
  __u32 b;
};

__noinline int g_sum(struct pair *p) {
  if (!p) return 0;
  return p->a + p->b;
}

__noinline int g_len(struct xdp_md *ctx) { return ctx->data_end - ctx->data; }

__noinline int g_twice(int x) { return 2 * x; }

__noinline int g_five(void) { return 5; }

__noinline int g_no_null_check(struct pair *p) { return p->a; }

__noinline int g_void_ptr(void *p) { return p != 0; }

__noinline int g_adjust(struct xdp_md *ctx) { return bpf_xdp_adjust_head(ctx, 0); }

SEC("xdp")
int glob_ok(struct xdp_md *ctx) {
  struct pair p = {1, 2};
  return (g_sum(&p) + g_len(ctx) + g_twice(3)) & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int glob_callee_no_null_check(struct xdp_md *ctx) {
  struct pair p = {1, 2};
  return g_no_null_check(&p) & 1;
}

SEC("xdp")
int glob_ret_unknown(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&inner0, &k);
  if (!v) return XDP_PASS;
  int i = g_five(); // 5 here, but the caller only knows "a scalar"
  return ((char *)v)[i];
}

SEC("xdp")
int glob_small_buf(struct xdp_md *ctx) {
  __u32 small = 1;
  return g_sum((struct pair *)&small) & 1;
}

SEC("xdp")
int glob_ctx_expected(struct xdp_md *ctx) {
  struct pair p = {1, 2};
  return g_len((struct xdp_md *)&p) & 1;
}

SEC("xdp")
int glob_scalar_expected(struct xdp_md *ctx) {
  return g_twice((long)ctx) & 1;
}

SEC("xdp")
int glob_void_ptr_arg(struct xdp_md *ctx) {
  return g_void_ptr(ctx);
}

SEC("xdp")
int glob_null_arg(struct xdp_md *ctx) {
  return g_sum((struct pair *)0) & 1;
}

SEC("tc")
int glob_in_lock(struct __sk_buff *skb) {
  __u32 k = 0;
  struct locked *l = bpf_map_lookup_elem(&locks, &k);
  if (!l) return 0;
  bpf_spin_lock(&l->lock);
  l->n = g_twice(l->n);
  bpf_spin_unlock(&l->lock);
  return 0;
}

SEC("xdp")
int glob_pkt_stale(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 1 > end) return XDP_PASS;
  g_adjust(ctx);
  return *(__u8 *)data;
}
