// SPDX-License-Identifier: GPL-2.0
// A sleepable program: BPF_PROG_TEST_RUN hands it a user buffer (pointer and length in the
// syscall ctx); it copies the buffer in with bpf_copy_from_user, 16 bytes at a time, counts
// every byte value into an array map and returns how many bytes it read. Each copy may sleep
// (in the kernel on a page fault; in tsbpf while the host's user memory is still on its way).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CHUNK 16
#define MAX_CHUNKS 16 /* at most 256 bytes per run */

struct count_args {
	__u64 buf; /* user pointer */
	__u32 len;
	__u32 chunks; /* written back: copies made */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} byte_counts SEC(".maps");

SEC("syscall")
int count_bytes(struct count_args *args)
{
	__u8 chunk[CHUNK];
	__u32 len = args->len;
	int total = 0;

	if (len > CHUNK * MAX_CHUNKS)
		return -7; /* -E2BIG */
	args->chunks = 0;
	for (__u32 i = 0; i < MAX_CHUNKS; i++) {
		__u32 off = i * CHUNK;
		__u32 n;

		if (off >= len)
			break;
		n = len - off;
		if (n > CHUNK)
			n = CHUNK;
		if (bpf_copy_from_user(chunk, n, (const void *)(args->buf + off)))
			return -14; /* -EFAULT */
		args->chunks++;
		for (__u32 j = 0; j < CHUNK; j++) {
			__u32 key;
			__u64 *count;

			if (j >= n)
				break;
			key = chunk[j];
			count = bpf_map_lookup_elem(&byte_counts, &key);
			if (count)
				__sync_fetch_and_add(count, 1);
			total++;
		}
	}
	return total;
}

char LICENSE[] SEC("license") = "GPL";
