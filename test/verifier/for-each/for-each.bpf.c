// SPDX-License-Identifier: GPL-2.0
// bpf_for_each_map_elem: the callback gets (map, key, value, ctx) and is verified as if called
// any number of times; it returns 0 (continue) or 1 (stop).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} numbers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct walk {
	__u64 sum;
	__u32 seen;
};

static long add_value(void *map, __u32 *key, __u64 *value, struct walk *w)
{
	w->sum += *value;
	w->seen++;
	return 0;
}

SEC("xdp")
int sum_values(struct xdp_md *ctx)
{
	struct walk w = {};

	bpf_for_each_map_elem(&numbers, add_value, &w, 0);
	return w.sum > 10 ? XDP_DROP : XDP_PASS;
}

/* a hash map's key is read and the walk stops at key 3 */
static long stop_at_three(void *map, __u32 *key, __u64 *value, struct walk *w)
{
	return *key == 3;
}

SEC("xdp")
int stop_early(struct xdp_md *ctx)
{
	struct walk w = {};

	bpf_for_each_map_elem(&table, stop_at_three, &w, 0);
	return XDP_PASS;
}

/* a counter in the ctx next to a precise result: each run's state is new, so the kernel gives up */
static long count_to_three(void *map, __u32 *key, __u64 *value, struct walk *w)
{
	w->seen++;
	return *key == 3;
}

SEC("xdp")
int count_and_stop(struct xdp_md *ctx)
{
	struct walk w = {};

	bpf_for_each_map_elem(&table, count_to_three, &w, 0);
	return w.seen > 2 ? XDP_DROP : XDP_PASS;
}

/* the value is 8 bytes: reading a second u64 is past its end */
static long read_past_value(void *map, __u32 *key, __u64 *value, struct walk *w)
{
	w->sum += value[1];
	return 0;
}

SEC("xdp")
int value_oob(struct xdp_md *ctx)
{
	struct walk w = {};

	bpf_for_each_map_elem(&numbers, read_past_value, &w, 0);
	return w.sum ? XDP_DROP : XDP_PASS;
}

/* only 0 and 1 are valid results */
static long return_two(void *map, __u32 *key, __u64 *value, struct walk *w)
{
	return 2;
}

SEC("xdp")
int bad_return(struct xdp_md *ctx)
{
	struct walk w = {};

	bpf_for_each_map_elem(&numbers, return_two, &w, 0);
	return XDP_PASS;
}

/* a ring buffer has no elements to walk */
SEC("xdp")
int ringbuf_map(struct xdp_md *ctx)
{
	struct walk w = {};

	bpf_for_each_map_elem(&events, add_value, &w, 0);
	return XDP_PASS;
}

/* without a context: the callback's ctx argument is null and must not be dereferenced */
static long count_null_ctx(void *map, __u32 *key, __u64 *value, struct walk *w)
{
	w->seen++;
	return 0;
}

SEC("xdp")
int null_ctx(struct xdp_md *ctx)
{
	bpf_for_each_map_elem(&numbers, count_null_ctx, 0, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
