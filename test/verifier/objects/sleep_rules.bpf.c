// SPDX-License-Identifier: GPL-2.0
// Where a program may sleep, one program per rule: sleepable helpers and kfuncs inside
// bpf_loop / for_each_map_elem / timer callbacks, and bpf_rcu_read_lock() sections. Each
// program's name says what the kernel (6.18) answers; test/verifier/sleep-rules.test.ts
// checks tsbpf's verifier and, where bpf() is there, the kernel against the same table.
// Rebuild (clang-19, libbpf-dev):
//   clang-19 -target bpf -O2 -g -Wall -std=gnu11 -I/usr/include/$(uname -m)-linux-gnu \
//     -c sleep_rules.bpf.c -o sleep_rules.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz, const void *unsafe_ptr__ign, __u64 flags) __ksym;

struct args {
	__u64 buf; /* user pointer */
	__u32 len;
	__u32 out;
};

struct elem {
	struct bpf_timer t;
	__u64 ptr;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct elem);
} tmap SEC(".maps");

struct sum_ctx {
	__u64 ptr;
	__u64 sum;
};

/* ---- sleeping inside callbacks ---- */

static int loop_cb(__u32 i, struct sum_ctx *c)
{
	__u8 b = 0;

	if (bpf_copy_from_user(&b, 1, (void *)(c->ptr + i)))
		return 1;
	c->sum += b;
	return 0;
}

SEC("syscall")
int accept_sleep_in_loop(struct args *a)
{
	struct sum_ctx c = { .ptr = a->buf, .sum = 0 };

	bpf_loop(a->len & 15, loop_cb, &c, 0);
	a->out = c.sum;
	return 0;
}

static __u64 each_cb(void *map, __u32 *key, __u64 *val, struct sum_ctx *c)
{
	__u8 b = 0;

	bpf_copy_from_user(&b, 1, (void *)(c->ptr + *key));
	c->sum += b;
	return 0;
}

SEC("syscall")
int accept_sleep_in_for_each(struct args *a)
{
	struct sum_ctx c = { .ptr = a->buf, .sum = 0 };

	bpf_for_each_map_elem(&arr, each_cb, &c, 0);
	a->out = c.sum;
	return 0;
}

/* a callback two frames deep, and a callback inside a callback, both sleeping */
static __attribute__((noinline)) __u64 mix(__u64 ptr, __u32 i, __u64 salt)
{
	__u8 b[2] = { 0, 0 };
	__u64 keep = salt * 31 + i; /* lives across the sleep in a callee-saved register */

	if (bpf_copy_from_user(b, 2, (void *)(ptr + i)))
		return 0;
	return keep ^ ((__u64)b[0] << 8 | b[1]);
}

static int deep_cb(__u32 i, struct sum_ctx *c)
{
	__u64 before = c->sum;

	c->sum = before * 3 + mix(c->ptr, i, before);
	return 0;
}

SEC("syscall")
int accept_sleep_deep_in_loop(struct args *a)
{
	struct sum_ctx c = { .ptr = a->buf, .sum = 7 };

	bpf_loop(a->len & 15, deep_cb, &c, 0);
	a->out = c.sum ^ (c.sum >> 32);
	return c.sum & 0xff;
}

static int inner_cb(__u32 j, struct sum_ctx *c)
{
	__u8 b = 0;

	bpf_copy_from_user(&b, 1, (void *)(c->ptr + j));
	c->sum = c->sum * 5 + b;
	return b == 0xff; /* stops the inner loop early */
}

static int outer_cb(__u32 i, struct sum_ctx *c)
{
	struct sum_ctx in = { .ptr = c->ptr + i, .sum = i };

	bpf_loop(3, inner_cb, &in, 0);
	c->sum = c->sum * 7 + in.sum;
	return 0;
}

SEC("syscall")
int accept_sleep_in_nested_loops(struct args *a)
{
	struct sum_ctx c = { .ptr = a->buf, .sum = 1 };

	bpf_loop(a->len & 7, outer_cb, &c, 0);
	a->out = c.sum ^ (c.sum >> 32);
	return 0;
}

static int timer_cb(void *map, __u32 *key, struct elem *e)
{
	__u8 b = 0;

	bpf_copy_from_user(&b, 1, (void *)e->ptr);
	return 0;
}

