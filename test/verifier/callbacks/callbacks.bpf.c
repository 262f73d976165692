// SPDX-License-Identifier: GPL-2.0
// bpf_loop callbacks whose state does or does not converge: the kernel verifies a callback as
// if called an unknown number of times, re-entering it from the state its last run left.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CHUNK 16

struct count_args {
	__u64 buf;
	__u32 len;
	__u32 chunks;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} byte_counts SEC(".maps");

struct scan {
	__u8 chunk[CHUNK];
	__u32 n;
	__u32 total;
};

/* the draft: a per-byte count whose index into the buffer is a counter kept in the ctx */
static long count_one(__u64 i, struct scan *s)
{
	__u32 key;
	__u64 *count;

	if (s->total >= s->n)
		return 1;
	key = s->chunk[s->total & (CHUNK - 1)];
	count = bpf_map_lookup_elem(&byte_counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	s->total++;
	return 0;
}

SEC("syscall")
int draft_counter(struct count_args *args)
{
	struct scan s = {};

	s.n = args->len < CHUNK ? args->len : CHUNK;
	if (bpf_copy_from_user(s.chunk, sizeof(s.chunk), (const void *)args->buf))
		return -14;
	bpf_loop(CHUNK, count_one, &s, 0);
	return s.total;
}


/* the counter decides a branch every run (precise), and never stops growing */
static long grow_precise(__u64 i, struct scan *s)
{
	s->total++;
	if (s->total == 100000)
		return 1;
	return 0;
}

SEC("syscall")
int precise_counter(struct count_args *args)
{
	struct scan s = {};

	bpf_loop(CHUNK, grow_precise, &s, 0);
	return s.total;
}

/* the draft with an inner bounded loop per call, counting every byte of the chunk */
static long count_chunk(__u64 i, struct scan *s)
{
	for (__u32 j = 0; j < CHUNK; j++) {
		__u32 key;
		__u64 *count;

		if (j >= s->n)
			break;
		key = s->chunk[j];
		count = bpf_map_lookup_elem(&byte_counts, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
		s->total++;
	}
	return 0;
}

SEC("syscall")
int inner_loop(struct count_args *args)
{
	struct scan s = {};

	s.n = args->len < CHUNK ? args->len : CHUNK;
	if (bpf_copy_from_user(s.chunk, sizeof(s.chunk), (const void *)args->buf))
		return -14;
	bpf_loop(CHUNK, count_chunk, &s, 0);
	return s.total;
}

/* the counter picks the array slot as a constant key: precise, growing */
static long count_by_slot(__u64 i, struct scan *s)
{
	__u32 key = s->total;
	__u64 *count;

	count = bpf_map_lookup_elem(&byte_counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	s->total++;
	return 0;
}

SEC("syscall")
int const_key_counter(struct count_args *args)
{
	struct scan s = {};

	bpf_loop(CHUNK, count_by_slot, &s, 0);
	return s.total;
}

/* the counter bounds itself: precise, but stops changing at 16 */
static long bounded_precise(__u64 i, struct scan *s)
{
	if (s->total >= CHUNK)
		return 1;
	s->chunk[s->total] = 1;
	s->total++;
	return 0;
}

SEC("syscall")
int bounded_counter(struct count_args *args)
{
	struct scan s = {};

	bpf_loop(64, bounded_precise, &s, 0);
	return s.total;
}


struct tally {
	__u64 total;
	__u64 limit;
};

/* a 64-bit counter (a whole stack slot) that decides a branch every run: precise, so never
 * widened, and it never stops growing
 */
static long grow_slot(__u64 i, struct tally *t)
{
	t->total++;
	if (t->total == 100000)
		return 1;
	return 0;
}

SEC("syscall")
int precise_slot(struct count_args *args)
{
	struct tally t = {};

	bpf_loop(CHUNK, grow_slot, &t, 0);
	return t.total;
}

/* the same counter compared against an unknown limit: imprecise, widened, converges */
static long grow_slot_unknown(__u64 i, struct tally *t)
{
	t->total++;
	if (t->total >= t->limit)
		return 1;
	return 0;
}

SEC("syscall")
int imprecise_slot(struct count_args *args)
{
	struct tally t = { .limit = args->len };

	bpf_loop(CHUNK, grow_slot_unknown, &t, 0);
	return t.total;
}


/* as precise_slot, with a loop count the verifier does not know: the kernel gives up at 1M */
SEC("syscall")
int precise_slot_unbounded(struct count_args *args)
{
	struct tally t = {};

	bpf_loop(args->len, grow_slot, &t, 0);
	return t.total;
}

SEC("syscall")
int inner_loop_unbounded(struct count_args *args)
{
	struct scan s = {};

	s.n = args->len < CHUNK ? args->len : CHUNK;
	if (bpf_copy_from_user(s.chunk, sizeof(s.chunk), (const void *)args->buf))
		return -14;
	bpf_loop(args->len, count_chunk, &s, 0);
	return s.total;
}

SEC("syscall")
int draft_unbounded(struct count_args *args)
{
	struct scan s = {};

	s.n = args->len < CHUNK ? args->len : CHUNK;
	if (bpf_copy_from_user(s.chunk, sizeof(s.chunk), (const void *)args->buf))
		return -14;
	bpf_loop(args->len, count_one, &s, 0);
	return s.total;
}


struct cursor {
	__u64 pos;
	__u8 buf[256];
};

/* a bounded position (precise, decided by the bound): runs until pos reaches the end */
static long walk_bounded(__u64 i, struct cursor *c)
{
	__u32 key;
	__u64 *count;

	if (c->pos >= sizeof(c->buf))
		return 1;
	key = c->buf[c->pos];
	count = bpf_map_lookup_elem(&byte_counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	c->pos++;
	return 0;
}

SEC("syscall")
int walk_buffer(struct count_args *args)
{
	struct cursor c = {};

	if (bpf_copy_from_user(c.buf, sizeof(c.buf), (const void *)args->buf))
		return -14;
	bpf_loop(args->len, walk_bounded, &c, 0);
	return c.pos;
}

/* a masked position: nothing about it is decided, so it is widened and converges */
static long walk_masked(__u64 i, struct cursor *c)
{
	__u32 key;
	__u64 *count;

	key = c->buf[c->pos & 0xff];
	count = bpf_map_lookup_elem(&byte_counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	c->pos++;
	return 0;
}

SEC("syscall")
int walk_masked_buffer(struct count_args *args)
{
	struct cursor c = {};

	if (bpf_copy_from_user(c.buf, sizeof(c.buf), (const void *)args->buf))
		return -14;
	bpf_loop(args->len, walk_masked, &c, 0);
	return c.pos;
}

/* the position is the map key itself: a constant key of an array lookup is precise */
static long count_at_pos(__u64 i, struct cursor *c)
{
	__u32 key = c->pos;
	__u64 *count;

	count = bpf_map_lookup_elem(&byte_counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	c->pos++;
	return 0;
}

SEC("syscall")
int key_from_pos(struct count_args *args)
{
	struct cursor c = {};

	bpf_loop(args->len, count_at_pos, &c, 0);
	return c.pos;
}


struct copier {
	__u64 buf;
	__u64 len;
	__u64 pos;
	__u8 chunk[CHUNK];
};

/* the draft's copy loop moved into a callback: the copy size is precise (a helper's size
 * argument), so is the position it is computed from, and the position's range keeps growing
 */
static long copy_chunk(__u64 i, struct copier *c)
{
	__u64 n = c->len - c->pos;

	if (c->pos >= c->len)
		return 1;
	if (n > CHUNK)
		n = CHUNK;
	if (bpf_copy_from_user(c->chunk, n, (const void *)(c->buf + c->pos)))
		return 1;
	for (__u32 j = 0; j < CHUNK; j++) {
		__u32 key;
		__u64 *count;

		if (j >= n)
			break;
		key = c->chunk[j];
		count = bpf_map_lookup_elem(&byte_counts, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	c->pos += n;
	return 0;
}

SEC("syscall")
int copy_in_callback(struct count_args *args)
{
	struct copier c = { .buf = args->buf, .len = args->len };

	bpf_loop(args->len, copy_chunk, &c, 0);
	return c.pos;
}

char LICENSE[] SEC("license") = "GPL";
