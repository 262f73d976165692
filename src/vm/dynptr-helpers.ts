// The dynptr helpers (kernel/bpf/helpers.c, kernel/bpf/ringbuf.c): a struct bpf_dynptr is 16
// bytes on the program's stack, laid out as the kernel's struct bpf_dynptr_kern:
//   [0, 8)   data: arena address of the memory (0 = a null dynptr); for skb and xdp dynptrs the
//            context's address, as the kernel keeps the sk_buff / xdp_buff: the packet may move
//   [8, 12)  size in bits 0-23, the dynptr type in bits 28-30, read-only in bit 31
//   [12, 16) offset into the memory
// The verifier (src/verifier/check/dynptr.ts) proves every use; the checks here keep a program
// run without verification from touching memory outside its regions.
import type { FuncProto, Helper, HelperCtx, HelperImpl, HelperTable } from './helpers.ts';
import { SK_BUFF, XDP_MD } from './ctx-layout.ts';
import type { VmMap } from './maps.ts';
import type { PacketCtx } from './packet-helpers.ts';
import { ringbufOfRecord } from './maps.ts';

// kernel: enum bpf_func_id
export const BPF_FUNC_dynptr_from_mem = 197;
export const BPF_FUNC_ringbuf_reserve_dynptr = 198;
export const BPF_FUNC_ringbuf_submit_dynptr = 199;
export const BPF_FUNC_ringbuf_discard_dynptr = 200;
export const BPF_FUNC_dynptr_read = 201;
export const BPF_FUNC_dynptr_write = 202;
export const BPF_FUNC_dynptr_data = 203;

// kernel: enum bpf_dynptr_type, DYNPTR_* in helpers.c
const BPF_DYNPTR_TYPE_LOCAL = 1;
const BPF_DYNPTR_TYPE_RINGBUF = 2;
const BPF_DYNPTR_TYPE_SKB = 3;
const BPF_DYNPTR_TYPE_XDP = 4;
export const DYNPTR_MAX_SIZE = 0xffffff;
const DYNPTR_TYPE_SHIFT = 28;
const DYNPTR_SIZE_MASK = 0xffffff;
const DYNPTR_RDONLY_BIT = 0x80000000;
export const BPF_DYNPTR_SIZE = 16;

const EINVAL = 22;
const E2BIG = 7;
const ERANGE = 34;
const EFAULT = 14;

const dynptrArg = { type: 'ARG_PTR_TO_DYNPTR' } as const;
const anything = { type: 'ARG_ANYTHING' } as const;
const uninitMem = { type: 'ARG_PTR_TO_MEM', flags: ['MEM_UNINIT', 'MEM_WRITE'] } as const;
const sizeOrZero = { type: 'ARG_CONST_SIZE_OR_ZERO' } as const;

// kernel: bpf_dynptr_*_proto, bpf_ringbuf_*_dynptr_proto
export const dynptrProtos = {
  fromMem: {
    ret: 'RET_INTEGER',
    args: [
      uninitMem,
      sizeOrZero,
      anything,
      { ...dynptrArg, flags: ['DYNPTR_TYPE_LOCAL', 'MEM_UNINIT', 'MEM_WRITE'] },
    ],
  },
  reserve: {
    ret: 'RET_INTEGER',
    args: [
      { type: 'ARG_CONST_MAP_PTR' },
      anything,
      anything,
      { ...dynptrArg, flags: ['DYNPTR_TYPE_RINGBUF', 'MEM_UNINIT', 'MEM_WRITE'] },
    ],
  },
  submit: {
    ret: 'RET_VOID',
    args: [{ ...dynptrArg, flags: ['DYNPTR_TYPE_RINGBUF', 'OBJ_RELEASE'] }, anything],
  },
  discard: {
    ret: 'RET_VOID',
    args: [{ ...dynptrArg, flags: ['DYNPTR_TYPE_RINGBUF', 'OBJ_RELEASE'] }, anything],
  },
  read: {
    ret: 'RET_INTEGER',
    args: [uninitMem, sizeOrZero, { ...dynptrArg, flags: ['MEM_RDONLY'] }, anything, anything],
  },
  write: {
    ret: 'RET_INTEGER',
    args: [
      { ...dynptrArg, flags: ['MEM_RDONLY'] },
      anything,
      { type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] },
      sizeOrZero,
      anything,
    ],
  },
  data: {
    ret: 'RET_PTR_TO_DYNPTR_MEM_OR_NULL',
    args: [{ ...dynptrArg, flags: ['MEM_RDONLY'] }, anything, { type: 'ARG_CONST_ALLOC_SIZE_OR_ZERO' }],
  },
} as const satisfies Record<string, FuncProto>;

