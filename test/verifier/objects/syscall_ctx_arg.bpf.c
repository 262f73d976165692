// A syscall program's ctx passed to a global function's pointer argument: the kernel checks it as
// a memory argument of the pointee's size (check_helper_mem_access() on PTR_TO_CTX for syscall
// programs) and remembers how far into the ctx it reaches (max_ctx_offset), so a test run with a
// shorter ctx_in fails with EINVAL. Built: clang-19 -O2 -g -target bpf (see the test).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
	int a;
	int b;
};

__noinline int sum_args(struct args *p)
{
	return p ? p->a + p->b : -1;
}

__noinline int is_set(void *p)
{
	return p != 0;
}

SEC("syscall")
int ctx_to_struct(struct args *ctx)
{
	return sum_args(ctx);
}

SEC("syscall")
int ctx_to_void(void *ctx)
{
	return is_set(ctx);
}

SEC("syscall")
int ctx_plus_4_to_struct(struct args *ctx)
{
	return sum_args((struct args *)&ctx->b);
}

SEC("xdp")
int xdp_ctx_to_struct(struct xdp_md *ctx)
{
	return sum_args((struct args *)ctx);
}

char LICENSE[] SEC("license") = "GPL";