SEC("syscall")
int reject_sleep_in_timer_cb(struct args *a)
{
	__u32 k = 0;
	struct elem *e = bpf_map_lookup_elem(&tmap, &k);

	if (!e)
		return 0;
	bpf_timer_init(&e->t, &tmap, 1);
	bpf_timer_set_callback(&e->t, timer_cb);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int reject_sleepable_kfunc_in_tp(void *ctx)
{
	char b[8];

	return bpf_copy_from_user_str(b, sizeof(b), (void *)0, 0);
}

SEC("syscall")
int accept_sleepable_kfunc(struct args *a)
{
	char b[8];

	return bpf_copy_from_user_str(b, sizeof(b), (void *)a->buf, 0);
}

/* ---- RCU read sections ---- */

SEC("syscall")
int accept_rcu(struct args *a)
{
	bpf_rcu_read_lock();
	a->out = 1;
	bpf_rcu_read_unlock();
	return 0;
}

SEC("syscall")
int reject_helper_sleeps_in_rcu(struct args *a)
{
	__u8 b = 0;

	bpf_rcu_read_lock();
	bpf_copy_from_user(&b, 1, (void *)a->buf);
	bpf_rcu_read_unlock();
	return b;
}

SEC("syscall")
int reject_kfunc_sleeps_in_rcu(struct args *a)
{
	char b[8];

	bpf_rcu_read_lock();
	bpf_copy_from_user_str(b, sizeof(b), (void *)a->buf, 0);
	bpf_rcu_read_unlock();
	return b[0];
}

SEC("syscall")
int reject_rcu_nested(struct args *a)
{
	bpf_rcu_read_lock();
	bpf_rcu_read_lock();
	a->out = 1;
	bpf_rcu_read_unlock();
	bpf_rcu_read_unlock();
	return 0;
}

SEC("syscall")
int reject_rcu_unmatched(struct args *a)
{
	bpf_rcu_read_unlock();
	return 0;
}

SEC("syscall")
int reject_rcu_unlock_twice(struct args *a)
{
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	bpf_rcu_read_unlock();
	return 0;
}

SEC("syscall")
int reject_rcu_left_open(struct args *a)
{
	bpf_rcu_read_lock();
	return 0;
}

SEC("syscall")
int reject_loop_sleeps_in_rcu(struct args *a)
{
	struct sum_ctx c = { .ptr = a->buf, .sum = 0 };

	bpf_rcu_read_lock();
	bpf_loop(4, loop_cb, &c, 0);
	bpf_rcu_read_unlock();
	return c.sum;
}

static int rcu_cb(__u32 i, struct sum_ctx *c)
{
	bpf_rcu_read_lock();
	c->sum++;
	bpf_rcu_read_unlock();
	return 0;
}

SEC("syscall")
int accept_rcu_in_loop_cb(struct args *a)
{
	struct sum_ctx c = { .ptr = 0, .sum = 0 };

	bpf_loop(4, rcu_cb, &c, 0);
	return c.sum;
}

static int open_cb(__u32 i, struct sum_ctx *c)
{
	bpf_rcu_read_lock();
	c->sum++;
	return 0;
}

SEC("syscall")
int reject_rcu_open_in_loop_cb(struct args *a)
{
	struct sum_ctx c = { .ptr = 0, .sum = 0 };

	bpf_loop(4, open_cb, &c, 0);
	return c.sum;
}

static __attribute__((noinline)) int lock_in_static(struct args *a)
{
	bpf_rcu_read_lock();
	return a->len;
}

SEC("syscall")
int accept_rcu_across_static_subprog(struct args *a)
{
	int r = lock_in_static(a);

	bpf_rcu_read_unlock();
	return r;
}

__attribute__((noinline)) int global_balanced(int x)
{
	bpf_rcu_read_lock();
	x += 1;
	bpf_rcu_read_unlock();
	return x;
}

SEC("syscall")
int accept_global_call_in_rcu(struct args *a)
{
	int r;

	bpf_rcu_read_lock();
	r = global_balanced(a->len);
	bpf_rcu_read_unlock();
	return r;
}

__attribute__((noinline)) int global_left_open(int x)
{
	bpf_rcu_read_lock();
	return x + 1;
}

SEC("syscall")
int reject_global_leaves_rcu_open(struct args *a)
{
	return global_left_open(a->len);
}

SEC("socket")
int accept_rcu_in_socket_filter(void *ctx)
{
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
