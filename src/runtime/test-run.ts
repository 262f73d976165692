// BPF_PROG_TEST_RUN in TypeScript: build the context the kernel builds for a program type, run
// the program, and report retval / data_out / ctx_out as the kernel does.
// kernel: net/bpf/test_run.c (bpf_prog_test_run_skb/_xdp/_syscall/_raw_tp)
import { InputError, RuntimeFault, UsageError } from '../errors.ts';
import type { Insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import { sharedJitEngine } from '../jit/engine.ts';
import { verifiedMaxCtxOffset } from '../jit/verified.ts';
import { ArrayMap, type ArrayMapSpec } from '../vm/array-map.ts';
import {
  ETH_HLEN,
  PACKET_HOST,
  PACKET_MULTICAST,
  PACKET_OTHERHOST,
  SK_BUFF,
  SK_BUFF_SIZE,
  XDP_MD,
  XDP_MD_SIZE,
  XDP_PACKET_HEADROOM,
} from '../vm/ctx-layout.ts';
import type { VmMap } from '../vm/maps.ts';
import type { LddwResolver, LoadedProgram } from '../vm/program.ts';
import type { PacketWindow } from '../vm/interp.ts';
import { type RunResult, Vm, type VmOptions } from '../vm/vm.ts';

export type TestRunProgType =
  | 'socket_filter'
  | 'sched_cls'
  | 'sched_act'
  | 'xdp'
  | 'syscall'
  | 'raw_tracepoint';

export interface TestRunOptions {
  type: TestRunProgType;
  /** data_in: the packet, Ethernet header included. */
  data?: Uint8Array;
  /** ctx_in: a __sk_buff / xdp_md / syscall argument block / raw tracepoint u64 args. */
  ctx?: Uint8Array;
  /** Runs the program this many times (0 means 1, as in the kernel); retval is the last run's. */
  repeat?: number;
  /** Maps that lddw with src 1/2/5/6 refers to by index (imm). Specs are created in the VM. */
  maps?: readonly (ArrayMapSpec | VmMap)[];
  /** Run in this VM (default: a new checked VM built from vmOptions). */
  vm?: Vm;
  vmOptions?: VmOptions;
  /** 'jit' compiles the program to WebAssembly (src/jit, one shared cache); default 'interp'. */
  engine?: 'interp' | 'jit';
  /** Resolves pseudo lddw sources other than maps (PSEUDO_FUNC, BTF ids). */
  resolveLddw?: LddwResolver;
  name?: string;
}

export interface TestRunResult {
  /** Low 32 bits of r0, unsigned (the kernel's test.retval). */
  retval: number;
  /** Full r0 of the last run. */
  r0: bigint;
  dataOut: Uint8Array;
  /** ctx_out, when a ctx was given (the kernel copies it back only then). */
  ctxOut?: Uint8Array;
  /**
   * Mean wall time of one run, in nanoseconds, as the kernel's `duration`: the timed loop holds
   * the runs only, not compilation, context setup or copying data in and out.
   */
  durationNs: number;
  /** Time spent compiling the program before the loop (the JIT's first-run work; ~0 interpreted). */
  compileNs: number;
  /** Time spent outside the timed loop building the context and packet and copying them out. */
  setupNs: number;
  /** Instructions executed by the last run. */
  insns: number;
  /** The maps, in the order of `maps`, for inspecting values afterwards. */
  maps: VmMap[];
}

// kernel: PAGE_SIZE - headroom - tailroom limits in bpf_test_init(); tailroom is
// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) = 320 on x86-64.
const PAGE = 4096;
const SKB_HEADROOM = 64; // NET_SKB_PAD + NET_IP_ALIGN
const TAILROOM = 320;
const SKB_MAX_DATA = PAGE - SKB_HEADROOM - TAILROOM;
const XDP_MAX_DATA = PAGE - XDP_PACKET_HEADROOM - TAILROOM;
/** Metadata comes out of the headroom, minus room for a struct xdp_frame (40 bytes). */
const XDP_MAX_META = XDP_PACKET_HEADROOM - 40;
const MAX_SKB_FRAGS = 17;
const MAX_RAW_TP_CTX = 12 * 8; // MAX_BPF_FUNC_ARGS * sizeof(u64)
const GSO_LEGACY_MAX_SIZE = 65536;
const GSO_MAX_SEGS = 65535;

/** Empty fragments, shared: the helpers replace `bytes` rather than resize it in place. */
const NO_FRAGS = new Uint8Array(0);

const einval = (msg: string): never => {
  throw new UsageError(`test run: ${msg} (the kernel returns EINVAL)`);
};

export function testRun(insns: readonly Insn[] | LoadedProgram, opts: TestRunOptions): TestRunResult {
  if (opts.vm && opts.engine) throw new UsageError('test run: give the engine to the Vm passed as `vm`');
  const vm =
    opts.vm ??
    new Vm(opts.engine === 'jit' ? { ...opts.vmOptions, engine: sharedJitEngine().run } : opts.vmOptions);
  const maps = (opts.maps ?? []).map((m) => {
    const map = 'ptr' in m ? m : new ArrayMap(vm.arena, m);
    vm.registerMap(map);
    return map;
  });
  const prog =
    'code' in insns
      ? insns
      : vm.load(insns, { name: opts.name, resolveLddw: mapResolver(maps, opts.resolveLddw) });
  const repeat = Math.max(1, opts.repeat ?? 1);
  const t0 = performance.now();
  // A clock read costs ~50 ns, a good part of a single short run: read it only after real work.
  const t1 = vm.prepare(prog) ? performance.now() : t0;
  const loop = { ns: 0 };
  const r = runOfType(vm, prog, opts, repeat, maps, loop);
  r.compileNs = Math.round((t1 - t0) * 1e6);
  r.setupNs = Math.max(0, Math.round((performance.now() - t1) * 1e6 - loop.ns));
  return r;
}

/** Receives the timed loop's total time, ns. */
export interface LoopTime {
  ns: number;
}

function runOfType(
  vm: Vm,
  prog: LoadedProgram,
  opts: TestRunOptions,
  repeat: number,
  maps: VmMap[],
  loop: LoopTime,
): TestRunResult {
  switch (opts.type) {
    case 'socket_filter':
    case 'sched_cls':
    case 'sched_act':
      return runSkb(vm, prog, opts, repeat, maps, loop);
    case 'xdp':
      return runXdp(vm, prog, opts, repeat, maps, loop);
    case 'syscall':
    case 'raw_tracepoint':
      return runCtxOnly(vm, prog, opts, repeat, maps, loop);
    default:
      throw new UsageError(`test run: program type ${String(opts.type)} is not supported`);
  }
}

/**
 * lddw src=1/5 → the map's pointer; src=2/6 → address of value byte `hiImm` of element 0.
 * Other sources go to `other`, if given.
 */
export function mapResolver(maps: readonly VmMap[], other?: LddwResolver): LddwResolver {
  return (i, insnIdx, hiImm) => {
    const where = { insnIdx };
    if (
      i.src !== op.PSEUDO_MAP_FD &&
      i.src !== op.PSEUDO_MAP_VALUE &&
      i.src !== op.PSEUDO_MAP_IDX &&
      i.src !== op.PSEUDO_MAP_IDX_VALUE
    ) {
      if (other) return other(i, insnIdx, hiImm);
      throw new InputError('PROG', `lddw pseudo source ${i.src} is not supported here`, { where });
    }
    const m = maps[i.imm];
    if (!m) throw new InputError('PROG', `lddw refers to map ${i.imm}, only ${maps.length} given`, { where });
    if (i.src === op.PSEUDO_MAP_FD || i.src === op.PSEUDO_MAP_IDX) {
      if (hiImm !== 0) throw new InputError('PROG', 'lddw map pointer with non-zero second imm', { where });
      return { lo: m.ptr, hi: 0 };
    }
    const a = m.directValueAddr(hiImm);
    if (a === undefined)
      throw new InputError('PROG', `map ${m.name}: no direct value access at offset ${hiImm}`, { where });
    return { lo: a, hi: 0 };
  };
}

/**
 * The kernel's timed loop: `repeat` runs on the context as it stands, nothing but the runs
 * timed; the last retval and the mean time per run are reported. kernel: bpf_test_run()
 */
export function timedRuns(
  vm: Vm,
  prog: LoadedProgram,
  ctx: number,
  repeat: number,
  loop: LoopTime,
  packet?: PacketWindow,
): { r: RunResult; durationNs: number } {
  const t = performance.now();
  const r = vm.runRepeated(prog, ctx, repeat, packet);
  loop.ns = (performance.now() - t) * 1e6;
  return { r, durationNs: Math.round(loop.ns / repeat) };
}

/** A run's result fields; compileNs and setupNs are filled in by testRun. */
function result(
  r: RunResult,
  timing: { durationNs: number },
  dataOut: Uint8Array,
  ctxOut: Uint8Array | undefined,
  maps: VmMap[],
): TestRunResult {
  return {
    retval: r.u32,
    r0: r.value,
    dataOut,
    ctxOut,
    durationNs: timing.durationNs,
    compileNs: 0,
    setupNs: 0,
    insns: r.insns,
    maps,
  };
}

function requirePacket(data: Uint8Array | undefined, max: number): Uint8Array {
  if (!data) return einval('data_in is required for this program type');
  if (data.length < ETH_HLEN) einval(`data_in is ${data.length} bytes, shorter than an Ethernet header`);
  if (data.length > max) einval(`data_in is ${data.length} bytes, more than ${max}`);
  return data;
}

function nonZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < Math.min(to, b.length); i++) if (b[i] !== 0) return true;
  return false;
}

