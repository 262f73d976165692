// Helpers that work on a packet context: bpf_xdp_adjust_head/meta/tail and bpf_skb_load_bytes.
// The context struct in the arena (xdp_md / __sk_buff) is the source of truth for the packet
// pointers; PacketCtx adds what the kernel keeps outside it (the frame's hard start and size).
import type { FuncProto, HelperCtx, HelperTable } from './helpers.ts';
import { ETH_HLEN, SK_BUFF, XDP_MD } from './ctx-layout.ts';

export const BPF_FUNC_skb_load_bytes = 26;
export const BPF_FUNC_xdp_adjust_head = 44;
export const BPF_FUNC_xdp_adjust_meta = 54;
export const BPF_FUNC_xdp_adjust_tail = 65;
export const BPF_FUNC_xdp_get_buff_len = 188;
export const BPF_FUNC_xdp_load_bytes = 189;
export const BPF_FUNC_xdp_store_bytes = 190;

/** Tail bytes the kernel keeps for struct skb_shared_info (SKB_DATA_ALIGN'ed, x86-64). */
export const XDP_TAILROOM = 320;
/** sizeof(struct xdp_frame): kept free at the start of the headroom. */
export const XDP_FRAME_SIZE = 40;

export interface PacketCtx {
  kind: 'xdp' | 'skb';
  /** The arena block holding the packet (for arena.setWindow). */
  block: number;
  /** xdp: data_hard_start and frame_sz (kernel: struct xdp_buff). */
  hardStart: number;
  frameSize: number;
  /**
   * xdp: bytes past the linear part (kernel: skb_shared_info frags, PAGE_SIZE each). Kept on
   * the host: programs reach them only through helpers. Helpers replace `bytes` when it grows.
   */
  frags?: { bytes: Uint8Array };
  /**
   * skb: the program type may not write packets (kernel: !may_access_direct_pkt_data(env, NULL,
   * BPF_WRITE)), so its skb dynptrs are read-only.
   */
  rdonly?: boolean;
}

/** Bytes per fragment page (kernel: PAGE_SIZE; also the test run's rxq frag_size). */
const FRAG_PAGE = 4096;

const EINVAL = 22;
const EFAULT = 14;
const EACCES = 13;