/** A dynptr as read from the stack. */
interface Dynptr {
  data: number;
  /** The size field with its type and read-only bits. */
  sizeWord: number;
  offset: number;
}

const dpSize = (d: Dynptr): number => d.sizeWord & DYNPTR_SIZE_MASK;
const dpType = (d: Dynptr): number => (d.sizeWord & ~DYNPTR_RDONLY_BIT) >>> DYNPTR_TYPE_SHIFT;
const dpRdonly = (d: Dynptr): boolean => (d.sizeWord & DYNPTR_RDONLY_BIT) !== 0;

function loadDynptr(ctx: HelperCtx, addr: number): Dynptr {
  if (!ctx.arena.check(addr, BPF_DYNPTR_SIZE, false))
    ctx.fault('helper', `dynptr at 0x${addr.toString(16)} is not readable`);
  const dv = ctx.arena.dv;
  // a data address above 4 GiB cannot be in the arena
  if (dv.getUint32(addr + 4, true) !== 0) ctx.fault('helper', `dynptr at 0x${addr.toString(16)} is corrupt`);
  return {
    data: dv.getUint32(addr, true),
    sizeWord: dv.getUint32(addr + 8, true),
    offset: dv.getUint32(addr + 12, true),
  };
}

function storeDynptr(
  ctx: HelperCtx,
  addr: number,
  data: number,
  type: number,
  size: number,
  rdonly = false,
): void {
  if (!ctx.arena.check(addr, BPF_DYNPTR_SIZE, true))
    ctx.fault('helper', `dynptr at 0x${addr.toString(16)} is not writable`);
  const dv = ctx.arena.dv;
  dv.setUint32(addr, data, true);
  dv.setUint32(addr + 4, 0, true);
  dv.setUint32(addr + 8, (size | (type << DYNPTR_TYPE_SHIFT) | (rdonly ? DYNPTR_RDONLY_BIT : 0)) >>> 0, true);
  dv.setUint32(addr + 12, 0, true);
}

/**
 * kernel: bpf_dynptr_init() of a local dynptr over [data, data + size), for helpers that hand a
 * program a dynptr of their own (bpf_user_ringbuf_drain's callback argument).
 */
export function initLocalDynptr(dv: DataView, addr: number, data: number, size: number): void {
  dv.setUint32(addr, data, true);
  dv.setUint32(addr + 4, 0, true);
  dv.setUint32(addr + 8, (size | (BPF_DYNPTR_TYPE_LOCAL << DYNPTR_TYPE_SHIFT)) >>> 0, true);
  dv.setUint32(addr + 12, 0, true);
}

/** kernel: bpf_dynptr_set_null() */
const setNull = (ctx: HelperCtx, addr: number): void => storeDynptr(ctx, addr, 0, 0, 0);

const isPkt = (d: Dynptr): boolean => {
  const t = dpType(d);
  return t === BPF_DYNPTR_TYPE_SKB || t === BPF_DYNPTR_TYPE_XDP;
};

/**
 * Arena address of bytes [offset, offset + len) of a packet dynptr's linear data, or 0 when
 * they are not all there (kernel: skb_pointer_if_linear(), bpf_xdp_pointer()).
 */
function pktRange(ctx: HelperCtx, d: Dynptr, offset: number, len: number): number {
  const skb = dpType(d) === BPF_DYNPTR_TYPE_SKB;
  const dataOff = skb ? SK_BUFF.data : XDP_MD.data;
  const endOff = skb ? SK_BUFF.data_end : XDP_MD.data_end;
  if (!ctx.arena.check(d.data + dataOff, 4, false) || !ctx.arena.check(d.data + endOff, 4, false))
    ctx.fault('helper', `packet dynptr context 0x${d.data.toString(16)} is not readable`);
  const dv = ctx.arena.dv;
  const data = dv.getUint32(d.data + dataOff, true);
  const end = dv.getUint32(d.data + endOff, true);
  const start = d.offset + offset;
  if (start > end - data || len > end - data - start) return 0;
  return data + start;
}

