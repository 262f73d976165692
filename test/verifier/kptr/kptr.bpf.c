// Kfunc arguments checked as the kernel checks them (check_kfunc_args(): KF_ACQUIRE, KF_RELEASE,
// KF_RET_NULL, KF_RCU, trusted arguments) and referenced kptrs in map values (`__kptr`,
// `__kptr_untrusted`, bpf_kptr_xchg). One program per rule; kptr.test.ts holds what Linux 6.18
// answers for each (verdict, message, processed instructions) and checks tsbpf against it, and
// against the kernel itself where bpf() is there.
// Rebuild: test/verifier/kptr/build.sh
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// 6.18's tags (this libbpf's bpf_helpers.h predates kptr_untrusted)
#define __kptr_ref_tag __attribute__((btf_type_tag("kptr")))
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))

// relocated against vmlinux (CO-RE)
struct task_struct {
  int pid;
  int tgid;
} __attribute__((preserve_access_index));

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
                              __u32 buffer__szk) __ksym;
extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz, const void *unsafe_ptr__ign, __u64 flags) __ksym;

struct map_val {
  struct task_struct __kptr_ref_tag *task;
  struct task_struct __kptr_untrusted *utask;
  __u64 cnt;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct map_val);
} kptrs SEC(".maps");

static __always_inline struct map_val *val(void) {
  __u32 k = 0;
  return bpf_map_lookup_elem(&kptrs, &k);
}

static __always_inline __s32 my_tgid(void) { return bpf_get_current_pid_tgid() >> 32; }

// ---- kfunc arguments (step 1) ----

