// Differential tests: the same programs through tsbpf's testRun and the live kernel's
// BPF_PROG_TEST_RUN (tools/kbpf). The kernel is the reference; skipped when bpf() or gcc is
// unavailable.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { testRun, type TestRunProgType } from '../../src/runtime/test-run.ts';
import { assembleConformance } from '../../src/isa/asm/conformance.ts';
import { type Insn, insn } from '../../src/isa/insn.ts';
import { InputError, UsageError } from '../../src/errors.ts';
import { ArrayMap } from '../../src/vm/index.ts';
import { KbpfOracle, type MapDef } from './kbpf-oracle.ts';

const kernel = new KbpfOracle();
after(() => kernel.close());
const runKernel = kernel.run.bind(kernel);
const oracleProblem = kernel.problem.bind(kernel);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Concatenates assembly pieces and hand-built instructions (the %r dialect has no ld_abs). */
function prog(...parts: (string | Insn)[]): Insn[] {
  const out: Insn[] = [];
  for (const p of parts) {
    if (typeof p === 'string') out.push(...assembleConformance(p));
    else out.push(p);
  }
  return out;
}

const ldabs = (size: 1 | 2 | 4, off: number): Insn =>
  insn(size === 1 ? 0x30 : size === 2 ? 0x28 : 0x20, 0, 0, 0, off);
const ldind = (size: 1 | 2 | 4, src: number, off: number): Insn =>
  insn(size === 1 ? 0x50 : size === 2 ? 0x48 : 0x40, 0, src, 0, off);
/** lddw dst, map[idx] (src 1) or &map[idx].value[off] (src 2). */
function ldMap(dst: number, idx: number, src: 1 | 2 = 1, off = 0): Insn[] {
  return [{ code: 0x18, dst, src, off: 0, imm: idx, imm64Hi: off }, insn(0, 0, 0, 0, off)];
}

function packet(len: number, opts: { dest?: number[]; ethertype?: number; seed?: number } = {}): Uint8Array {
  const p = new Uint8Array(len);
  let x = opts.seed ?? 7;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    p[i] = x >>> 24;
  }
  p.set(opts.dest ?? [0, 0, 0, 0, 0, 0], 0);
  const et = opts.ethertype ?? 0x0800;
  p[12] = et >> 8;
  p[13] = et & 0xff;
  return p;
}

interface Case {
  name: string;
  type: TestRunProgType;
  insns: Insn[];
  data: Uint8Array;
  maps?: MapDef[];
  ctx?: Uint8Array;
  /** The kernel refuses: at load ('reject', we throw InputError) or at run ('run_error', UsageError). */
  expect?: 'reject' | 'run_error';
}

/** r0 = data_end - data_meta */
const XDP_LEN = 'ldxw %r2, [%r1+4]\nldxw %r3, [%r1+8]\nmov %r0, %r2\nsub %r0, %r3\nexit';

const XDP_BOUNDS = `
  ldxw %r2, [%r1]
  ldxw %r3, [%r1+4]
`;

/** A ctx_in buffer of `size` bytes with u32 fields set. */
function ctxWith(size: number, fields: Record<number, number>): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [off, v] of Object.entries(fields)) dv.setUint32(Number(off), v, true);
  return b;
}

/** r6 = ctx; call helper `id` with r1 = ctx, r2 = delta; exits with the helper's r0 when non-zero. */
const xdpAdjust = (id: number, delta: number) => `
  mov %r6, %r1
  mov %r2, ${delta}
  call ${id}
  jne %r0, 0, out
  mov %r1, %r6
`;

/** xdp_load_bytes(ctx, off, r10-32, len) into the stack, then r0 = folded first 16 stack bytes. */
const xdpLoad = (off: number, len: number) => `
  stdw [%r10-32], 0
  stdw [%r10-24], 0
  mov %r2, ${off}
  mov %r3, %r10
  add %r3, -32
  mov %r4, ${len}
  call 189
  jne %r0, 0, out
  ldxdw %r0, [%r10-32]
  ldxdw %r1, [%r10-24]
  xor %r0, %r1
  mov %r1, %r0
  rsh %r1, 32
  xor %r0, %r1
out:
  exit
`;