/** kernel: bpf_dynptr_check_off_len() (u32 arithmetic) */
function checkOffLen(d: Dynptr, offset: number, len: number): boolean {
  const size = dpSize(d);
  return !(len > size || offset > size - len);
}

/** Arena address of byte `offset` of d's memory, after checking [addr, addr + len) is mapped. */
function dataAddr(ctx: HelperCtx, d: Dynptr, offset: number, len: number, write: boolean): number {
  const addr = d.data + d.offset + offset;
  if (!ctx.arena.check(addr, len, write))
    ctx.fault(
      'helper',
      `dynptr memory 0x${addr.toString(16)}+${len} is not ${write ? 'writable' : 'readable'}`,
    );
  return addr;
}

const flagsSet = (ctx: HelperCtx, n: number): boolean => (ctx.argLo(n) | ctx.argHi(n)) !== 0;

/** kernel: BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH, the flags __bpf_skb_store_bytes() takes */
const SKB_STORE_FLAGS = 3;

/**
 * Where bytes [offset, offset + len) of d may be read from, or a negative errno (kernel:
 * __bpf_dynptr_read() up to its copy). `flags` says whether the flags argument was non-zero.
 */
function readSource(ctx: HelperCtx, d: Dynptr, offset: number, len: number, flags: boolean): number {
  if (!d.data || flags) return -EINVAL;
  if (!checkOffLen(d, offset, len)) return -E2BIG;
  if (!isPkt(d)) return dataAddr(ctx, d, offset, len, false);
  // kernel: __bpf_skb_load_bytes() / bpf_xdp_copy_buf(); tsbpf's packets are linear
  return pktRange(ctx, d, offset, len) || -EFAULT;
}

/**
 * Where bytes [offset, offset + len) of d may be written, or a negative errno (kernel:
 * __bpf_dynptr_write() up to its copy: an skb dynptr stores as __bpf_skb_store_bytes(), an xdp one
 * as __bpf_xdp_store_bytes()). `flagsLo`/`flagsHi`: the flags argument's halves.
 */
function writeTarget(
  ctx: HelperCtx,
  d: Dynptr,
  offset: number,
  len: number,
  flagsLo: number,
  flagsHi: number,
): number {
  if (!d.data || dpRdonly(d)) return -EINVAL;
  if (!checkOffLen(d, offset, len)) return -E2BIG;
  const type = dpType(d);
  if (type === BPF_DYNPTR_TYPE_SKB) {
    if (flagsHi || flagsLo & ~SKB_STORE_FLAGS) return -EINVAL;
    // bpf_try_make_writable() fails past the packet: -EFAULT
    return pktRange(ctx, d, offset, len) || -EFAULT;
  }
  if (flagsLo || flagsHi) return -EINVAL;
  // kernel: bpf_xdp_pointer(): past the buffer is -EINVAL
  if (type === BPF_DYNPTR_TYPE_XDP) return pktRange(ctx, d, offset, len) || -EINVAL;
  if (type !== BPF_DYNPTR_TYPE_LOCAL && type !== BPF_DYNPTR_TYPE_RINGBUF) return -EINVAL;
  return dataAddr(ctx, d, offset, len, true);
}

/**
 * kernel: bpf_dynptr_slice() with a NULL buffer: the address of the bytes, or 0; `rdwr` as
 * bpf_dynptr_slice_rdwr(), never a slice of a read-only dynptr. Packets are linear in tsbpf, so
 * the buffer a program passes is never needed.
 */
function sliceAddr(ctx: HelperCtx, d: Dynptr, offset: number, len: number, rdwr: boolean): number {
  if (!d.data || (rdwr && dpRdonly(d)) || !checkOffLen(d, offset, len)) return 0;
  if (isPkt(d)) return pktRange(ctx, d, offset, len);
  const t = dpType(d);
  if (t !== BPF_DYNPTR_TYPE_LOCAL && t !== BPF_DYNPTR_TYPE_RINGBUF) return 0;
  return dataAddr(ctx, d, offset, len, rdwr);
}