/** kernel: bpf_ctx_init() — ctx_in may be shorter than the struct; bytes past it must be zero. */
function ctxIn(ctx: Uint8Array | undefined, size: number): Uint8Array | undefined {
  if (!ctx) return undefined;
  if (nonZero(ctx, size, ctx.length)) einval(`ctx_in has non-zero bytes past the ${size}-byte struct`);
  const out = new Uint8Array(size);
  out.set(ctx.subarray(0, size));
  return out;
}

// kernel: convert___skb_to_skb() — which __sk_buff fields a caller may set.
const SKB_SETTABLE: readonly [number, number][] = [
  [SK_BUFF.mark, 4],
  [SK_BUFF.priority, 4],
  [SK_BUFF.ingress_ifindex, 4],
  [SK_BUFF.ifindex, 4],
  [SK_BUFF.cb, 20],
  [SK_BUFF.tstamp, 8],
  [SK_BUFF.wire_len, 4],
  [SK_BUFF.gso_segs, 4],
  [SK_BUFF.gso_size, 4],
  [SK_BUFF.hwtstamp, 8],
];

function checkSkbCtx(c: Uint8Array): void {
  let pos = 0;
  for (const [off, len] of SKB_SETTABLE) {
    if (nonZero(c, pos, off)) einval(`__sk_buff bytes ${pos}..${off - 1} must be zero`);
    pos = off + len;
  }
  if (nonZero(c, pos, SK_BUFF_SIZE)) einval(`__sk_buff bytes ${pos}..${SK_BUFF_SIZE - 1} must be zero`);
}