const cases: Case[] = [
  { name: 'xdp_get_buff_len with fragments', type: 'xdp', insns: prog('call 188\nexit'), data: packet(4000) },
  { name: 'xdp_get_buff_len linear', type: 'xdp', insns: prog('call 188\nexit'), data: packet(99) },
  {
    name: 'xdp_load_bytes across the linear/fragment boundary',
    type: 'xdp',
    insns: prog(xdpLoad(3510, 16)),
    data: packet(4000, { seed: 41 }),
  },
  {
    name: 'xdp_load_bytes from a fragment',
    type: 'xdp',
    insns: prog(xdpLoad(3900, 16)),
    data: packet(4000, { seed: 42 }),
  },
  { name: 'xdp_load_bytes linear', type: 'xdp', insns: prog(xdpLoad(3, 13)), data: packet(60, { seed: 43 }) },
  {
    name: 'xdp_load_bytes past the end is EINVAL',
    type: 'xdp',
    insns: prog(xdpLoad(50, 16)),
    data: packet(60),
  },
  {
    name: 'xdp_load_bytes offset > 0xffff is EFAULT',
    type: 'xdp',
    insns: prog(xdpLoad(0x10000, 1)),
    data: packet(60),
  },
  {
    name: 'xdp_store_bytes across the linear/fragment boundary',
    type: 'xdp',
    insns: prog(`
      mov %r6, %r1
      lddw %r2, 0x0102030405060708
      stxdw [%r10-16], %r2
      stxdw [%r10-8], %r2
      mov %r1, %r6
      mov %r2, 3512
      mov %r3, %r10
      add %r3, -16
      mov %r4, 16
      call 190
      exit`),
    data: packet(4000, { seed: 44 }),
  },
  {
    name: 'xdp_adjust_tail grows the last fragment',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, 100)}\nmov %r0, 2\nout:\nexit`),
    data: packet(4000, { seed: 45 }),
  },
  {
    name: 'xdp_adjust_tail grows past the fragment page',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, 3700)}\nmov %r0, 2\nout:\nexit`),
    data: packet(4000),
  },
  {
    name: 'xdp_adjust_tail shrinks a fragment',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, -100)}\ncall 188\nout:\nexit`),
    data: packet(4000, { seed: 46 }),
  },
  {
    name: 'xdp_adjust_tail shrinks through the fragments into linear data',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, -600)}\ncall 188\nout:\nexit`),
    data: packet(4000, { seed: 47 }),
  },
  {
    name: 'load-acquire and store-release, every size',
    type: 'socket_filter',
    insns: prog(
      'lddw %r1, 0x8877665544332211\nstxdw [%r10-8], %r1\nmov %r0, 0',
      insn(0xd3, 2, 10, -8, 0x100), // r2 = load_acquire((u8 *)(r10 - 8))
      insn(0xcb, 3, 10, -8, 0x100), // r3 = load_acquire((u16 *)(r10 - 8))
      insn(0xc3, 4, 10, -8, 0x100), // r4 = load_acquire((u32 *)(r10 - 8))
      insn(0xdb, 5, 10, -8, 0x100), // r5 = load_acquire((u64 *)(r10 - 8))
      'add %r0, %r2\nadd %r0, %r3\nadd %r0, %r4\nadd %r0, %r5\nmov %r6, -1\nstdw [%r10-16], 0',
      insn(0xd3, 10, 6, -16, 0x110), // store_release((u8 *)(r10 - 16), r6)
      insn(0xcb, 10, 6, -14, 0x110),
      insn(0xc3, 10, 6, -12, 0x110),
      insn(0xdb, 10, 6, -24, 0x110),
      'ldxdw %r7, [%r10-16]\nadd %r0, %r7\nldxdw %r7, [%r10-24]\nadd %r0, %r7\nmov %r1, %r0\nrsh %r1, 32\nxor %r0, %r1\nexit',
    ),
    data: packet(40),
  },
  {
    name: 'xdp_adjust_head grows the front; the program writes the new bytes',
    type: 'xdp',
    insns: prog(`${xdpAdjust(44, -14)}
      ldxw %r2, [%r6]
      ldxw %r3, [%r6+4]
      mov %r4, %r2
      add %r4, 14
      mov %r0, 1
      jgt %r4, %r3, out
      stdw [%r2], 0x11223344
      stw [%r2+8], -1
      sth [%r2+12], 0x0008
      mov %r0, 2
    out:
      exit`),
    data: packet(40, { seed: 31 }),
  },
  {
    name: 'xdp_adjust_head shrinks the front',
    type: 'xdp',
    insns: prog(`${xdpAdjust(44, 20)}
mov %r0, 2
out:
exit`),
    data: packet(60, { seed: 32 }),
  },
  {
    name: 'xdp_adjust_head beyond the headroom is EINVAL',
    type: 'xdp',
    insns: prog(`${xdpAdjust(44, -240)}
mov %r0, 2
out:
exit`),
    data: packet(60),
  },
  {
    name: 'xdp_adjust_head leaving less than an Ethernet header is EINVAL',
    type: 'xdp',
    insns: prog(`${xdpAdjust(44, 50)}
mov %r0, 2
out:
exit`),
    data: packet(60),
  },
  {
    name: 'xdp_adjust_meta adds metadata that data_out shows in front',
    type: 'xdp',
    insns: prog(`${xdpAdjust(54, -8)}
      ldxw %r2, [%r6]
      ldxw %r3, [%r6+8]
      mov %r4, %r3
      add %r4, 8
      mov %r0, 1
      jgt %r4, %r2, out
      stdw [%r3], 0x5a5a
      mov %r0, 2
    out:
      exit`),
    data: packet(30, { seed: 33 }),
  },
  {
    name: 'xdp_adjust_meta by a non-multiple of 4 is EACCES',
    type: 'xdp',
    insns: prog(`${xdpAdjust(54, -6)}
mov %r0, 2
out:
exit`),
    data: packet(30),
  },
  {
    name: 'xdp_adjust_tail shrinks',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, -10)}