/** Registers helpers 197-203; `mapArg` resolves a map pointer argument as the map helpers do. */
export function registerDynptrHelpers(t: HelperTable, mapArg: (ctx: HelperCtx, n: number) => VmMap): void {
  const reg = (id: number, name: string, proto: FuncProto, impl: HelperImpl): void => {
    t.register({ id, name, proto, impl });
  };

  reg(BPF_FUNC_dynptr_from_mem, 'bpf_dynptr_from_mem', dynptrProtos.fromMem, (ctx, data, size, _f, ptr) => {
    if (size > DYNPTR_MAX_SIZE) {
      setNull(ctx, ptr);
      return -E2BIG;
    }
    if (flagsSet(ctx, 3)) {
      setNull(ctx, ptr);
      return -EINVAL;
    }
    if (!ctx.arena.check(data, size, true))
      ctx.fault('helper', `0x${data.toString(16)}+${size} is not writable`);
    storeDynptr(ctx, ptr, data, BPF_DYNPTR_TYPE_LOCAL, size);
    return 0;
  });

  reg(
    BPF_FUNC_ringbuf_reserve_dynptr,
    'bpf_ringbuf_reserve_dynptr',
    dynptrProtos.reserve,
    (ctx, _m, size, _f, ptr) => {
      const m = mapArg(ctx, 1);
      // kernel: flags first, then the size, then the reservation; a failed one leaves a null
      // dynptr that the program must still submit or discard
      if (flagsSet(ctx, 3)) {
        setNull(ctx, ptr);
        return -EINVAL;
      }
      if (size > DYNPTR_MAX_SIZE) {
        setNull(ctx, ptr);
        return -E2BIG;
      }
      const sample = m.ringbufReserve ? m.ringbufReserve(size, 0n) : 0;
      if (!sample) {
        setNull(ctx, ptr);
        return -EINVAL;
      }
      storeDynptr(ctx, ptr, sample, BPF_DYNPTR_TYPE_RINGBUF, size);
      return 0;
    },
  );

  const commit =
    (discard: boolean): HelperImpl =>
    (ctx, ptr) => {
      const d = loadDynptr(ctx, ptr);
      if (!d.data) return 0;
      const rb = ringbufOfRecord(ctx.arena, d.data);
      if (!rb?.commit(d.data, ctx.arg64(2), discard))
        ctx.fault('helper', `0x${d.data.toString(16)} is not a reserved ring buffer record`);
      setNull(ctx, ptr);
      return 0;
    };
  reg(BPF_FUNC_ringbuf_submit_dynptr, 'bpf_ringbuf_submit_dynptr', dynptrProtos.submit, commit(false));
  reg(BPF_FUNC_ringbuf_discard_dynptr, 'bpf_ringbuf_discard_dynptr', dynptrProtos.discard, commit(true));

  reg(BPF_FUNC_dynptr_read, 'bpf_dynptr_read', dynptrProtos.read, (ctx, dst, len, src, offset) => {
    const from = readSource(ctx, loadDynptr(ctx, src), offset, len, flagsSet(ctx, 5));
    if (from < 0) return from;
    if (!ctx.arena.check(dst, len, true)) ctx.fault('helper', `0x${dst.toString(16)}+${len} is not writable`);
    // kernel: memmove, the two may overlap
    ctx.arena.u8.copyWithin(dst, from, from + len);
    return 0;
  });

  reg(BPF_FUNC_dynptr_write, 'bpf_dynptr_write', dynptrProtos.write, (ctx, dst, offset, src, len) => {
    const to = writeTarget(ctx, loadDynptr(ctx, dst), offset, len, ctx.argLo(5), ctx.argHi(5));
    if (to < 0) return to;
    if (!ctx.arena.check(src, len, false))
      ctx.fault('helper', `0x${src.toString(16)}+${len} is not readable`);
    ctx.arena.u8.copyWithin(to, src, src + len);
    return 0;
  });

  reg(BPF_FUNC_dynptr_data, 'bpf_dynptr_data', dynptrProtos.data, (ctx, ptr, offset, len) => {
    const d = loadDynptr(ctx, ptr);
    if (!d.data || !checkOffLen(d, offset, len) || dpRdonly(d)) return 0;
    const type = dpType(d);
    if (type !== BPF_DYNPTR_TYPE_LOCAL && type !== BPF_DYNPTR_TYPE_RINGBUF) return 0;
    return dataAddr(ctx, d, offset, len, true);
  });
}