/** kernel: eth_type_trans() on the loopback device (address 00:00:00:00:00:00). */
function ethTypeTrans(pkt: Uint8Array): { protocol: number; pktType: number } {
  let pktType = PACKET_HOST;
  const dest = pkt.subarray(0, 6);
  if (dest.some((b) => b !== 0)) {
    // Multicast bit set: broadcast only if it equals the device's broadcast address (lo: zeros).
    pktType = (dest[0]! & 1) !== 0 ? PACKET_MULTICAST : PACKET_OTHERHOST;
  }
  const proto = (pkt[12]! << 8) | pkt[13]!;
  let protocol: number;
  if (proto >= 0x0600) protocol = proto;
  else if (pkt.length >= ETH_HLEN + 2 && pkt[14] === 0xff && pkt[15] === 0xff)
    protocol = 0x0001; // ETH_P_802_3
  else protocol = 0x0004; // ETH_P_802_2
  return { protocol, pktType };
}

function runSkb(
  vm: Vm,
  prog: LoadedProgram,
  opts: TestRunOptions,
  repeat: number,
  maps: VmMap[],
  loop: LoopTime,
): TestRunResult {
  const data = requirePacket(opts.data, SKB_MAX_DATA);
  const user = ctxIn(opts.ctx, SK_BUFF_SIZE);
  const isL2 = opts.type !== 'socket_filter';
  const a = vm.arena;
  const size = data.length;
  if (user) {
    checkSkbCtx(user);
    const ud = new DataView(user.buffer);
    if (ud.getUint32(SK_BUFF.ifindex, true) > 1) einval('ifindex other than lo (1) is not emulated');
    const wire = ud.getUint32(SK_BUFF.wire_len, true);
    const len = isL2 ? size : size - ETH_HLEN;
    if (wire !== 0 && (wire < len || wire > GSO_LEGACY_MAX_SIZE)) einval(`wire_len ${wire} out of range`);
    if (ud.getUint32(SK_BUFF.gso_segs, true) > GSO_MAX_SEGS) einval('gso_segs too large');
  }
  const block = a.alloc(SKB_HEADROOM + size, 8, { kind: 'packet', writable: true, name: 'packet' });
  const ctx = a.alloc(SK_BUFF_SIZE, 8, { kind: 'ctx', writable: true, name: '__sk_buff' });
  try {
    const l2 = block + SKB_HEADROOM;
    a.write(l2, data);
    const start = isL2 ? l2 : l2 + ETH_HLEN;
    const end = l2 + size;
    a.setWindow(block, start, end);
    const { protocol, pktType } = ethTypeTrans(data);
    // kernel: an IPv4/IPv6 ethertype needs a whole L3 header after the Ethernet header.
    if (protocol === 0x0800 && size - ETH_HLEN < 20) einval('IPv4 packet shorter than an IP header');
    if (protocol === 0x86dd && size - ETH_HLEN < 40) einval('IPv6 packet shorter than an IPv6 header');
    const dv = a.dv;
    if (user) a.write(ctx, user);
    // The fields the kernel derives from the skb rather than from ctx_in.
    dv.setUint32(ctx + SK_BUFF.len, end - start, true);
    dv.setUint32(ctx + SK_BUFF.pkt_type, pktType, true);
    dv.setUint16(ctx + SK_BUFF.protocol, ((protocol & 0xff) << 8) | (protocol >>> 8), true); // __be16
    dv.setUint32(ctx + SK_BUFF.ifindex, 1, true);
    dv.setUint32(ctx + SK_BUFF.data, start, true);
    dv.setUint32(ctx + SK_BUFF.data_end, end, true);
    dv.setUint32(ctx + SK_BUFF.data_meta, start, true);
    // kernel: qdisc_skb_cb(skb)->pkt_len, set only when a ctx is passed.
    if (user && dv.getUint32(ctx + SK_BUFF.wire_len, true) === 0)
      dv.setUint32(ctx + SK_BUFF.wire_len, end - start, true);

    vm.packetCtx.set(ctx, {
      kind: 'skb',
      block,
      hardStart: block,
      frameSize: SKB_HEADROOM + size,
      // of the skb types a test run takes, only socket filters may not write packets
      rdonly: opts.type === 'socket_filter',
    });
    const timing = timedRuns(vm, prog, ctx, repeat, loop, {
      start,
      len: end - start,
      mac: l2,
      net: l2 + ETH_HLEN,
      head: block,
      tail: end,
    });
    const r = timing.r;
    const s = a.dv.getUint32(ctx + SK_BUFF.data, true);
    const e = a.dv.getUint32(ctx + SK_BUFF.data_end, true);
    // Unverified code may have overwritten the pointers (the verifier forbids it).
    if (s < block || e < s || e > block + SKB_HEADROOM + size)
      throw new RuntimeFault('ctx', '__sk_buff data/data_end were overwritten by the program');
    // kernel: socket filters get the Ethernet header pushed back, zeroed.
    const dataOut = isL2 ? a.read(s, e - s) : concat(new Uint8Array(ETH_HLEN), a.read(s, e - s));
    let ctxOut: Uint8Array | undefined;
    if (user) {
      // kernel: convert_skb_to___skb() copies back only these fields.
      ctxOut = user.slice();
      const cur = a.read(ctx, SK_BUFF_SIZE);
      for (const [off, len] of [
        [SK_BUFF.mark, 4],
        [SK_BUFF.priority, 4],
        [SK_BUFF.ingress_ifindex, 4],
        [SK_BUFF.ifindex, 4],
        [SK_BUFF.tstamp, 8],
        [SK_BUFF.cb, 20],
        [SK_BUFF.wire_len, 4],
        [SK_BUFF.gso_segs, 4],
        [SK_BUFF.hwtstamp, 8],
      ] as const)
        ctxOut.set(cur.subarray(off, off + len), off);
    }
    return result(r, timing, dataOut, ctxOut, maps);
  } finally {
    vm.packetCtx.delete(ctx);
    a.freeBlock(ctx);
    a.freeBlock(block);
  }
}

