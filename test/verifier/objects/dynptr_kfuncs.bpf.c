// SPDX-License-Identifier: GPL-2.0
// The dynptr kfuncs bpf_dynptr_clone, bpf_dynptr_copy and bpf_dynptr_memset (Linux 6.18
// kernel/bpf/helpers.c), bpf_dynptr_write and bpf_dynptr_is_rdonly of skb dynptrs (read-only
// where the program type may not write packets), and near-misses. Each program's name says what
// the kernel (6.18) answers; test/verifier/dynptr-kfuncs.test.ts checks tsbpf's verifier and
// test/runtime/dynptr-kfuncs-run.test.ts both engines against BPF_PROG_TEST_RUN.
// Rebuild (clang-19, libbpf-dev):
//   clang-19 -target bpf -O2 -g -Wall -std=gnu11 -I/usr/include/$(uname -m)-linux-gnu \
//     -c dynptr_kfuncs.bpf.c -o dynptr_kfuncs.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
			      __u32 buffer__szk) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start, __u32 end) __ksym;
extern int bpf_dynptr_is_rdonly(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_is_null(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_clone(const struct bpf_dynptr *p, struct bpf_dynptr *clone__uninit) __ksym;
extern int bpf_dynptr_copy(struct bpf_dynptr *dst_ptr, __u32 dst_off, struct bpf_dynptr *src_ptr,
			   __u32 src_off, __u32 size) __ksym;
extern int bpf_dynptr_memset(struct bpf_dynptr *p, __u32 offset, __u32 size, __u8 val) __ksym;

#define E2BIG 7
#define EINVAL 22
#define ERANGE 34

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

char buf[32];
char out[32];

/* a clone is a second view of the same memory: adjusting it leaves the original alone, and a
 * write through it shows through the original. 16 * 100 + 8 * 10 + buf[5] (7 written at
 * clone offset 1 = buf offset 5) = 1687 */
SEC("xdp")
int accept_clone_local(struct xdp_md *ctx)
{
	struct bpf_dynptr a, b;
	__u8 v = 7, r = 0;

	if (bpf_dynptr_from_mem(buf, 16, 0, &a))
		return 1;
	if (bpf_dynptr_clone(&a, &b))
		return 2;
	if (bpf_dynptr_adjust(&b, 4, 12))
		return 3;
	if (bpf_dynptr_write(&b, 1, &v, 1, 0))
		return 4;
	if (bpf_dynptr_read(&r, 1, &a, 5, 0))
		return 5;
	return bpf_dynptr_size(&a) * 100 + bpf_dynptr_size(&b) * 10 + r;
}

/* error returns: adjust with start > end (-EINVAL) and past the end (-ERANGE); a null dynptr
 * (bpf_dynptr_from_mem with flags) memset for 0 bytes (0) and 1 byte (-E2BIG), copied from
 * (-EINVAL) and cloned (-EINVAL, the clone null). All hold: 111111 */
SEC("xdp")
int accept_error_returns(struct xdp_md *ctx)
{
	struct bpf_dynptr a, n, c;
	int r = 0;

	bpf_dynptr_from_mem(buf, 16, 0, &a);
	if (bpf_dynptr_adjust(&a, 8, 4) == -EINVAL)
		r += 1;
	if (bpf_dynptr_adjust(&a, 0, 17) == -ERANGE)
		r += 10;
	bpf_dynptr_from_mem(buf, 16, 1, &n);
	if (bpf_dynptr_memset(&n, 0, 0, 0) == 0)
		r += 100;
	if (bpf_dynptr_memset(&n, 0, 1, 0) == -E2BIG)
		r += 1000;
	if (bpf_dynptr_copy(&a, 0, &n, 0, 1) == -EINVAL)
		r += 10000;
	if (bpf_dynptr_clone(&n, &c) == -EINVAL && bpf_dynptr_is_null(&c))
		r += 100000;
	return r;
}

/* the IPv4 header (bytes 14..33) copied into a local dynptr; the result is its protocol byte
 * plus 1000 when a copy past the packet's end fails with -E2BIG */
SEC("xdp")
int accept_copy_pkt_to_local(struct xdp_md *ctx)
{
	struct bpf_dynptr pkt, local;
	int ret;

	bpf_dynptr_from_xdp(ctx, 0, &pkt);
	if (bpf_dynptr_from_mem(out, 20, 0, &local))
		return 1;
	if (bpf_dynptr_copy(&local, 0, &pkt, 14, 20))
		return 2;
	ret = out[9];
	if (bpf_dynptr_copy(&local, 0, &pkt, bpf_dynptr_size(&pkt) - 4, 8) == -E2BIG)
		ret += 1000;
	return ret;
}

/* the destination MAC set to ff:ff:ff:ff:ff:ff in place, and the source MAC copied over bytes
 * 20..25 through two clones of the same skb dynptr */
SEC("tc")
int accept_memset_copy_tc(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr, src;

	if (bpf_dynptr_from_skb(skb, 0, &ptr))
		return 1;
	if (bpf_dynptr_memset(&ptr, 0, 6, 0xff))
		return 2;
	bpf_dynptr_clone(&ptr, &src);
	if (bpf_dynptr_copy(&ptr, 20, &src, 6, 6))
		return 3;
	/* past the end: -E2BIG, nothing written */
	if (bpf_dynptr_memset(&ptr, bpf_dynptr_size(&ptr) - 2, 4, 0) != -E2BIG)
		return 4;
	return bpf_dynptr_is_rdonly(&ptr);
}

/* bpf_dynptr_write into the packet through an skb dynptr: bytes 30..33 become 1, 2, 3, 4 */
SEC("tc")
int accept_dynptr_write_tc(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	__u8 v[4] = { 1, 2, 3, 4 };

	bpf_dynptr_from_skb(skb, 0, &ptr);
	return bpf_dynptr_write(&ptr, 30, v, sizeof(v), 0);
}

/* a socket filter may not write packets: its skb dynptr is read-only, so writes fail with
 * -EINVAL and bpf_dynptr_is_rdonly says 1; the read still works. 1 + 10 + 100 + 1000 *
 * byte 12 of the packet */
SEC("socket")
int accept_socket_rdonly(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr, c;
	__u8 v = 0;
	int ret = 0;

	bpf_dynptr_from_skb(skb, 0, &ptr);
	ret += bpf_dynptr_is_rdonly(&ptr);
	if (bpf_dynptr_write(&ptr, 0, &v, 1, 0) == -EINVAL)
		ret += 10;
	bpf_dynptr_clone(&ptr, &c);
	if (bpf_dynptr_memset(&c, 0, 1, 0) == -EINVAL)
		ret += 100;
	if (bpf_dynptr_read(&v, 1, &ptr, 12, 0))
		return -1;
	return ret + 1000 * v;
}

/* a clone of a ring-buffer dynptr shares its reservation: submitting the clone releases both */
SEC("xdp")
int accept_clone_ringbuf_submit(struct xdp_md *ctx)
{
	struct bpf_dynptr a, b;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &a);
	bpf_dynptr_clone(&a, &b);
	bpf_dynptr_memset(&b, 0, 8, 0x5a);
	bpf_ringbuf_submit_dynptr(&b, 0);
	return XDP_PASS;
}

SEC("xdp")
int reject_clone_ringbuf_use_original_after_submit(struct xdp_md *ctx)
{
	struct bpf_dynptr a, b;

	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &a);
	bpf_dynptr_clone(&a, &b);
	bpf_ringbuf_submit_dynptr(&b, 0);
	return bpf_dynptr_memset(&a, 0, 8, 0);
}

