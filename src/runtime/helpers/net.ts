// Packet helpers beyond the VM's (which has xdp_adjust_* and skb_load_bytes): writing an skb,
// incremental checksums, and redirects (recorded as the run's action).
// kernel: net/core/filter.c (bpf_skb_store_bytes, bpf_l3/l4_csum_replace, bpf_csum_diff,
// bpf_redirect, bpf_xdp_redirect, bpf_xdp_redirect_map)
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import { SK_BUFF } from '../../vm/ctx-layout.ts';
import { mapArg } from './callbacks.ts';
import { EFAULT, EINVAL, type RuntimeEnv } from './env.ts';

export const BPF_FUNC_skb_store_bytes = 9;
export const BPF_FUNC_l3_csum_replace = 10;
export const BPF_FUNC_l4_csum_replace = 11;
export const BPF_FUNC_redirect = 23;
export const BPF_FUNC_csum_diff = 28;
export const BPF_FUNC_redirect_map = 51;

// kernel: include/uapi/linux/bpf.h flag values
const BPF_F_RECOMPUTE_CSUM = 1n;
const BPF_F_INVALIDATE_HASH = 2n;
const BPF_F_HDR_FIELD_MASK = 0xfn;
const BPF_F_PSEUDO_HDR = 0x10n;
const BPF_F_MARK_MANGLED_0 = 0x20n;
const BPF_F_MARK_ENFORCE = 0x40n;
const BPF_F_IPV6 = 0x80n;
const BPF_F_INGRESS = 1n;
const XDP_ABORTED = 0;
const XDP_REDIRECT = 4;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const CSUM_MANGLED_0 = 0xffff;
/** kernel: sizeof(bpf_csum_scratchpad.diff) */
const CSUM_DIFF_MAX = 512;

const ctxArg = { type: 'ARG_PTR_TO_CTX' } as const;
const anything = { type: 'ARG_ANYTHING' } as const;
const roMemOrNull = { type: 'ARG_PTR_TO_MEM', flags: ['PTR_MAYBE_NULL', 'MEM_RDONLY'] } as const;
export const netProtos = {
  skbStoreBytes: {
    ret: 'RET_INTEGER',
    args: [
      ctxArg,
      anything,
      { type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] },
      { type: 'ARG_CONST_SIZE' },
      anything,
    ],
  },
  csumReplace: { ret: 'RET_INTEGER', args: [ctxArg, anything, anything, anything, anything] },
  csumDiff: {
    ret: 'RET_INTEGER',
    pktAccess: true,
    args: [
      roMemOrNull,
      { type: 'ARG_CONST_SIZE_OR_ZERO' },
      roMemOrNull,
      { type: 'ARG_CONST_SIZE_OR_ZERO' },
      anything,
    ],
  },
  redirect: { ret: 'RET_INTEGER', args: [anything, anything] },
  redirectMap: { ret: 'RET_INTEGER', args: [{ type: 'ARG_CONST_MAP_PTR' }, anything, anything] },
} as const satisfies Record<string, FuncProto>;

/** Ones' complement 16-bit add (kernel: csum16_add). */
function add16(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
}
/** 32-bit ones' complement add (kernel: csum_add on a __wsum). */
export function add32(a: number, b: number): number {
  const s = (a >>> 0) + (b >>> 0);
  return s > 0xffffffff ? s - 0xffffffff : s;
}
/** kernel: csum_fold() without the final complement. */
function fold(w: number): number {
  let s = (w >>> 16) + (w & 0xffff);
  s = (s >>> 16) + (s & 0xffff);
  return s & 0xffff;
}

/**
 * New checksum after replacing `from` with `to` (both as the raw bytes read little-endian, as
 * a __be value sits in a register); ones' complement sums do not depend on byte order.
 * size 2/4: kernel csum_replace2/4; size 0: `to` is a csum_diff result (csum_replace_by_diff).
 */
export function csumReplace(sum: number, from: number, to: number, size: number): number {
  const unfoldedNot = ~sum >>> 0; // ~csum_unfold(sum): the complement of the zero-extended u16
  if (size === 0) return ~fold(add32(to, unfoldedNot)) & 0xffff;
  if (size === 2) {
    let s = ~sum & 0xffff;
    s = add16(s, ~from & 0xffff);
    s = add16(s, to & 0xffff);
    return ~s & 0xffff;
  }
  return ~fold(add32(add32(unfoldedNot, ~from >>> 0), to)) & 0xffff;
}

/**
 * kernel: bpf_csum_diff() — the ones' complement sum of ~from and to, starting from seed,
 * folded to 16 bits (not complemented; since 6.13 every architecture returns this form).
 */
export function csumDiff(fromWords: Uint32Array, toWords: Uint32Array, seed: number): number {
  let acc = seed >>> 0;
  for (const w of fromWords) acc = add32(acc, ~w >>> 0);
  for (const w of toWords) acc = add32(acc, w);
  return fold(acc);
}