function runXdp(
  vm: Vm,
  prog: LoadedProgram,
  opts: TestRunOptions,
  repeat: number,
  maps: VmMap[],
  loop: LoopTime,
): TestRunResult {
  const data = opts.data;
  if (!data) return einval('data_in is required for xdp');
  if (data.length < ETH_HLEN) einval(`data_in is ${data.length} bytes, shorter than an Ethernet header`);
  const user = ctxIn(opts.ctx, XDP_MD_SIZE);
  let metaLen = 0;
  let linear = data.length;
  if (user) {
    const ud = new DataView(user.buffer);
    metaLen = ud.getUint32(XDP_MD.data, true);
    const dataEnd = ud.getUint32(XDP_MD.data_end, true);
    // kernel: bpf_prog_test_run_xdp() / xdp_convert_md_to_buff(); data_end may stop short of
    // the input, and the rest goes to fragments.
    if (ud.getUint32(XDP_MD.data_meta, true) !== 0) einval('xdp_md.data_meta must be 0');
    if (dataEnd > data.length) einval('xdp_md.data_end beyond the data size');
    if (metaLen > dataEnd) einval('xdp_md.data beyond data_end');
    if ((metaLen & 3) !== 0 || metaLen > XDP_MAX_META) einval(`metadata length ${metaLen} invalid`);
    if (ud.getUint32(XDP_MD.egress_ifindex, true) !== 0) einval('xdp_md.egress_ifindex must be 0');
    const ifindex = ud.getUint32(XDP_MD.ingress_ifindex, true);
    const rxq = ud.getUint32(XDP_MD.rx_queue_index, true);
    if (ifindex === 0 && rxq !== 0) einval('rx_queue_index without ingress_ifindex');
    if (ifindex > 1) einval('ingress_ifindex other than lo (1) is not emulated');
    if (rxq !== 0) einval('lo has a single rx queue');
    linear = dataEnd;
  }
  linear = Math.min(linear, metaLen + XDP_MAX_DATA);
  // Bytes past the linear part: fragments the program cannot reach without helpers; they come
  // back unchanged in data_out.
  // A copy: helpers may write or resize the fragments.
  const fragState = { bytes: linear < data.length ? data.slice(linear) : NO_FRAGS };
  if (fragState.bytes.length > MAX_SKB_FRAGS * PAGE)
    einval('data_in needs more than MAX_SKB_FRAGS fragments');
  const a = vm.arena;
  const { block, ctx } = takeXdpFrame(vm);
  try {
    const meta = block + XDP_PACKET_HEADROOM - metaLen;
    a.write(meta, data.subarray(0, linear));
    const start = meta + metaLen;
    const end = meta + linear;
    a.setWindow(block, meta, end);
    const dv = a.dv;
    dv.setUint32(ctx + XDP_MD.data, start, true);
    dv.setUint32(ctx + XDP_MD.data_end, end, true);
    dv.setUint32(ctx + XDP_MD.data_meta, meta, true);
    dv.setUint32(ctx + XDP_MD.ingress_ifindex, 1, true); // lo
    dv.setUint32(ctx + XDP_MD.rx_queue_index, 0, true);
    vm.packetCtx.set(ctx, {
      kind: 'xdp',
      block,
      hardStart: block,
      frameSize: PAGE,
      frags: fragState,
    });
    const timing = timedRuns(vm, prog, ctx, repeat, loop);
    const d2 = a.dv;
    const m = d2.getUint32(ctx + XDP_MD.data_meta, true);
    const s = d2.getUint32(ctx + XDP_MD.data, true);
    const e = d2.getUint32(ctx + XDP_MD.data_end, true);
    if (m < block || s < m || e < s || e > block + PAGE)
      throw new RuntimeFault('ctx', 'xdp_md data pointers were overwritten by the program');
    const linearOut = a.read(m, e - m);
    const dataOut = fragState.bytes.length > 0 ? concat(linearOut, fragState.bytes) : linearOut;
    let ctxOut: Uint8Array | undefined;
    if (user) {
      ctxOut = user.slice();
      const od = new DataView(ctxOut.buffer);
      od.setUint32(XDP_MD.data, s - m, true);
      od.setUint32(XDP_MD.data_end, e - m, true);
    }
    return result(timing.r, timing, dataOut, ctxOut, maps);
  } finally {
    vm.packetCtx.delete(ctx);
    giveBackXdpFrame(vm, block, ctx);
  }
}

