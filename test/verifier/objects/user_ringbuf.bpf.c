// SPDX-License-Identifier: GPL-2.0
// bpf_user_ringbuf_drain(): a BPF_MAP_TYPE_USER_RINGBUF whose samples user space wrote, each
// handed to a callback as a `struct bpf_dynptr *` (the verifier's CONST_PTR_TO_DYNPTR), and
// near-misses. Each program's name says what the kernel (6.18) answers;
// test/verifier/user-ringbuf.test.ts checks tsbpf's verifier and
// test/runtime/user-ringbuf-run.test.ts both engines against the kernel (kuserrb.c writes the
// samples, then BPF_PROG_TEST_RUN).
// Rebuild (clang-19, libbpf-dev):
//   clang-19 -target bpf -O2 -g -Wall -std=gnu11 -I/usr/include/$(uname -m)-linux-gnu \
//     -c user_ringbuf.bpf.c -o user_ringbuf.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_is_rdonly(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_clone(const struct bpf_dynptr *p, struct bpf_dynptr *clone__uninit) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start, __u32 end) __ksym;
extern int bpf_dynptr_memset(struct bpf_dynptr *p, __u32 offset, __u32 size, __u8 val) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
			      __u32 buffer__szk) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} urb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct sum {
	__u64 total;
	__u32 count;
	__u32 short_samples;
};

/* what the last drain saw */
struct sum last;
long drained;

/* adds each sample's first u32; a sample of 0xffffffff stops the drain after itself */
static long add_sample(struct bpf_dynptr *dynptr, void *ctx)
{
	struct sum *s = ctx;
	__u32 v;

	if (bpf_dynptr_read(&v, sizeof(v), dynptr, 0, 0)) {
		s->short_samples++;
		return 0;
	}
	if (v == 0xffffffff)
		return 1;
	s->total += v;
	s->count++;
	return 0;
}

SEC("xdp")
int accept_drain_sum(struct xdp_md *ctx)
{
	struct sum s = {};

	drained = bpf_user_ringbuf_drain(&urb, add_sample, &s, 0);
	last = s;
	return XDP_PASS;
}

struct probe {
	int rdonly;
	__u32 size;
	int write;
	int memset;
	int data_null;
	__u32 clone_size;
	__u8 first;
	__u8 slice_first;
};

struct probe probed;

/* what a callback may do with the sample's dynptr: it is read-only */
static long probe_sample(struct bpf_dynptr *d, void *ctx)
{
	struct probe *p = ctx;
	struct bpf_dynptr c;
	__u8 b = 0;

	p->rdonly = bpf_dynptr_is_rdonly(d);
	p->size = bpf_dynptr_size(d);
	p->write = bpf_dynptr_write(d, 0, &b, 1, 0);
	p->memset = bpf_dynptr_memset(d, 0, 1, 0);
	p->data_null = bpf_dynptr_data(d, 0, 1) == NULL;
	bpf_dynptr_clone(d, &c);
	bpf_dynptr_adjust(&c, 1, bpf_dynptr_size(&c));
	p->clone_size = bpf_dynptr_size(&c);
	bpf_dynptr_read(&p->first, 1, d, 0, 0);
	__u8 *q = bpf_dynptr_slice(&c, 0, NULL, 1);
	if (q)
		p->slice_first = *q;
	return 1;
}

SEC("xdp")
int accept_probe_sample(struct xdp_md *ctx)
{
	struct probe p = {};

	drained = bpf_user_ringbuf_drain(&urb, probe_sample, &p, 0);
	probed = p;
	return XDP_PASS;
}

/* flags other than the wakeup ones: -EINVAL before any sample */
SEC("xdp")
int accept_drain_bad_flags(struct xdp_md *ctx)
{
	struct sum s = {};

	return bpf_user_ringbuf_drain(&urb, add_sample, &s, 4) == -22 ? XDP_PASS : XDP_DROP;
}

static long release_sample(struct bpf_dynptr *d, void *ctx)
{
	bpf_ringbuf_discard_dynptr(d, 0);
	return 0;
}

SEC("xdp")
int reject_release_const_dynptr(struct xdp_md *ctx)
{
	bpf_user_ringbuf_drain(&urb, release_sample, NULL, 0);
	return XDP_PASS;
}

static long peek_dynptr(struct bpf_dynptr *d, void *ctx)
{
	return *(volatile __u64 *)d & 1;
}

SEC("xdp")
int reject_read_dynptr_ptr(struct xdp_md *ctx)
{
	bpf_user_ringbuf_drain(&urb, peek_dynptr, NULL, 0);
	return XDP_PASS;
}

static long rebuild_sample(struct bpf_dynptr *d, void *ctx)
{
	bpf_dynptr_from_mem(&probed, sizeof(probed), 0, d);
	return 0;
}

SEC("xdp")
int reject_reinit_const_dynptr(struct xdp_md *ctx)
{
	bpf_user_ringbuf_drain(&urb, rebuild_sample, NULL, 0);
	return XDP_PASS;
}

static long continue_twice(struct bpf_dynptr *d, void *ctx)
{
	return 2;
}

SEC("xdp")
int reject_callback_returns_2(struct xdp_md *ctx)
{
	bpf_user_ringbuf_drain(&urb, continue_twice, NULL, 0);
	return XDP_PASS;
}

SEC("xdp")
int reject_drain_kernel_ringbuf(struct xdp_md *ctx)
{
	struct sum s = {};

	bpf_user_ringbuf_drain(&rb, add_sample, &s, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
