// SPDX-License-Identifier: GPL-2.0
// bpf_snprintf: the format must be a NUL-terminated string in a frozen read-only map, checked at
// load against the number of u64 arguments (kernel: check_bpf_snprintf_call()).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static const char two[] = "%d-%llx";
static const char octal[] = "%o";
char writable[8] = "%d";

SEC("xdp")
int format_ok(struct xdp_md *ctx)
{
	char out[16];
	__u64 args[2] = { ctx->ingress_ifindex, 7 };

	return bpf_snprintf(out, sizeof(out), two, args, sizeof(args)) > 0 ? XDP_PASS : XDP_DROP;
}

/* two conversions, one argument */
SEC("xdp")
int too_few_args(struct xdp_md *ctx)
{
	char out[16];
	__u64 args[1] = { 7 };

	return bpf_snprintf(out, sizeof(out), two, args, sizeof(args)) > 0 ? XDP_PASS : XDP_DROP;
}

/* %o is not in the kernel's subset */
SEC("xdp")
int octal_format(struct xdp_md *ctx)
{
	char out[16];
	__u64 args[1] = { 7 };

	return bpf_snprintf(out, sizeof(out), octal, args, sizeof(args)) > 0 ? XDP_PASS : XDP_DROP;
}

/* .data is not read-only */
SEC("xdp")
int writable_format(struct xdp_md *ctx)
{
	char out[16];
	__u64 args[1] = { 7 };

	return bpf_snprintf(out, sizeof(out), writable, args, sizeof(args)) > 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