/**
 * The frame page and xdp_md of a VM's XDP test runs, kept between runs: allocating and
 * freeing two arena regions cost about a quarter of a short run. Idle, both windows are
 * empty, so checked accesses through stale pointers still fault.
 */
interface XdpFrame {
  block: number;
  ctx: number;
  busy: boolean;
}
const xdpFrames = new WeakMap<Vm, XdpFrame>();

/** A zeroed frame page and xdp_md (kernel: bpf_test_init() kzallocs the page every run). */
function takeXdpFrame(vm: Vm): { block: number; ctx: number } {
  const a = vm.arena;
  const f = xdpFrames.get(vm);
  // A test run from inside a running one (not done today) gets fresh blocks.
  if (!f || f.busy) {
    const block = a.alloc(PAGE, 8, { kind: 'packet', writable: true, name: 'xdp frame' });
    const ctx = a.alloc(XDP_MD_SIZE, 8, { kind: 'ctx', writable: false, name: 'xdp_md' });
    if (!f) xdpFrames.set(vm, { block, ctx, busy: true });
    return { block, ctx };
  }
  f.busy = true;
  // Wasm code may have grown the memory since, detaching the views: refresh them before writing
  // (the test is Arena.sync()'s without reading memory.buffer).
  if (a.u8.byteLength === 0) a.sync();
  a.u8.fill(0, f.block, f.block + PAGE);
  a.u8.fill(0, f.ctx, f.ctx + XDP_MD_SIZE);
  a.setWindow(f.ctx, f.ctx, f.ctx + XDP_MD_SIZE);
  return f;
}