export function registerNetHelpers(t: HelperTable, env: RuntimeEnv): void {
  /** [data, data_end) of the __sk_buff at ctxAddr, or a fault when r1 is not one. */
  const skb = (ctx: HelperCtx, ctxAddr: number): { data: number; end: number } => {
    const p = ctx.argHi(1) === 0 ? env.vm.packetCtx.get(ctxAddr) : undefined;
    if (p?.kind !== 'skb') return ctx.fault('helper', `r1 (0x${ctxAddr.toString(16)}) is not an __sk_buff`);
    const dv = ctx.arena.dv;
    return {
      data: dv.getUint32(ctxAddr + SK_BUFF.data, true),
      end: dv.getUint32(ctxAddr + SK_BUFF.data_end, true),
    };
  };

  t.register({
    id: BPF_FUNC_skb_store_bytes,
    name: 'bpf_skb_store_bytes',
    proto: netProtos.skbStoreBytes,
    impl: (ctx, c, offset, from, len) => {
      const { data, end } = skb(ctx, c);
      if ((ctx.arg64(5) & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)) !== 0n) return -EINVAL;
      if (offset > 0xffff) return -EFAULT;
      if (data + offset + len > end) return -EFAULT;
      if (!ctx.arena.check(from, len, false))
        return ctx.fault('helper', 'bpf_skb_store_bytes: source not readable');
      ctx.arena.u8.copyWithin(data + offset, from, from + len);
      return 0;
    },
  });

  const replace = (l4: boolean) => (ctx: HelperCtx, c: number, offset: number, from: number, to: number) => {
    const { data, end } = skb(ctx, c);
    const flags = ctx.arg64(5);
    const allowed = l4
      ? BPF_F_HDR_FIELD_MASK | BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_IPV6
      : BPF_F_HDR_FIELD_MASK;
    if ((flags & ~allowed) !== 0n) return -EINVAL;
    if (offset > 0xffff || (offset & 1) !== 0) return -EFAULT;
    const at = data + offset;
    if (at + 2 > end) return -EFAULT;
    const size = Number(flags & BPF_F_HDR_FIELD_MASK);
    if (size !== 0 && size !== 2 && size !== 4) return -EINVAL;
    const dv = ctx.arena.dv;
    const old = dv.getUint16(at, true);
    const mangled0 = l4 && (flags & BPF_F_MARK_MANGLED_0) !== 0n;
    if (mangled0 && old === 0) return 0;
    let sum = csumReplace(old, from, to, size);
    if (mangled0 && sum === 0) sum = CSUM_MANGLED_0;
    dv.setUint16(at, sum, true);
    return 0;
  };
  t.register({
    id: BPF_FUNC_l3_csum_replace,
    name: 'bpf_l3_csum_replace',
    proto: netProtos.csumReplace,
    impl: replace(false),
  });
  t.register({
    id: BPF_FUNC_l4_csum_replace,
    name: 'bpf_l4_csum_replace',
    proto: netProtos.csumReplace,
    impl: replace(true),
  });

  t.register({
    id: BPF_FUNC_csum_diff,
    name: 'bpf_csum_diff',
    proto: netProtos.csumDiff,
    impl: (ctx, from, fromSize, to, toSize, seed) => {
      if (((fromSize | toSize) & 3) !== 0 || fromSize + toSize > CSUM_DIFF_MAX) return -EINVAL;
      const words = (addr: number, size: number): Uint32Array => {
        if (size === 0) return new Uint32Array(0);
        if (!ctx.arena.check(addr, size, false)) ctx.fault('helper', 'bpf_csum_diff: buffer not readable');
        return new Uint32Array(ctx.arena.read(addr, size).buffer);
      };
      return csumDiff(words(from, fromSize), words(to, toSize), seed);
    },
  });

  t.register({
    id: BPF_FUNC_redirect,
    name: 'bpf_redirect',
    proto: netProtos.redirect,
    impl: (ctx, ifindex) => {
      const flags = ctx.arg64(2);
      const xdp = env.progType === 'xdp';
      if (xdp ? flags !== 0n : (flags & ~BPF_F_INGRESS) !== 0n) return xdp ? XDP_ABORTED : TC_ACT_SHOT;
      env.redirect = { kind: 'ifindex', target: ifindex, flags };
      return xdp ? XDP_REDIRECT : TC_ACT_REDIRECT;
    },
  });

  // kernel: __bpf_xdp_redirect_map() — an absent key gives the action in the low flag bits.
  t.register({
    id: BPF_FUNC_redirect_map,
    name: 'bpf_redirect_map',
    proto: netProtos.redirectMap,
    impl: (ctx, _m, key) => {
      const m = mapArg(env, ctx, 1);
      const flags = ctx.arg64(3);
      if (key >= m.maxEntries) return Number(flags & 3n);
      env.redirect = { kind: 'map', target: key, flags, map: m.name };
      return XDP_REDIRECT;
    },
  });
}
