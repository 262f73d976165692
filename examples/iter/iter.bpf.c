// SPDX-License-Identifier: GPL-2.0
// A BPF iterator over a hash map: `cat` on the pinned iterator prints a table, one line per
// element, a header before the first element and a footer after the last (the kernel calls
// the program once more with key and value NULL when the walk is over).
//
// Pin it in the kernel:   bpftool iter pin iter.bpf.o /sys/fs/bpf/stats_dump map name stats
// Run it in tsbpf:        tsbpf iter examples/iter/iter.bpf.o --before fill_demo
//                         (fill_demo, a syscall program, puts eight demo elements in the map)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

// The kernel's iterator context (include/linux/bpf.h, kernel/bpf/map_iter.c), declared here
// rather than taken from vmlinux.h; preserve_access_index lets libbpf relocate the offsets.
struct seq_file;
struct bpf_map;
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map_elem {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
} __attribute__((preserve_access_index));

struct stat {
	__u64 packets;
	__u64 bytes;
	__s32 delta;
	char tag[12];
};

// BPF_F_ZERO_SEED: a hash with seed 0 walks its buckets in the same order in every kernel
// (and in tsbpf), so two dumps of the same contents compare byte for byte.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_ZERO_SEED);
	__type(key, __u32);
	__type(value, struct stat);
} stats SEC(".maps");

// Stop (return 1) at this element; 0 never stops.
const volatile __u32 stop_at = 0;

// Totals of the session in progress, reset with the header.
__u64 total_packets = 0;
__u64 total_bytes = 0;

SEC("iter/bpf_map_elem")
int dump_stats(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u64 seq_num = ctx->meta->seq_num;
	__u32 *key = ctx->key;
	struct stat *v = ctx->value;

	if (seq_num == 0) {
		total_packets = 0;
		total_bytes = 0;
		BPF_SEQ_PRINTF(seq, "%-8s %12s %10s %6s %c %s\n", "key", "packets", "bytes(hex)", "delta", '#',
			       "tag");
	}
	if (!key || !v) {
		BPF_SEQ_PRINTF(seq, "-- %llu elements, %llu packets, %llu bytes --\n", seq_num, total_packets,
			       total_bytes);
		return 0;
	}
	if (stop_at && seq_num + 1 == stop_at)
		return 1;
	total_packets += v->packets;
	total_bytes += v->bytes;
	BPF_SEQ_PRINTF(seq, "%-8u %12llu %10llx %+6d %c %s\n", *key, v->packets, v->bytes, v->delta,
		       v->tag[0] ? v->tag[0] : '?', v->tag);
	// A bar of packets / 100 '#' (at most 16) with bpf_seq_write, which copies bytes as they are.
	static const char bar[] = "################";
	__u64 n = v->packets / 100;
	if (n > 16)
		n = 16;
	bpf_seq_write(seq, bar, n);
	bpf_seq_write(seq, "\n", 1);
	return 0;
}

// Demo contents: eight elements, keys 3, 20, 37, ... (BPF_PROG_TEST_RUN it, or --before fill_demo).
SEC("syscall")
int fill_demo(void *ctx)
{
	for (__u32 i = 0; i < 8; i++) {
		__u32 key = i * 17 + 3;
		struct stat v = {
			.packets = i * 100,
			.bytes = i * 1500 + 64,
			.delta = (__s32)i - 4,
			.tag = { 'd', 'e', 'm', 'o', (char)('0' + i) },
		};
		if (i == 5)
			v.tag[0] = 0; // an empty tag prints '?'
		bpf_map_update_elem(&stats, &key, &v, BPF_ANY);
	}
	return 0;
}