/** Registers the packet helpers; `ctxOf` finds the PacketCtx of a context pointer. */
export function registerPacketHelpers(
  t: HelperTable,
  ctxOf: (ctxAddr: number) => PacketCtx | undefined,
): void {
  const need = (ctx: HelperCtx, addr: number, kind: PacketCtx['kind']): PacketCtx => {
    const p = ctx.argHi(1) === 0 ? ctxOf(addr) : undefined;
    if (!p || p.kind !== kind)
      return ctx.fault('helper', `r1 (0x${addr.toString(16)}) is not an ${kind} context`);
    return p;
  };
  const ctxArg: FuncProto['args'][number] = { type: 'ARG_PTR_TO_CTX' };
  const adjustProto: FuncProto = {
    ret: 'RET_INTEGER',
    args: [ctxArg, { type: 'ARG_ANYTHING' }],
    changesPktData: true,
  };

  // kernel: bpf_xdp_adjust_head()
  t.register({
    id: BPF_FUNC_xdp_adjust_head,
    name: 'bpf_xdp_adjust_head',
    proto: adjustProto,
    impl: (ctx, md, delta) => {
      const p = need(ctx, md, 'xdp');
      const dv = ctx.arena.dv;
      const data = dv.getUint32(md + XDP_MD.data, true);
      const dataEnd = dv.getUint32(md + XDP_MD.data_end, true);
      const meta = dv.getUint32(md + XDP_MD.data_meta, true);
      const off = delta | 0;
      const metalen = data - meta;
      const nd = data + off;
      if (nd < p.hardStart + XDP_FRAME_SIZE + metalen || nd > dataEnd - ETH_HLEN) return -EINVAL;
      if (metalen) ctx.arena.u8.copyWithin(meta + off, meta, data);
      dv.setUint32(md + XDP_MD.data_meta, meta + off, true);
      dv.setUint32(md + XDP_MD.data, nd, true);
      ctx.arena.setWindow(p.block, meta + off, dataEnd);
      return 0;
    },
  });

  // kernel: bpf_xdp_adjust_meta()
  t.register({
    id: BPF_FUNC_xdp_adjust_meta,
    name: 'bpf_xdp_adjust_meta',
    proto: adjustProto,
    impl: (ctx, md, delta) => {
      const p = need(ctx, md, 'xdp');
      const dv = ctx.arena.dv;
      const data = dv.getUint32(md + XDP_MD.data, true);
      const nm = dv.getUint32(md + XDP_MD.data_meta, true) + (delta | 0);
      if (nm < p.hardStart + XDP_FRAME_SIZE || nm > data) return -EINVAL;
      const metalen = data - nm;
      if ((metalen & 3) !== 0 || metalen > 255) return -EACCES; // kernel: xdp_metalen_invalid()
      dv.setUint32(md + XDP_MD.data_meta, nm, true);
      ctx.arena.setWindow(p.block, nm, dv.getUint32(md + XDP_MD.data_end, true));
      return 0;
    },
  });

  // kernel: bpf_xdp_adjust_tail(), bpf_xdp_frags_increase_tail(), bpf_xdp_frags_shrink_tail()
  t.register({
    id: BPF_FUNC_xdp_adjust_tail,
    name: 'bpf_xdp_adjust_tail',
    proto: adjustProto,
    impl: (ctx, md, delta) => {
      const p = need(ctx, md, 'xdp');
      const dv = ctx.arena.dv;
      const off = delta | 0;
      const dataEnd = dv.getUint32(md + XDP_MD.data_end, true);
      const frags = p.frags;
      if (frags && frags.bytes.length > 0) {
        const fb = frags.bytes;
        if (off >= 0) {
          const last = fb.length % FRAG_PAGE || FRAG_PAGE;
          if (off > FRAG_PAGE - last) return -EINVAL;
          const grown = new Uint8Array(fb.length + off);
          grown.set(fb);
          frags.bytes = grown;
          return 0;
        }
        const shrink = -off;
        const linear = dataEnd - dv.getUint32(md + XDP_MD.data, true);
        if (shrink > linear + fb.length - ETH_HLEN) return -EINVAL;
        if (shrink < fb.length) {
          frags.bytes = fb.slice(0, fb.length - shrink);
          return 0;
        }
        // Every fragment is gone: the rest comes off the linear part.
        frags.bytes = new Uint8Array(0);
        const ne = dataEnd - (shrink - fb.length);
        dv.setUint32(md + XDP_MD.data_end, ne, true);
        ctx.arena.setWindow(p.block, dv.getUint32(md + XDP_MD.data_meta, true), ne);
        return 0;
      }
      const ne = dataEnd + off;
      if (ne > p.hardStart + p.frameSize - XDP_TAILROOM) return -EINVAL;
      if (ne < dv.getUint32(md + XDP_MD.data, true) + ETH_HLEN) return -EINVAL;
      if (off > 0) ctx.arena.u8.fill(0, dataEnd, ne); // the kernel clears grown memory
      dv.setUint32(md + XDP_MD.data_end, ne, true);
      ctx.arena.setWindow(p.block, dv.getUint32(md + XDP_MD.data_meta, true), ne);
      return 0;
    },
  });

  /** Linear length (data_end - data) and total length of an xdp buffer. */
  const xdpLens = (ctx: HelperCtx, md: number, p: PacketCtx) => {
    const dv = ctx.arena.dv;
    const data = dv.getUint32(md + XDP_MD.data, true);
    const linear = dv.getUint32(md + XDP_MD.data_end, true) - data;
    return { data, linear, total: linear + (p.frags?.bytes.length ?? 0) };
  };

  // kernel: bpf_xdp_get_buff_len()
  t.register({
    id: BPF_FUNC_xdp_get_buff_len,
    name: 'bpf_xdp_get_buff_len',
    proto: { ret: 'RET_INTEGER', args: [ctxArg] },
    impl: (ctx, md) => xdpLens(ctx, md, need(ctx, md, 'xdp')).total,
  });

  /** kernel: bpf_xdp_pointer() checks, then a copy that may span linear data and fragments. */
  const xdpCopy = (ctx: HelperCtx, md: number, offset: number, buf: number, len: number, store: boolean) => {
    const p = need(ctx, md, 'xdp');
    if (!ctx.arena.check(buf, len, !store))
      return ctx.fault(
        'helper',
        `${len} bytes at 0x${buf.toString(16)} are not ${store ? 'readable' : 'writable'}`,
      );
    if (offset > 0xffff || len > 0xffff) return -EFAULT;
    const { data, linear, total } = xdpLens(ctx, md, p);
    if (offset + len > total) return -EINVAL;
    const u8 = ctx.arena.u8;
    const inLinear = Math.max(0, Math.min(len, linear - offset));
    if (store) u8.copyWithin(data + offset, buf, buf + inLinear);
    else u8.copyWithin(buf, data + offset, data + offset + inLinear);
    if (inLinear < len) {
      const fb = p.frags!.bytes;
      const from = offset + inLinear - linear;
      const n = len - inLinear;
      if (store) fb.set(u8.subarray(buf + inLinear, buf + len), from);
      else u8.set(fb.subarray(from, from + n), buf + inLinear);
    }
    return 0;
  };
  const bytesArgs = (buf: FuncProto['args'][number]): FuncProto['args'] => [
    ctxArg,
    { type: 'ARG_ANYTHING' },
    buf,
    { type: 'ARG_CONST_SIZE' },
  ];
  t.register({
    id: BPF_FUNC_xdp_load_bytes,
    name: 'bpf_xdp_load_bytes',
    proto: {
      ret: 'RET_INTEGER',
      args: bytesArgs({ type: 'ARG_PTR_TO_MEM', flags: ['MEM_UNINIT', 'MEM_WRITE'] }),
    },
    impl: (ctx, md, offset, buf, len) => xdpCopy(ctx, md, offset, buf, len, false),
  });
  t.register({
    id: BPF_FUNC_xdp_store_bytes,
    name: 'bpf_xdp_store_bytes',
    proto: { ret: 'RET_INTEGER', args: bytesArgs({ type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] }) },
    impl: (ctx, md, offset, buf, len) => xdpCopy(ctx, md, offset, buf, len, true),
  });

  // kernel: bpf_skb_load_bytes() — offset counts from skb->data; on failure `to` is zeroed.
  t.register({
    id: BPF_FUNC_skb_load_bytes,
    name: 'bpf_skb_load_bytes',
    proto: {
      ret: 'RET_INTEGER',
      args: [
        ctxArg,
        { type: 'ARG_ANYTHING' },
        { type: 'ARG_PTR_TO_MEM', flags: ['MEM_UNINIT', 'MEM_WRITE'] },
        { type: 'ARG_CONST_SIZE' },
      ],
    },
    impl: (ctx, skb, offset, to, len) => {
      need(ctx, skb, 'skb');
      if (!ctx.arena.check(to, len, true))
        return ctx.fault('helper', `bpf_skb_load_bytes: cannot write ${len} bytes at 0x${to.toString(16)}`);
      const dv = ctx.arena.dv;
      const data = dv.getUint32(skb + SK_BUFF.data, true);
      const dataEnd = dv.getUint32(skb + SK_BUFF.data_end, true);
      if (offset > 0x7fffffff || offset + len > dataEnd - data) {
        ctx.arena.u8.fill(0, to, to + len);
        return -EFAULT;
      }
      ctx.arena.u8.copyWithin(to, data + offset, data + offset + len);
      return 0;
    },
  });
}
