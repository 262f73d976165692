// Global variables in every data section libbpf turns into a map:
//   .rodata      const volatile configuration, frozen after load
//   .data        initialised, writable
//   .bss         zero-initialised, writable
//   .data.stats  a custom data section: its own single-element array map,
//                which libbpf names ".data.stats", holding a struct
//   .rodata.str1.1  string literals used by bpf_printk() (made by clang)
// The program is run with BPF_PROG_TEST_RUN; the host reads the globals
// back through the maps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 scale = 3;          // .rodata
const volatile __u64 threshold = 100;    // .rodata
const volatile char tag[8] = "tsbpf";    // .rodata
const __u32 table[4] = {1, 10, 100, 1000}; // .rodata (plain const, read by index)

__u64 total = 1000;   // .data
__u32 last_len = 7;   // .data
__u64 runs;           // .bss
__u64 over_threshold; // .bss

struct stats {
  __u64 packets;
  __u64 bytes;
  __u32 max_len;
  __u32 min_len;
};
struct stats stats SEC(".data.stats") = {.min_len = 0xffffffff};

SEC("xdp")
int globals_xdp(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  runs++;
  total += len * scale;
  last_len = len;
  if (len * scale > threshold) over_threshold++;
  stats.packets++;
  stats.bytes += len;
  if (len > stats.max_len) stats.max_len = len;
  if (len < stats.min_len) stats.min_len = len;
  // Only the first letter of tag picks the table entry: 't' -> 't' & 3 == 0.
  total += table[tag[0] & 3];
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