/* the clone's slot already holds a ring-buffer dynptr, which may not be overwritten */
SEC("xdp")
int reject_clone_over_referenced(struct xdp_md *ctx)
{
	struct bpf_dynptr a, b;

	bpf_dynptr_from_mem(buf, 16, 0, &a);
	bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &b);
	bpf_dynptr_clone(&a, &b);
	bpf_ringbuf_discard_dynptr(&b, 0);
	return XDP_PASS;
}

SEC("xdp")
int reject_memset_uninit(struct xdp_md *ctx)
{
	struct bpf_dynptr a;

	return bpf_dynptr_memset(&a, 0, 8, 0);
}

SEC("xdp")
int reject_copy_src_uninit(struct xdp_md *ctx)
{
	struct bpf_dynptr a, b;

	bpf_dynptr_from_mem(buf, 16, 0, &a);
	return bpf_dynptr_copy(&a, 0, &b, 0, 8);
}

/* the clone keeps the xdp type: its slice dies with bpf_xdp_adjust_head() */
SEC("xdp")
int reject_clone_xdp_slice_after_adjust_head(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr, c;
	__u8 tmp[4];

	bpf_dynptr_from_xdp(ctx, 0, &ptr);
	bpf_dynptr_clone(&ptr, &c);
	__u8 *p = bpf_dynptr_slice(&c, 0, tmp, sizeof(tmp));
	if (!p)
		return XDP_DROP;
	bpf_xdp_adjust_head(ctx, 0);
	return p[0];
}

/* bpf_dynptr_write to an skb dynptr may move the packet (kernel: changes_data) */
SEC("tc")
int reject_slice_after_skb_dynptr_write(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	__u8 tmp[4], v = 1;

	bpf_dynptr_from_skb(skb, 0, &ptr);
	__u8 *p = bpf_dynptr_slice(&ptr, 0, tmp, sizeof(tmp));
	if (!p)
		return 2;
	bpf_dynptr_write(&ptr, 0, &v, 1, 0);
	return p[0];
}

/* overwriting the clone's stack slots destroys it and its slices, not the original's */
SEC("xdp")
int reject_clone_slice_after_overwrite(struct xdp_md *ctx)
{
	struct bpf_dynptr a, b;

	bpf_dynptr_from_mem(buf, 16, 0, &a);
	bpf_dynptr_clone(&a, &b);
	__u8 *p = bpf_dynptr_data(&b, 0, 4);
	if (!p)
		return XDP_DROP;
	*(volatile __u64 *)&b = 0;
	return p[0];
}

/* memset on an skb dynptr keeps its slices: only bpf_dynptr_write counts as changing packet
 * data (kernel: the BPF_FUNC_dynptr_write case of check_helper_call()) */
SEC("tc")
int accept_slice_after_skb_memset(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	__u8 tmp[4];

	bpf_dynptr_from_skb(skb, 0, &ptr);
	__u8 *p = bpf_dynptr_slice(&ptr, 0, tmp, sizeof(tmp));
	if (!p)
		return 2;
	bpf_dynptr_memset(&ptr, 0, 1, 0);
	return p[1];
}

char LICENSE[] SEC("license") = "GPL";