mov %r0, 2
out:
exit`),
    data: packet(60, { seed: 34 }),
  },
  {
    name: 'xdp_adjust_tail grows with zeroed bytes',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, 20)}
mov %r0, 2
out:
exit`),
    data: packet(60, { seed: 35 }),
  },
  {
    name: 'xdp_adjust_tail past the frame is EINVAL',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, 3500)}
mov %r0, 2
out:
exit`),
    data: packet(60),
  },
  {
    name: 'xdp_adjust_tail below an Ethernet header is EINVAL',
    type: 'xdp',
    insns: prog(`${xdpAdjust(65, -50)}
mov %r0, 2
out:
exit`),
    data: packet(60),
  },
  {
    name: 'skb_load_bytes in a socket filter (offsets from the network header)',
    type: 'socket_filter',
    insns: prog(`
      mov %r2, 2
      mov %r3, %r10
      add %r3, -8
      mov %r4, 8
      call 26
      jne %r0, 0, out
      ldxdw %r0, [%r10-8]
      mov %r1, %r0
      rsh %r1, 32
      xor %r0, %r1
    out:
      exit`),
    data: packet(60, { seed: 36 }),
  },
  {
    name: 'skb_load_bytes past the end is EFAULT',
    type: 'sched_cls',
    insns: prog('mov %r2, 55\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 8\ncall 26\nexit'),
    data: packet(60),
  },
  {
    name: 'skb_load_bytes in sched_cls (offsets from the MAC header)',
    type: 'sched_cls',
    insns: prog('mov %r2, 12\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 2\ncall 26\nldxh %r0, [%r10-8]\nexit'),
    data: packet(60, { ethertype: 0x88cc }),
  },
  {
    name: 'sched_cls ctx_in mark and priority',
    type: 'sched_cls',
    insns: prog('ldxw %r0, [%r1+8]\nldxw %r2, [%r1+32]\nlsh %r2, 8\nadd %r0, %r2\nexit'),
    data: packet(40),
    ctx: ctxWith(192, { 8: 0x55, 32: 3 }),
  },
  {
    name: 'sched_cls wire_len with ctx_in',
    type: 'sched_cls',
    insns: prog('ldxw %r0, [%r1+160]\nexit'),
    data: packet(48),
    ctx: ctxWith(192, {}),
  },
  {
    name: 'sched_cls wire_len without ctx_in',
    type: 'sched_cls',
    insns: prog('ldxw %r0, [%r1+160]\nexit'),
    data: packet(48),
  },
  {
    name: 'sched_cls ctx_in with a non-settable field',
    type: 'sched_cls',
    insns: prog('mov %r0, 0\nexit'),
    data: packet(40),
    ctx: ctxWith(192, { 4: 1 }),
    expect: 'run_error',
  },
  {
    name: 'xdp metadata from ctx_in',
    type: 'xdp',
    insns: prog(`
      ldxw %r2, [%r1]
      ldxw %r3, [%r1+8]
      mov %r4, %r3
      add %r4, 1
      mov %r0, 0
      jgt %r4, %r2, out
      ldxb %r0, [%r3]
      lsh %r0, 8
      sub %r2, %r3
      or %r0, %r2
    out:
      exit`),
    data: packet(40, { seed: 4 }),
    ctx: ctxWith(24, { 0: 8, 4: 40 }),
  },
  {
    name: 'xdp ctx_in data_end short of the input (the rest becomes fragments)',
    type: 'xdp',
    insns: prog(XDP_LEN),
    data: packet(40),
    ctx: ctxWith(24, { 0: 0, 4: 31 }),
  },
  {
    name: 'xdp 36 bytes of metadata',
    type: 'xdp',
    insns: prog(XDP_LEN),
    data: packet(80),
    ctx: ctxWith(24, { 0: 36, 4: 80 }),
  },
  {
    name: 'xdp 220 bytes of metadata is too much',
    type: 'xdp',
    insns: prog(XDP_LEN),
    data: packet(300),
    ctx: ctxWith(24, { 0: 220, 4: 300 }),
    expect: 'run_error',
  },
  {
    name: 'sched_cls 3712-byte packet (the largest)',
    type: 'sched_cls',
    insns: prog('ldxw %r0, [%r1]\nexit'),
    data: packet(3712),
  },
  {
    name: 'sched_cls 3713-byte packet is too large',
    type: 'sched_cls',
    insns: prog('ldxw %r0, [%r1]\nexit'),
    data: packet(3713),
    expect: 'run_error',
  },
  {
    name: 'xdp 4000-byte packet: 3520 linear bytes',
    type: 'xdp',
    insns: prog(XDP_LEN),
    data: packet(4000, { seed: 2 }),
  },
  { name: 'xdp pass', type: 'xdp', insns: prog('mov %r0, 2\nexit'), data: packet(60) },
  {
    name: 'xdp first byte with bounds check',
    type: 'xdp',
    insns: prog(`${XDP_BOUNDS}
      mov %r4, %r2
      add %r4, 1
      mov %r0, 0
      jgt %r4, %r3, out
      ldxb %r0, [%r2]
    out:
      exit`),
    data: packet(40, { dest: [0xab, 1, 2, 3, 4, 5] }),
  },
  {
    name: 'xdp swap MAC addresses',
    type: 'xdp',
    insns: prog(`${XDP_BOUNDS}
      mov %r4, %r2
      add %r4, 14
      mov %r0, 1
      jgt %r4, %r3, out
      ldxw %r5, [%r2]
      ldxh %r6, [%r2+4]
      ldxw %r7, [%r2+6]
      ldxh %r8, [%r2+10]
      stxw [%r2], %r7
      stxh [%r2+4], %r8
      stxw [%r2+6], %r5
      stxh [%r2+10], %r6
      mov %r0, 3
    out:
      exit`),
    data: packet(64, { dest: [1, 2, 3, 4, 5, 6], seed: 3 }),
  },
  {
    name: 'xdp increment first 16 bytes (bounded loop)',
    type: 'xdp',
    insns: prog(`${XDP_BOUNDS}
      mov %r4, %r2
      add %r4, 16
      mov %r0, 0
      jgt %r4, %r3, out
      mov %r5, 0
    loop:
      ldxb %r6, [%r2]
      add %r6, 1
      stxb [%r2], %r6
      add %r2, 1
      add %r5, 1
      jlt %r5, 16, loop
      mov %r0, 2
    out:
      exit`),
    data: packet(33, { seed: 11 }),
  },
  { name: 'xdp ingress_ifindex', type: 'xdp', insns: prog('ldxw %r0, [%r1+12]\nexit'), data: packet(20) },
  { name: 'xdp rx_queue_index', type: 'xdp', insns: prog('ldxw %r0, [%r1+16]\nexit'), data: packet(20) },
  {
    name: 'xdp data_end - data',
    type: 'xdp',
    insns: prog(`${XDP_BOUNDS}\nmov %r0, %r3\nsub %r0, %r2\nexit`),
    data: packet(77),
  },
  {
    name: 'xdp data - data_meta',
    type: 'xdp',
    insns: prog('ldxw %r2, [%r1]\nldxw %r3, [%r1+8]\nmov %r0, %r2\nsub %r0, %r3\nexit'),
    data: packet(30),
  },
  {
    name: 'xdp ethertype via be16',
    type: 'xdp',
    insns: prog(`${XDP_BOUNDS}
      mov %r4, %r2
      add %r4, 14
      mov %r0, 0
      jgt %r4, %r3, out
      ldxh %r0, [%r2+12]
      be16 %r0
    out:
      exit`),
    data: packet(30, { ethertype: 0x86dd }),
  },
  {
    name: 'xdp byte sum over 60 bytes',
    type: 'xdp',
    insns: prog(`${XDP_BOUNDS}
      mov %r4, %r2
      add %r4, 60
      mov %r0, 0
      jgt %r4, %r3, out
      mov %r5, 0
    loop:
      ldxb %r6, [%r2]
      add %r0, %r6
      add %r2, 1
      add %r5, 1
      jlt %r5, 60, loop
    out:
      exit`),
    data: packet(60, { seed: 99 }),
  },
  {
    name: 'socket_filter ld_abs b/h/w',
    type: 'socket_filter',
    insns: prog(
      'mov %r6, %r1',
      ldabs(1, 0),
      'mov %r7, %r0',
      ldabs(2, 2),
      'lsh %r7, 16\nxor %r7, %r0',
      ldabs(4, 12),
      'xor %r0, %r7\nexit',
    ),
    data: packet(60, { seed: 5 }),
  },
  {
    name: 'socket_filter ld_abs out of bounds ends with 0',
    type: 'socket_filter',
    insns: prog('mov %r6, %r1', ldabs(4, 44), 'mov %r0, 7\nexit'),
    data: packet(60),
  },
  {
    name: 'socket_filter ld_abs last word in bounds',
    type: 'socket_filter',
    insns: prog('mov %r6, %r1', ldabs(4, 42), 'exit'),
    data: packet(60, { seed: 8 }),
  },
  {
    name: 'socket_filter ld_abs SKF_LL_OFF (MAC header) and SKF_NET_OFF',
    type: 'socket_filter',
    insns: prog(
      'mov %r6, %r1',
      ldabs(2, -0x200000 + 12),
      'mov %r7, %r0',
      ldabs(1, -0x100000 + 1),
      'lsh %r7, 8\nor %r0, %r7\nexit',
    ),
    data: packet(60, { seed: 9 }),
  },
  {
    name: 'sched_cls ld_ind SKF_NET_OFF and an unknown negative offset',
    type: 'sched_cls',
    insns: prog(
      'mov %r6, %r1\nmov %r7, -0x100000',
      ldind(4, 7, 2),
      'mov %r8, %r0',
      ldabs(1, -0x1000),
      'add %r0, %r8\nmov %r0, 77\nexit',
    ),
    data: packet(60, { seed: 10 }),
  },
  {
    name: 'socket_filter ld_abs SKF_LL_OFF into the headroom',
    type: 'socket_filter',
    insns: prog('mov %r6, %r1', ldabs(4, -0x200000 - 8), 'add %r0, 5\nexit'),
    data: packet(60, { seed: 12 }),
  },
  {
    name: 'socket_filter ld_ind',
    type: 'socket_filter',
    insns: prog(
      'mov %r6, %r1\nmov %r7, 4',
      ldind(1, 7, 3),
      'mov %r8, %r0',
      ldind(2, 7, 5),
      'add %r0, %r8\nexit',
    ),
    data: packet(40, { seed: 21 }),
  },
  {
    name: 'socket_filter skb->len',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1]\nexit'),
    data: packet(71),
  },
  {
    name: 'socket_filter skb->protocol IPv4',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1+16]\nexit'),
    data: packet(40),
  },
  {
    name: 'socket_filter skb->protocol IPv6',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1+16]\nexit'),
    data: packet(60, { ethertype: 0x86dd }),
  },
  {
    name: 'socket_filter skb->protocol 802.2 (length field)',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1+16]\nexit'),
    data: packet(40, { ethertype: 0x0020 }),
  },
  {
    name: 'socket_filter pkt_type host',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1+4]\nexit'),
    data: packet(40),
  },
  {
    name: 'socket_filter pkt_type broadcast dest',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1+4]\nexit'),
    data: packet(40, { dest: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] }),
  },
  {
    name: 'socket_filter pkt_type unicast other host',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1+4]\nexit'),
    data: packet(40, { dest: [2, 0, 0, 0, 0, 1] }),
  },
  {
    name: 'socket_filter ifindex and ingress_ifindex',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1+40]\nldxw %r2, [%r1+36]\nlsh %r2, 8\nor %r0, %r2\nexit'),
    data: packet(40),
  },
  {
    name: 'socket_filter cb[] write and read',
    type: 'socket_filter',
    insns: prog(
      'stw [%r1+48], 5\nstw [%r1+64], 9\nldxw %r0, [%r1+48]\nldxw %r2, [%r1+64]\nlsh %r2, 4\nor %r0, %r2\nexit',
    ),
    data: packet(40),
  },
  { name: 'sched_cls skb->len', type: 'sched_cls', insns: prog('ldxw %r0, [%r1]\nexit'), data: packet(71) },
  {
    name: 'sched_cls direct packet write',
    type: 'sched_cls',
    insns: prog(`
      ldxw %r2, [%r1+76]
      ldxw %r3, [%r1+80]
      mov %r4, %r2
      add %r4, 8
      mov %r0, 2
      jgt %r4, %r3, out
      stb [%r2], 0xaa
      ldxw %r5, [%r2+2]
      add %r5, 1
      stxw [%r2+4], %r5
      mov %r0, 0
    out:
      exit`),
    data: packet(50, { seed: 17 }),
  },
  {
    name: 'sched_cls ld_abs counts from the MAC header',
    type: 'sched_cls',
    insns: prog('mov %r6, %r1', ldabs(2, 12), 'exit'),
    data: packet(40, { ethertype: 0x0806 }),
  },
  {
    name: 'sched_cls zero fields (mark, queue_mapping, priority, tc_index, hash, tc_classid)',
    type: 'sched_cls',
    insns: prog(`
      ldxw %r0, [%r1+8]
      ldxw %r2, [%r1+12]
      or %r0, %r2
      ldxw %r2, [%r1+32]
      or %r0, %r2
      ldxw %r2, [%r1+44]
      or %r0, %r2
      ldxw %r2, [%r1+68]
      or %r0, %r2
      ldxw %r2, [%r1+72]
      or %r0, %r2
      add %r0, 40
      exit`),
    data: packet(40),
  },
  {
    name: 'sched_cls napi_id, gso_segs, gso_size, tstamp, hwtstamp, vlan fields, data_meta - data',
    type: 'sched_cls',
    insns: prog(`
      ldxw %r0, [%r1+84]
      ldxw %r2, [%r1+164]
      or %r0, %r2
      ldxw %r2, [%r1+176]
      or %r0, %r2
      ldxdw %r2, [%r1+152]
      or %r0, %r2
      ldxdw %r2, [%r1+184]
      or %r0, %r2
      ldxw %r2, [%r1+20]
      or %r0, %r2
      ldxw %r2, [%r1+24]
      or %r0, %r2
      ldxw %r2, [%r1+28]
      or %r0, %r2
      ldxw %r2, [%r1+140]
      ldxw %r3, [%r1+76]
      sub %r2, %r3
      or %r0, %r2
      add %r0, 9
      exit`),
    data: packet(40, { ethertype: 0x8100 }),
  },
  {
    name: 'sched_cls mark write then read',
    type: 'sched_cls',
    insns: prog('stw [%r1+8], 0x1234\nldxw %r0, [%r1+8]\nexit'),
    data: packet(40),
  },
  {
    name: 'array map lookup and increment',
    type: 'socket_filter',
    insns: prog(
      'stw [%r10-4], 1\nmov %r2, %r10\nadd %r2, -4',
      ...ldMap(1, 0),
      `call 1
      mov %r6, 0
      jeq %r0, 0, out
      ldxdw %r1, [%r0]
      add %r1, 41
      stxdw [%r0], %r1
      ldxdw %r6, [%r0]
    out:
      mov %r0, %r6
      exit`,
    ),
    data: packet(40),
    maps: [{ valueSize: 8, maxEntries: 4 }],
  },
  {
    name: 'array map direct value (lddw src 2)',
    type: 'xdp',
    insns: prog(...ldMap(1, 0, 2, 4), 'stw [%r1], 0x1234\nstb [%r1+4], 7\nmov %r0, 2\nexit'),
    data: packet(20),
    maps: [{ valueSize: 12, maxEntries: 1 }],
  },
  {
    name: 'lddw src 2 on a multi-element array is refused',
    type: 'xdp',
    insns: prog(...ldMap(1, 0, 2, 4), 'mov %r0, 2\nexit'),
    data: packet(20),
    maps: [{ valueSize: 12, maxEntries: 2 }],
    expect: 'reject',
  },
  {
    name: 'socket_filter IPv4 packet shorter than an IP header',
    type: 'socket_filter',
    insns: prog('mov %r0, 1\nexit'),
    data: packet(33),
    expect: 'run_error',
  },
  {
    name: 'sched_cls IPv6 packet shorter than an IPv6 header',
    type: 'sched_cls',
    insns: prog('mov %r0, 1\nexit'),
    data: packet(53, { ethertype: 0x86dd }),
    expect: 'run_error',
  },
  {
    name: 'socket_filter short ARP packet is fine',
    type: 'socket_filter',
    insns: prog('ldxw %r0, [%r1]\nexit'),
    data: packet(15, { ethertype: 0x0806 }),
  },
  {
    name: 'xdp data shorter than an Ethernet header',
    type: 'xdp',
    insns: prog('mov %r0, 2\nexit'),
    data: packet(13),
    expect: 'run_error',
  },
  {
    name: 'array map out-of-range key gives NULL',
    type: 'socket_filter',
    insns: prog('stw [%r10-4], 2\nmov %r2, %r10\nadd %r2, -4', ...ldMap(1, 0), 'call 1\nexit'),
    data: packet(40),
    maps: [{ valueSize: 4, maxEntries: 2 }],
  },
  {
    name: 'alu edge cases folded into 32 bits',
    type: 'socket_filter',
    insns: prog(`
      lddw %r1, 0x8000000000000000
      mov %r2, -1
      sdiv %r1, %r2
      mov %r3, 0
      mov %r4, 77
      div %r4, %r3
      xor %r1, %r4
      mov %r5, 99
      mod32 %r5, %r3
      xor %r1, %r5
      lddw %r6, 0x8000000000000000
      smod %r6, %r2
      xor %r1, %r6
      mov %r7, -8
      arsh32 %r7, 1
      add %r1, %r7
      mov %r7, -1
      rsh %r7, 63
      add %r1, %r7
      mov %r0, %r1
      rsh %r0, 32
      xor %r0, %r1
      exit`),
    data: packet(40),
  },
  {
    name: 'helper ktime_get_ns is non-zero',
    type: 'socket_filter',
    insns: prog('call 5\nmov %r1, 1\njne %r0, 0, out\nmov %r1, 0\nout:\nmov %r0, %r1\nexit'),
    data: packet(40),
  },
  {
    name: 'bpf-to-bpf call keeps r6-r9 and has its own stack',
    type: 'socket_filter',
    insns: prog(`
      mov %r6, 5
      stdw [%r10-8], 100
      mov %r1, 7
      call local func1
      ldxdw %r2, [%r10-8]
      add %r0, %r2
      add %r0, %r6
      exit
    func1:
      stdw [%r10-8], 1000
      mov %r6, 1
      ldxdw %r0, [%r10-8]
      add %r0, %r1
      exit`),
    data: packet(40),
  },
];

const problem = oracleProblem();
if (problem) console.log(`kernel-diff: skipped: ${problem}`);

for (const c of cases) {
  test(`kernel-diff: ${c.name}`, { skip: problem ? `oracle unavailable: ${problem}` : false }, () => {
    const k = runKernel(c.type, c.insns, c.data, c.maps ?? [], c.ctx);
    const run = () =>
      testRun(c.insns, {
        type: c.type,
        data: c.data,
        ctx: c.ctx,
        maps: (c.maps ?? []).map((m) => ({ type: 'array' as const, ...m })),
        vmOptions: { seed: 1 },
      });
    if (c.expect === 'reject') {
      assert.equal(k.verdict, 'reject', `kernel accepted the program:\n${k.raw}`);
      assert.throws(run, InputError);
      return;
    }
    assert.equal(k.verdict, 'accept', `kernel rejected the program:\n${k.raw}`);
    if (c.expect === 'run_error') {
      assert.ok(k.runError, `kernel ran the program:\n${k.raw}`);
      assert.throws(run, UsageError);
      return;
    }
    assert.equal(k.runError, undefined, `kernel run failed:\n${k.raw}`);
    const ours = run();
    assert.equal(ours.retval, k.retval, `retval; kernel said:\n${k.raw}`);
    assert.equal(hex(ours.dataOut), k.dataOut, 'data_out');
    ours.maps.forEach((m, i) => {
      assert.ok(m instanceof ArrayMap);
      for (let key = 0; key < m.maxEntries; key++)
        assert.equal(hex(m.get(key)), k.maps.get(`map${i}[${key}]`), `map${i}[${key}]`);
    });
  });
}
