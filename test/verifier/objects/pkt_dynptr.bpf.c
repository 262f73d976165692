// SPDX-License-Identifier: GPL-2.0
// Ethernet/IPv4 parsers through skb and xdp dynptrs (bpf_dynptr_from_skb/_xdp, bpf_dynptr_slice
// and _rdwr), as XDP and TC programs write them today, and near-misses. Each program's name says
// what the kernel (6.18) answers; test/verifier/pkt-dynptr.test.ts checks tsbpf's verifier,
// both engines and, where bpf() is there, the kernel (verdicts, messages, BPF_PROG_TEST_RUN).
// Rebuild (clang-19, libbpf-dev):
//   clang-19 -target bpf -O2 -g -Wall -std=gnu11 -I/usr/include/$(uname -m)-linux-gnu \
//     -c pkt_dynptr.bpf.c -o pkt_dynptr.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
			      __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
				   __u32 buffer__szk) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start, __u32 end) __ksym;

#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

struct eth {
	__u8 dst[6];
	__u8 src[6];
	__u16 proto;
};

struct ip4 {
	__u8 ihl_ver;
	__u8 tos;
	__u16 len;
	__u16 id;
	__u16 frag;
	__u8 ttl;
	__u8 proto;
	__u16 csum;
	__u32 saddr;
	__u32 daddr;
};

/* XDP_DROP for UDP, XDP_PASS for other IPv4 and non-IP, XDP_ABORTED when too short */
SEC("xdp")
int accept_xdp_parse(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	struct eth ebuf;
	struct ip4 ibuf;

	if (bpf_dynptr_from_xdp(ctx, 0, &ptr))
		return XDP_ABORTED;
	struct eth *eth = bpf_dynptr_slice(&ptr, 0, &ebuf, sizeof(ebuf));
	if (!eth)
		return XDP_ABORTED;
	if (eth->proto != __builtin_bswap16(ETH_P_IP))
		return XDP_PASS;
	struct ip4 *ip = bpf_dynptr_slice(&ptr, sizeof(*eth), &ibuf, sizeof(ibuf));
	if (!ip)
		return XDP_ABORTED;
	return ip->proto == IPPROTO_UDP ? XDP_DROP : XDP_PASS;
}

/* decrements the TTL of IPv4 TCP packets in place; drops UDP */
SEC("tc")
int accept_tc_parse(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	struct ip4 ibuf;

	if (bpf_dynptr_from_skb(skb, 0, &ptr))
		return TC_ACT_SHOT;
	struct eth *eth = bpf_dynptr_slice(&ptr, 0, NULL, sizeof(*eth));
	if (!eth)
		return TC_ACT_SHOT;
	if (eth->proto != __builtin_bswap16(ETH_P_IP))
		return TC_ACT_OK;
	struct ip4 *ip = bpf_dynptr_slice_rdwr(&ptr, sizeof(*eth), &ibuf, sizeof(ibuf));
	if (!ip)
		return TC_ACT_SHOT;
	if (ip->proto == IPPROTO_UDP)
		return TC_ACT_SHOT;
	if (ip->proto == IPPROTO_TCP)
		ip->ttl--;
	return TC_ACT_OK;
}

/* the IPv4 payload length past the header, through an adjusted dynptr */
SEC("xdp")
int accept_xdp_adjust(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	struct ip4 ibuf;

	bpf_dynptr_from_xdp(ctx, 0, &ptr);
	if (bpf_dynptr_adjust(&ptr, sizeof(struct eth), bpf_dynptr_size(&ptr)))
		return 1000;
	struct ip4 *ip = bpf_dynptr_slice(&ptr, 0, &ibuf, sizeof(ibuf));
	if (!ip)
		return 1001;
	return bpf_dynptr_size(&ptr) - sizeof(*ip);
}

/* bpf_dynptr_read() of a packet dynptr: byte 26 (the IPv4 source address), +1000 if a read
 * of 4 bytes at 58 fails with -E2BIG */
SEC("xdp")
int accept_xdp_dynptr_read(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	__u8 buf[4] = {};
	int ret;

	bpf_dynptr_from_xdp(ctx, 0, &ptr);
	if (bpf_dynptr_read(buf, sizeof(buf), &ptr, 26, 0))
		return 2000;
	ret = buf[0];
	if (bpf_dynptr_read(buf, sizeof(buf), &ptr, 58, 0) == -7)
		ret += 1000;
	return ret;
}

SEC("socket")
int accept_socket_filter_slice(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	__u8 buf[4];

	bpf_dynptr_from_skb(skb, 0, &ptr);
	__u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf));
	return p ? p[0] : 0;
}

SEC("xdp")
int reject_slice_without_null_check(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	struct eth ebuf;

	bpf_dynptr_from_xdp(ctx, 0, &ptr);
	struct eth *eth = bpf_dynptr_slice(&ptr, 0, &ebuf, sizeof(ebuf));
	return eth->proto;
}

SEC("tc")
int reject_write_rdonly_slice(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	struct ip4 ibuf;

	bpf_dynptr_from_skb(skb, 0, &ptr);
	struct ip4 *ip = bpf_dynptr_slice(&ptr, 14, &ibuf, sizeof(ibuf));
	if (!ip)
		return TC_ACT_SHOT;
	ip->ttl = 1;
	return TC_ACT_OK;
}

SEC("socket")
int reject_rdwr_slice_in_socket_filter(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;
	__u8 buf[4];

	bpf_dynptr_from_skb(skb, 0, &ptr);
	__u8 *p = bpf_dynptr_slice_rdwr(&ptr, 0, buf, sizeof(buf));
	return p ? p[0] : 0;
}

SEC("tc")
int reject_xdp_dynptr_in_tc(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr;

	bpf_dynptr_from_xdp((struct xdp_md *)skb, 0, &ptr);
	return 0;
}

/* bpf_xdp_adjust_head() may move the packet: the slice is gone */
SEC("xdp")
int reject_slice_after_adjust_head(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	struct eth ebuf;

	bpf_dynptr_from_xdp(ctx, 0, &ptr);
	struct eth *eth = bpf_dynptr_slice(&ptr, 0, &ebuf, sizeof(ebuf));
	if (!eth)
		return XDP_DROP;
	bpf_xdp_adjust_head(ctx, 0);
	return eth->proto;
}

char LICENSE[] SEC("license") = "GPL";