/** The packet-dynptr kfuncs' ids (the runtime's KFUNC_IDS). */
export interface PacketDynptrKfuncIds {
  fromSkb: number;
  fromXdp: number;
  slice: number;
  sliceRdwr: number;
  size: number;
  isNull: number;
  isRdonly: number;
  adjust: number;
  clone: number;
  copy: number;
  memset: number;
}

const kfunc = (id: number, name: string, args: FuncProto['args'], impl: HelperImpl): Helper => ({
  id,
  name,
  proto: { ret: 'RET_INTEGER', args },
  impl,
});

/**
 * kfuncs of kernel/bpf/helpers.c and net/core/filter.c: dynptrs over a packet and slices of any
 * dynptr, clones, copies and memset. The verifier decides which program types may call which.
 * `ctxOf` finds a packet context's bookkeeping: an skb dynptr is read-only where the program
 * type may not write packets.
 */
export function dynptrKfuncs(
  ids: PacketDynptrKfuncIds,
  ctxOf: (ctxAddr: number) => PacketCtx | undefined = () => undefined,
): Helper[] {
  const from =
    (type: number): HelperImpl =>
    (ctx, pktCtx, _flags, ptr) => {
      if (flagsSet(ctx, 2)) {
        setNull(ctx, ptr);
        return -EINVAL;
      }
      const skb = type === BPF_DYNPTR_TYPE_SKB;
      const dv = ctx.arena.dv;
      const dataOff = skb ? SK_BUFF.data : XDP_MD.data;
      const endOff = skb ? SK_BUFF.data_end : XDP_MD.data_end;
      if (!ctx.arena.check(pktCtx + dataOff, 4, false) || !ctx.arena.check(pktCtx + endOff, 4, false))
        ctx.fault('helper', `0x${pktCtx.toString(16)} is not a packet context`);
      // kernel: skb->len / xdp_get_buff_len(); tsbpf's dynptr packets are linear
      const size = dv.getUint32(pktCtx + endOff, true) - dv.getUint32(pktCtx + dataOff, true);
      // kernel: specialize_kfunc() gives such programs bpf_dynptr_from_skb_rdonly()
      const rdonly = skb && ctxOf(pktCtx)?.rdonly === true;
      storeDynptr(ctx, ptr, pktCtx, type, size, rdonly);
      return 0;
    };
  // kernel: bpf_dynptr_slice(): a pointer into the dynptr's memory, or the buffer, or NULL.
  // Linear packets: skb_header_pointer() and bpf_xdp_pointer() return the packet itself, and the
  // buffer is used only for bytes in fragments, which tsbpf's dynptrs do not reach.
  const slice = (ctx: HelperCtx, ptr: number, offset: number, _buf: number, len: number): number =>
    sliceAddr(ctx, loadDynptr(ctx, ptr), offset, len, false);
  const dynptrIn = { type: 'ARG_PTR_TO_DYNPTR', flags: ['MEM_RDONLY'] } as const;
  const sliceArgs: FuncProto['args'] = [
    dynptrIn,
    anything,
    { type: 'ARG_PTR_TO_MEM', flags: ['PTR_MAYBE_NULL', 'MEM_UNINIT', 'MEM_WRITE'] },
    sizeOrZero,
  ];
  const ctxArg = { type: 'ARG_PTR_TO_CTX' } as const;
  const fromArgs = (t: 'DYNPTR_TYPE_SKB' | 'DYNPTR_TYPE_XDP'): FuncProto['args'] => [
    ctxArg,
    anything,
    { ...dynptrArg, flags: [t, 'MEM_UNINIT'] },
  ];
  return [
    kfunc(ids.fromSkb, 'bpf_dynptr_from_skb', fromArgs('DYNPTR_TYPE_SKB'), from(BPF_DYNPTR_TYPE_SKB)),
    kfunc(ids.fromXdp, 'bpf_dynptr_from_xdp', fromArgs('DYNPTR_TYPE_XDP'), from(BPF_DYNPTR_TYPE_XDP)),
    {
      ...kfunc(ids.slice, 'bpf_dynptr_slice', sliceArgs, slice),
      proto: { ret: 'RET_PTR_TO_MEM_OR_NULL', args: sliceArgs },
    },
    {
      ...kfunc(ids.sliceRdwr, 'bpf_dynptr_slice_rdwr', sliceArgs, (ctx, ptr, offset, _buf, len) =>
        sliceAddr(ctx, loadDynptr(ctx, ptr), offset, len, true),
      ),
      proto: { ret: 'RET_PTR_TO_MEM_OR_NULL', args: sliceArgs },
    },
    kfunc(ids.size, 'bpf_dynptr_size', [dynptrIn], (ctx, ptr) => {
      const d = loadDynptr(ctx, ptr);
      return d.data ? dpSize(d) : -EINVAL;
    }),
    kfunc(ids.isNull, 'bpf_dynptr_is_null', [dynptrIn], (ctx, ptr) => (loadDynptr(ctx, ptr).data ? 0 : 1)),
    kfunc(ids.isRdonly, 'bpf_dynptr_is_rdonly', [dynptrIn], (ctx, ptr) => {
      const d = loadDynptr(ctx, ptr);
      return d.data && dpRdonly(d) ? 1 : 0;
    }),
    kfunc(ids.adjust, 'bpf_dynptr_adjust', [dynptrIn, anything, anything], (ctx, ptr, start, end) => {
      // kernel: bpf_dynptr_adjust() (u32 start and end)
      const d = loadDynptr(ctx, ptr);
      if (!d.data || start > end) return -EINVAL;
      if (end > dpSize(d)) return -ERANGE;
      const dv = ctx.arena.dv;
      dv.setUint32(ptr + 12, (d.offset + start) >>> 0, true);
      dv.setUint32(ptr + 8, ((d.sizeWord & ~DYNPTR_SIZE_MASK) | (end - start)) >>> 0, true);
      return 0;
    }),
    kfunc(ids.clone, 'bpf_dynptr_clone', [dynptrIn, { ...dynptrArg, flags: ['MEM_UNINIT'] }], (ctx, p, c) => {
      // kernel: bpf_dynptr_clone(): the 16 bytes, type, offset and read-only bit included
      const d = loadDynptr(ctx, p);
      if (!d.data) {
        setNull(ctx, c);
        return -EINVAL;
      }
      storeDynptr(ctx, c, d.data, 0, 0);
      const dv = ctx.arena.dv;
      dv.setUint32(c + 8, d.sizeWord, true);
      dv.setUint32(c + 12, d.offset, true);
      return 0;
    }),
    kfunc(ids.copy, 'bpf_dynptr_copy', [dynptrIn, anything, dynptrIn, anything, anything], copy),
    kfunc(
      ids.memset,
      'bpf_dynptr_memset',
      [dynptrIn, anything, anything, anything],
      (ctx, p, off, size, val) => {
        // kernel: bpf_dynptr_memset(): a writable slice, else the checks and __bpf_dynptr_write()
        const d = loadDynptr(ctx, p);
        let to = sliceAddr(ctx, d, off, size, true);
        if (!to) {
          if (dpRdonly(d)) return -EINVAL;
          if (!checkOffLen(d, off, size)) return -E2BIG;
          // a null dynptr passes the size check for 0 bytes: nothing to write
          if (size === 0) return 0;
          to = writeTarget(ctx, d, off, size, 0, 0);
          if (to < 0) return to;
        }
        ctx.arena.u8.fill(val & 0xff, to, to + size);
        return 0;
      },
    ),
  ];
}

/**
 * kernel: bpf_dynptr_copy(): memmove between two slices, else a write from the source slice, a
 * read into the destination slice, or both through a buffer. tsbpf's memory is linear, so the
 * last case only meets a null or read-only dynptr, refused by its first read or write.
 */
const copy: HelperImpl = (ctx, dstPtr, dstOff, srcPtr, srcOff, size) => {
  const dst = loadDynptr(ctx, dstPtr);
  const src = loadDynptr(ctx, srcPtr);
  let from = sliceAddr(ctx, src, srcOff, size, false);
  let to = sliceAddr(ctx, dst, dstOff, size, true);
  if (!from && !to) {
    if (!checkOffLen(dst, dstOff, size) || !checkOffLen(src, srcOff, size)) return -E2BIG;
    if (size === 0) return 0;
  }
  if (!from) from = readSource(ctx, src, srcOff, size, false);
  if (from < 0) return from;
  if (!to) to = writeTarget(ctx, dst, dstOff, size, 0, 0);
  if (to < 0) return to;
  ctx.arena.u8.copyWithin(to, from, from + size);
  return 0;
};