function giveBackXdpFrame(vm: Vm, block: number, ctx: number): void {
  const a = vm.arena;
  const f = xdpFrames.get(vm);
  if (f?.block !== block) {
    a.freeBlock(ctx);
    a.freeBlock(block);
    return;
  }
  a.setWindow(block, block, block);
  a.setWindow(ctx, ctx, ctx);
  f.busy = false;
}

/** syscall and raw_tracepoint: no packet, r1 = the ctx copy (or NULL when none is given). */
function runCtxOnly(
  vm: Vm,
  prog: LoadedProgram,
  opts: TestRunOptions,
  repeat: number,
  maps: VmMap[],
  loop: LoopTime,
): TestRunResult {
  if (opts.data) einval(`${opts.type} programs take no data_in`);
  if ((opts.repeat ?? 0) > 1) einval(`${opts.type} programs do not support repeat`);
  const c = opts.ctx;
  if (opts.type === 'raw_tracepoint' && c && c.length > MAX_RAW_TP_CTX)
    einval('raw tracepoint ctx too large');
  if (opts.type === 'syscall' && c && c.length > 0xffff) einval('syscall ctx larger than U16_MAX');
  checkCtxCoversAccesses(prog, c?.length ?? 0);
  const a = vm.arena;
  const writable = opts.type === 'syscall';
  const ctx = c && c.length > 0 ? a.alloc(c.length, 8, { kind: 'ctx', writable, name: 'ctx' }) : 0;
  try {
    if (ctx) a.write(ctx, c!);
    const timing = timedRuns(vm, prog, ctx, repeat, loop);
    const ctxOut = ctx && opts.type === 'syscall' ? a.read(ctx, c!.length) : undefined;
    return result(timing.r, timing, new Uint8Array(0), ctxOut, maps);
  } finally {
    if (ctx) a.freeBlock(ctx);
  }
}

function concat(x: Uint8Array, y: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}

/**
 * kernel: bpf_prog_test_run_syscall()/_raw_tp(): ctx_size_in < max_ctx_offset is EINVAL. A
 * verified program's ctx accesses run without region checks when they went through a global
 * function's memory argument, so a short ctx must be refused before the run, as in Linux.
 */
export function checkCtxCoversAccesses(prog: LoadedProgram, ctxLen: number): void {
  const need = verifiedMaxCtxOffset(prog);
  if (need !== undefined && ctxLen < need) {
    einval(`ctx_size_in ${ctxLen} is less than the ${need} bytes the program's ctx accesses reach`);
  }
}
