// The gallery's assembly snippets: some the verifier accepts, some it rejects.

export interface AsmExample {
  id: string;
  title: string;
  type: string;
  text: string;
}

export const SNIPPETS: AsmExample[] = [
  {
    id: 'sum-loop',
    title: 'sum 1..10 in a bounded loop (accepted)',
    type: 'socket_filter',
    text: `; r0 = 1 + 2 + ... + 10, with a loop the verifier can bound
r0 = 0
r1 = 1
loop:
r0 += r1
r1 += 1
if r1 <= 10 goto loop
exit
`,
  },
  {
    id: 'xdp-bounds',
    title: 'XDP: EtherType with a bounds check (accepted)',
    type: 'xdp',
    text: `; XDP_PASS (2) for IPv4, XDP_DROP (1) for anything else
r2 = *(u32 *)(r1 + 0)      ; ctx->data
r3 = *(u32 *)(r1 + 4)      ; ctx->data_end
r0 = 1
r4 = r2
r4 += 14
if r4 > r3 goto out        ; shorter than an Ethernet header
r5 = *(u16 *)(r2 + 12)     ; EtherType, network order
if r5 != 8 goto out        ; 0x0800 read little-endian
r0 = 2
out:
exit
`,
  },
  {
    id: 'printk',
    title: 'bpf_trace_printk to the output panel (accepted)',
    type: 'socket_filter',
    text: `; bpf_trace_printk("hello %d", 42): the line shows in the output panel
r1 = 0x006425206f6c6c65 ll   ; "ello %d\\0", little-endian
*(u64 *)(r10 - 8) = r1
r1 = 0x68                    ; "h"
*(u8 *)(r10 - 9) = r1
r1 = r10
r1 += -9                     ; fmt
r2 = 9                       ; its size, NUL included
r3 = 42
call bpf_trace_printk
r0 = 0
exit
`,
  },
  {
    id: 'xdp-no-check',
    title: 'XDP: packet read without a bounds check (rejected)',
    type: 'xdp',
    text: `; the verifier refuses: nothing proves data + 12 is below data_end
r2 = *(u32 *)(r1 + 0)      ; ctx->data
r0 = *(u16 *)(r2 + 12)
exit
`,
  },
  {
    id: 'uninit-r0',
    title: 'exit with r0 never set (rejected)',
    type: 'socket_filter',
    text: `r1 = 42
if r1 > 40 goto done
r0 = 1
done:
exit
`,
  },
];