SEC("xdp")
int kf_acquire_release_ok(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  int ok = a->tgid == my_tgid();
  bpf_task_release(a);
  return ok ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_from_pid_ok(struct xdp_md *ctx) {
  struct task_struct *t = bpf_task_from_pid(my_tgid());
  if (!t) return XDP_ABORTED;
  int ok = t->pid == my_tgid();
  bpf_task_release(t);
  return ok ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_from_pid_missing(struct xdp_md *ctx) {
  struct task_struct *t = bpf_task_from_pid(-5);
  if (!t) return XDP_PASS;
  bpf_task_release(t);
  return XDP_DROP;
}

SEC("xdp")
int kf_release_no_null_check(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kf_acquire_leak(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  return a->pid ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_release_unreferenced(struct xdp_md *ctx) {
  bpf_task_release(bpf_get_current_task_btf());
  return XDP_PASS;
}

SEC("xdp")
int kf_acquire_scalar(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire((struct task_struct *)(long)ctx->ingress_ifindex);
  if (a) bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kf_acquire_null(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire((struct task_struct *)0);
  if (a) bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kf_acquire_ctx(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire((struct task_struct *)ctx);
  if (a) bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kf_acquire_stack(struct xdp_md *ctx) {
  __u64 buf[4] = {};
  struct task_struct *a = bpf_task_acquire((struct task_struct *)buf);
  if (a) bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kf_release_twice(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  bpf_task_release(a);
  bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kf_use_after_release(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  bpf_task_release(a);
  return a->pid ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_release_offset(struct xdp_md *ctx) {
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  bpf_task_release((struct task_struct *)((char *)a + 8));
  return XDP_PASS;
}

SEC("socket")
int kf_task_in_socket_filter(struct __sk_buff *skb) {
  struct task_struct *t = bpf_task_from_pid(1);
  if (t) bpf_task_release(t);
  return 0;
}

SEC("xdp")
int kf_dynptr_size_stack(struct xdp_md *ctx) {
  __u64 buf[2] = {};
  return bpf_dynptr_size((struct bpf_dynptr *)buf) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_dynptr_size_ctx(struct xdp_md *ctx) {
  return bpf_dynptr_size((struct bpf_dynptr *)ctx) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_from_xdp_not_ctx(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u64 buf[4] = {};
  bpf_dynptr_from_xdp((struct xdp_md *)buf, 0, &ptr);
  return bpf_dynptr_size(&ptr) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_from_xdp_flags_ptr(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  bpf_dynptr_from_xdp(ctx, (__u64)(long)ctx, &ptr);
  return bpf_dynptr_size(&ptr) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kf_slice_size_unknown(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[16];
  bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u32 n = bpf_dynptr_size(&ptr) & 15;
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, n);
  return p ? XDP_PASS : XDP_DROP;
}

struct args {
  __u64 buf;
};

SEC("syscall")
int kf_copy_str_scalar_dst(struct args *a) {
  return bpf_copy_from_user_str((void *)a->buf, 8, (void *)a->buf, 0);
}

SEC("syscall")
int kf_copy_str_short_stack(struct args *a) {
  char buf[8];
  int n = bpf_copy_from_user_str(buf, 16, (void *)a->buf, 0);
  return n + buf[0];
}

// ---- kptrs in map values (step 2) ----

SEC("xdp")
int kptr_xchg_ok(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *a = bpf_task_from_pid(my_tgid());
  if (!a) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&v->task, a);
  if (old) {
    bpf_task_release(old);
    return XDP_DROP;
  }
  return XDP_PASS;
}

SEC("xdp")
int kptr_xchg_null_ok(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&v->task, NULL);
  if (!old) return XDP_DROP;
  bpf_task_release(old);
  return XDP_PASS;
}

SEC("xdp")
int kptr_xchg_leak_old(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&v->task, a);
  return old ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int kptr_load_rcu_ok(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *t = v->task;
  if (!t) return XDP_DROP;
  return t->pid == my_tgid() ? XDP_PASS : XDP_TX;
}

SEC("xdp")
int kptr_load_acquire_ok(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *t = v->task;
  if (!t) return XDP_DROP;
  struct task_struct *a = bpf_task_acquire(t);
  if (!a) return XDP_ABORTED;
  bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kptr_load_no_null_check(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  return v->task->pid ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kptr_release_loaded(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *t = v->task;
  if (t) bpf_task_release(t);
  return XDP_PASS;
}

SEC("xdp")
int kptr_store_direct(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  v->task = bpf_get_current_task_btf();
  return XDP_PASS;
}

SEC("xdp")
int kptr_store_null_direct(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  v->task = 0;
  return XDP_PASS;
}

SEC("xdp")
int kptr_store_untrusted_ok(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  v->utask = bpf_get_current_task_btf();
  v->utask = 0;
  return XDP_PASS;
}

SEC("xdp")
int kptr_store_untrusted_scalar(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  v->utask = (struct task_struct *)(long)ctx->ingress_ifindex;
  return XDP_PASS;
}

SEC("xdp")
int kptr_store_untrusted_ctx(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  v->utask = (struct task_struct *)ctx;
  return XDP_PASS;
}

SEC("xdp")
int kptr_untrusted_load_ok(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *t = v->utask;
  if (!t) return XDP_DROP;
  return t->pid ? XDP_PASS : XDP_TX;
}

SEC("xdp")
int kptr_untrusted_acquire(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *t = v->utask;
  if (!t) return XDP_DROP;
  struct task_struct *a = bpf_task_acquire(t);
  if (a) bpf_task_release(a);
  return XDP_PASS;
}

SEC("xdp")
int kptr_xchg_untrusted_field(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&v->utask, a);
  if (old) bpf_task_release(old);
  return XDP_PASS;
}

SEC("xdp")
int kptr_xchg_not_kptr(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&v->cnt, a);
  if (old) bpf_task_release(old);
  return XDP_PASS;
}

SEC("xdp")
int kptr_xchg_unreferenced(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&v->task, bpf_get_current_task_btf());
  if (old) bpf_task_release(old);
  return XDP_PASS;
}

SEC("xdp")
int kptr_xchg_stack_dest(struct xdp_md *ctx) {
  struct task_struct *slot = 0;
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&slot, a);
  if (old) bpf_task_release(old);
  return XDP_PASS;
}

SEC("xdp")
int kptr_use_after_xchg(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  struct task_struct *a = bpf_task_acquire(bpf_get_current_task_btf());
  if (!a) return XDP_ABORTED;
  struct task_struct *old = bpf_kptr_xchg(&v->task, a);
  if (old) bpf_task_release(old);
  return a->pid ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kptr_access_size4(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  return *(volatile __u32 *)&v->task ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kptr_access_misaligned(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  return *(volatile __u32 *)((char *)&v->task + 4) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int kptr_helper_indirect(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  __u32 k = 0;
  bpf_map_update_elem(&kptrs, &k, v, BPF_ANY);
  return XDP_PASS;
}

SEC("xdp")
int kptr_cnt_ok(struct xdp_md *ctx) {
  struct map_val *v = val();
  if (!v) return XDP_ABORTED;
  v->cnt++;
  return XDP_PASS;
}

SEC("syscall")
int kptr_sleepable_no_rcu(struct args *args) {
  struct map_val *v = val();
  if (!v) return 1;
  struct task_struct *t = v->task;
  if (!t) return 2;
  struct task_struct *a = bpf_task_acquire(t);
  if (a) bpf_task_release(a);
  return 0;
}

SEC("syscall")
int kptr_sleepable_rcu_ok(struct args *args) {
  struct map_val *v = val();
  if (!v) return 1;
  bpf_rcu_read_lock();
  struct task_struct *t = v->task;
  struct task_struct *a = t ? bpf_task_acquire(t) : 0;
  bpf_rcu_read_unlock();
  if (!a) return 2;
  bpf_task_release(a);
  return 0;
}
