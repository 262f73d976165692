// The instructions clang emits only for newer BPF CPUs (built with -mcpu=v4,
// see build-flags; the other examples use clang 19's default, v1):
//   v2  32-bit-friendly jumps are still JMP (no JMP32)
//   v3  ALU32 sub-registers (w0..w10), JMP32 compares, atomic fetch-and-op,
//       xchg and cmpxchg
//   v4  sign-extending loads (LDXS), MOVSX, signed division and modulo
//       (SDIV/SMOD), unconditional byte swaps (BSWAP)
// isa_v4 reads its operands from the packet, so that the verifier knows
// nothing about them, and stores 40 results in the "results" array, one u64
// each; the test computes the same 40 values itself from the same bytes.
// Operands: a = u64 at byte 0, b = u64 at 8, c = u32 at 16, d = u32 at 20,
// bytes 24..31 for the sign-extending loads (all little-endian).
// Divisions are guarded (C leaves x/0 and INT_MIN/-1 undefined, so clang
// could assume them away); BPF's own rules for them are tested elsewhere.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NRESULTS 40

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NRESULTS);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

struct cells {
  __u64 x;
  __u32 y;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cells);
} atomics SEC(".maps");

static __always_inline void put(__u32 i, __u64 v) {
  __u64 *p = bpf_map_lookup_elem(&results, &i);
  if (p) *p = v;
}

// Each JMP32 condition sets one bit, so a wrong branch shows which one.
static __noinline __u64 jmp32_mask(__u32 c, __u32 d) {
  __u64 m = 0;
  if (c == d) m |= 1 << 0;
  if (c != d) m |= 1 << 1;
  if (c > d) m |= 1 << 2;
  if (c >= d) m |= 1 << 3;
  if (c < d) m |= 1 << 4;
  if (c <= d) m |= 1 << 5;
  if ((__s32)c > (__s32)d) m |= 1 << 6;
  if ((__s32)c >= (__s32)d) m |= 1 << 7;
  if ((__s32)c < (__s32)d) m |= 1 << 8;
  if ((__s32)c <= (__s32)d) m |= 1 << 9;
  if (c & d) m |= 1 << 10;
  if ((__s32)c < 0) m |= 1 << 11;
  return m;
}

SEC("xdp")
int isa_v4(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 32 > end) return XDP_DROP;
  __u64 a = *(__u64 *)data;
  __u64 b = *(__u64 *)(data + 8);
  __u32 c = *(__u32 *)(data + 16);
  __u32 d = *(__u32 *)(data + 20);

  // ALU32
  put(0, c * d);
  __u32 dd = d | 1;
  put(1, c / dd);
  put(2, c % dd);
  put(3, c >> (d & 31));
  put(4, (__u32)((__s32)c >> (d & 31)));
  put(5, c + d - (c ^ d));
  put(6, (__u32)-c);

  // SDIV / SMOD, 64 and 32 bits
  __s64 sa = a, sb = b | 1;
  if (sb == -1) sb = 3;
  put(7, sa / sb);
  put(8, sa % sb);
  __s32 sc = c, sd = d | 1;
  if (sd == -1) sd = 3;
  put(9, (__u32)(sc / sd));
  put(10, (__u32)(sc % sd));

  // LDXS: sign-extending loads
  put(11, *(__s8 *)(data + 24));
  put(12, *(__s16 *)(data + 26));
  put(13, *(__s32 *)(data + 28));

  // MOVSX
  put(14, (__s64)(__s8)a);
  put(15, (__s64)(__s16)a);
  put(16, (__s64)(__s32)a);
  put(17, (__u32)(__s32)(__s8)c);
  put(18, (__u32)(__s32)(__s16)c);

  // BSWAP
  put(19, __builtin_bswap16((__u16)a));
  put(20, __builtin_bswap32((__u32)a));
  put(21, __builtin_bswap64(a));

  // JMP32 and 64-bit signed compares
  put(22, jmp32_mask(c, d));
  put(23, ((__s64)a < (__s64)b) | ((__s64)a > (__s64)b) << 1 | (a < b) << 2);

  // Atomics on a map value: 64-bit then 32-bit
  __u32 zero = 0;
  struct cells *m = bpf_map_lookup_elem(&atomics, &zero);
  if (!m) return XDP_ABORTED;
  m->x = a;
  put(24, __sync_fetch_and_add(&m->x, b));
  put(25, __sync_fetch_and_or(&m->x, (__u64)c << 32));
  put(26, __sync_fetch_and_and(&m->x, ~(__u64)d));
  put(27, __sync_fetch_and_xor(&m->x, 0xff00ff00ff00ff00ULL));
  put(28, __sync_lock_test_and_set(&m->x, b)); // xchg
  put(29, __sync_val_compare_and_swap(&m->x, b, a)); // succeeds: x = a
  put(30, __sync_val_compare_and_swap(&m->x, ~a, 7)); // fails: x stays a
  __sync_fetch_and_add(&m->x, 1); // result unused: plain atomic add
  put(31, m->x);
  m->y = c;
  put(32, __sync_fetch_and_add(&m->y, d));
  put(33, __sync_fetch_and_or(&m->y, 0x80000001));
  put(34, __sync_fetch_and_and(&m->y, d));
  put(35, __sync_fetch_and_xor(&m->y, c));
  put(36, __sync_lock_test_and_set(&m->y, d));
  put(37, __sync_val_compare_and_swap(&m->y, d, c));
  put(38, m->y);
  put(39, NRESULTS);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
