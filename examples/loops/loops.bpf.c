// Loops the verifier accepts without bpf_loop:
//   checksum_loop   a bounded loop kept as a loop (clang is told not to
//                   unroll it); the verifier walks every iteration and
//                   proves termination through the bounded counter
//   unrolled_loop   #pragma unroll: no back-edge left in the bytecode
//   while_loop      a data-dependent while loop with an explicit cap
//   nested_loop     two nested bounded loops over a map value
// All run on the packet given to BPF_PROG_TEST_RUN (XDP).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define N 64

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

struct matrix {
  __u8 cell[8][8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct matrix);
} grid SEC(".maps");

static __always_inline void put(__u32 slot, __u64 v) {
  __u64 *p = bpf_map_lookup_elem(&out, &slot);
  if (p) *p = v;
}

// 16-bit one's complement sum of the first N bytes (fewer if shorter).
SEC("xdp")
int checksum_loop(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *end = (void *)(long)ctx->data_end;
  __u32 sum = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i + 1 < N; i += 2) {
    if (data + i + 2 > end) break;
    sum += (__u32)data[i] << 8 | data[i + 1];
  }
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  put(0, (~sum) & 0xffff);
  return XDP_PASS;
}

// XOR of the first 16 bytes, fully unrolled by clang.
SEC("xdp")
int unrolled_loop(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *end = (void *)(long)ctx->data_end;
  if (data + 16 > end) return XDP_DROP;
  __u8 x = 0;
#pragma unroll
  for (int i = 0; i < 16; i++) x ^= data[i];
  put(1, x);
  return XDP_PASS;
}

// Length of the run of equal bytes at the start of the packet (at most 64):
// the exit depends on the data, the cap on the counter.
SEC("xdp")
int while_loop(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *end = (void *)(long)ctx->data_end;
  if (data + 1 > end) return XDP_DROP;
  __u8 first = data[0];
  __u32 run = 1;
  while (run < 64) {
    if (data + run + 1 > end || data[run] != first) break;
    run++;
  }
  put(2, run);
  return XDP_PASS;
}

// Fills an 8x8 multiplication table in a map value, then sums its diagonal.
SEC("xdp")
int nested_loop(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct matrix *m = bpf_map_lookup_elem(&grid, &zero);
  if (!m) return XDP_ABORTED;
#pragma clang loop unroll(disable)
  for (__u32 r = 0; r < 8; r++)
    for (__u32 c = 0; c < 8; c++) m->cell[r][c] = (r + 1) * (c + 1);
  __u64 trace = 0;
  for (__u32 i = 0; i < 8; i++) trace += m->cell[i][i];
  put(3, trace); // 1 + 4 + ... + 64 = 204
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
