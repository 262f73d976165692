// Program-local objects: bpf_obj_new() of a struct declared in the program's BTF, its fields
// read and written, bpf_obj_drop(), and such objects stashed in a map value's `__kptr` field
// with bpf_kptr_xchg(). One program per rule; obj-new.test.ts holds what Linux 6.18 answers.
// Rebuild: test/verifier/kptr/build.sh
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define __kptr_ref_tag __attribute__((btf_type_tag("kptr")))

extern void *bpf_obj_new_impl(__u64 local_type_id__k, void *meta__ign) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta__ign) __ksym;
#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)

struct task_struct {
  int pid;
} __attribute__((preserve_access_index));

struct foo {
  int a;
  long b;
};

struct holder {
  struct foo __kptr_ref_tag *f;
  __u64 n;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct holder);
} holders SEC(".maps");

static __always_inline struct holder *holder(void) {
  __u32 k = 0;
  return bpf_map_lookup_elem(&holders, &k);
}

SEC("xdp")
int obj_new_ok(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new(struct foo);
  if (!p) return XDP_ABORTED;
  p->a = 1;
  p->b = 2;
  int r = p->a + p->b;
  bpf_obj_drop(p);
  return r == 3 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int obj_new_zeroed(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new(struct foo);
  if (!p) return XDP_ABORTED;
  int r = p->a == 0 && p->b == 0;
  bpf_obj_drop(p);
  return r ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int obj_new_leak(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new(struct foo);
  if (!p) return XDP_ABORTED;
  p->a = 1;
  return XDP_PASS;
}

SEC("xdp")
int obj_new_no_null_check(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new(struct foo);
  p->a = 1;
  bpf_obj_drop(p);
  return XDP_PASS;
}

SEC("xdp")
int obj_drop_twice(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new(struct foo);
  if (!p) return XDP_ABORTED;
  bpf_obj_drop(p);
  bpf_obj_drop(p);
  return XDP_PASS;
}

SEC("xdp")
int obj_use_after_drop(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new(struct foo);
  if (!p) return XDP_ABORTED;
  bpf_obj_drop(p);
  return p->a ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int obj_drop_task(struct xdp_md *ctx) {
  bpf_obj_drop(bpf_get_current_task_btf());
  return XDP_PASS;
}

SEC("xdp")
int obj_drop_stack(struct xdp_md *ctx) {
  __u64 buf[2] = {};
  bpf_obj_drop(buf);
  return XDP_PASS;
}

SEC("xdp")
int obj_access_beyond(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new(struct foo);
  if (!p) return XDP_ABORTED;
  int r = *(volatile int *)((char *)p + 16);
  bpf_obj_drop(p);
  return r ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int obj_new_not_struct(struct xdp_md *ctx) {
  int *p = bpf_obj_new_impl(bpf_core_type_id_local(int), NULL);
  if (!p) return XDP_ABORTED;
  bpf_obj_drop(p);
  return XDP_PASS;
}

SEC("xdp")
int obj_new_var_id(struct xdp_md *ctx) {
  struct foo *p = bpf_obj_new_impl(ctx->ingress_ifindex, NULL);
  if (!p) return XDP_ABORTED;
  bpf_obj_drop(p);
  return XDP_PASS;
}

SEC("xdp")
int obj_kptr_xchg_ok(struct xdp_md *ctx) {
  struct holder *h = holder();
  if (!h) return XDP_ABORTED;
  struct foo *p = bpf_obj_new(struct foo);
  if (!p) return XDP_ABORTED;
  p->a = 7;
  struct foo *old = bpf_kptr_xchg(&h->f, p);
  if (old) {
    bpf_obj_drop(old);
    return XDP_DROP;
  }
  return XDP_PASS;
}

SEC("xdp")
int obj_kptr_take_ok(struct xdp_md *ctx) {
  struct holder *h = holder();
  if (!h) return XDP_ABORTED;
  struct foo *old = bpf_kptr_xchg(&h->f, NULL);
  if (!old) return XDP_DROP;
  int a = old->a;
  bpf_obj_drop(old);
  return a == 7 ? XDP_PASS : XDP_TX;
}

SEC("xdp")
int obj_kptr_load(struct xdp_md *ctx) {
  struct holder *h = holder();
  if (!h) return XDP_ABORTED;
  struct foo *f = h->f;
  if (!f) return XDP_DROP;
  return f->a == 7 ? XDP_PASS : XDP_TX;
}

SEC("xdp")
int obj_kptr_load_write(struct xdp_md *ctx) {
  struct holder *h = holder();
  if (!h) return XDP_ABORTED;
  struct foo *f = h->f;
  if (!f) return XDP_DROP;
  f->a = 8;
  return XDP_PASS;
}

SEC("xdp")
int obj_kptr_xchg_task(struct xdp_md *ctx) {
  struct holder *h = holder();
  if (!h) return XDP_ABORTED;
  struct task_struct *t = bpf_get_current_task_btf();
  if (!t->pid) return XDP_DROP; // a CO-RE access puts task_struct in the program's BTF
  struct foo *old = bpf_kptr_xchg(&h->f, t);
  if (old) bpf_obj_drop(old);
  return XDP_PASS;
}
