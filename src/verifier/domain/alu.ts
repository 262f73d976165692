// ALU transfer functions on scalar states, as adjust_scalar_min_max_vals() and the
// scalar{32,}_min_max_*() helpers of Linux 6.18 kernel/bpf/verifier.c compute them.
// Operation codes are the ISA's BPF_OP() values (the high nibble of the opcode byte).

import { coerceRegToSize, zext32To64 } from './coerce.ts';
import * as s from './scalar.ts';
import type { Scalar } from './scalar.ts';
import * as tnum from './tnum.ts';
import * as u64 from './u64.ts';
import type { U64 } from './u64.ts';

export const ALU = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

const S32_MIN = -0x80000000;
const S32_MAX = 0x7fffffff;
const U32_MAX = 0xffffffff;

const inS32 = (n: number): boolean => n >= S32_MIN && n <= S32_MAX;

// kernel: scalar32_min_max_add()
export function scalar32MinMaxAdd(dst: Scalar, src: Scalar): void {
  const smin = dst.s32min + src.s32min;
  const smax = dst.s32max + src.s32max;
  if (!inS32(smin) || !inS32(smax)) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = smin;
    dst.s32max = smax;
  }
  // all additions wrap or none does: wrapped ends stay ordered; only "max wraps, min not" loses it
  const umin = dst.u32min + src.u32min;
  const umax = dst.u32max + src.u32max;
  const minOverflow = umin > U32_MAX;
  const maxOverflow = umax > U32_MAX;
  dst.u32min = umin >>> 0;
  dst.u32max = umax >>> 0;
  if (!minOverflow && maxOverflow) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  }
}

// 64-bit sums and differences on halves, into module variables: the overflow checks and the
// results come from one computation, and a U64 is made only for a result that is kept.
let resLo = 0;
let resHi = 0;
/** The last add64()/sub64() wrapped as u64 (carry out / borrow). */
let uWrapped = false;
/** The last add64()/sub64() overflowed as s64. */
let sWrapped = false;

function add64(a: U64, b: U64): void {
  const lo = a.lo + b.lo;
  const carry = lo > 0xffffffff ? 1 : 0;
  const hi = a.hi + b.hi + carry;
  resLo = lo >>> 0;
  resHi = hi >>> 0;
  uWrapped = hi > 0xffffffff;
  // both operands share a sign that the result does not
  sWrapped = (~(a.hi ^ b.hi) & (a.hi ^ resHi) & 0x80000000) !== 0;
}

function sub64(a: U64, b: U64): void {
  const lo = a.lo - b.lo;
  const borrow = lo < 0 ? 1 : 0;
  const hi = a.hi - b.hi - borrow;
  resLo = lo >>> 0;
  resHi = hi >>> 0;
  uWrapped = hi < 0;
  // operands of different signs, and the result's sign differs from the minuend's
  sWrapped = ((a.hi ^ b.hi) & (a.hi ^ resHi) & 0x80000000) !== 0;
}

/** The last result as a U64, reusing `old` when it is the same value. */
function result(old: U64): U64 {
  return old.lo === resLo && old.hi === resHi ? old : u64.make(resLo, resHi);
}

// kernel: scalar_min_max_add()
export function scalarMinMaxAdd(dst: Scalar, src: Scalar): void {
  add64(dst.smin, src.smin);
  const sminOverflow = sWrapped;
  const sminLo = resLo;
  const sminHi = resHi;
  add64(dst.smax, src.smax);
  if (sminOverflow || sWrapped) {
    dst.smin = u64.S64_MIN;
    dst.smax = u64.S64_MAX;
  } else {
    dst.smax = result(dst.smax);
    dst.smin = sminLo === dst.smin.lo && sminHi === dst.smin.hi ? dst.smin : u64.make(sminLo, sminHi);
  }
  add64(dst.umin, src.umin);
  const minOverflow = uWrapped;
  const uminLo = resLo;
  const uminHi = resHi;
  add64(dst.umax, src.umax);
  if (!minOverflow && uWrapped) {
    dst.umin = u64.ZERO;
    dst.umax = u64.MAX;
  } else {
    dst.umax = result(dst.umax);
    dst.umin = uminLo === dst.umin.lo && uminHi === dst.umin.hi ? dst.umin : u64.make(uminLo, uminHi);
  }
}

// kernel: scalar32_min_max_sub()
export function scalar32MinMaxSub(dst: Scalar, src: Scalar): void {
  const smin = dst.s32min - src.s32max;
  const smax = dst.s32max - src.s32min;
  if (!inS32(smin) || !inS32(smax)) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = smin;
    dst.s32max = smax;
  }
  // all subtractions wrap or none does; only "min wraps, max not" loses the order
  const minUnderflow = dst.u32min < src.u32max;
  const maxUnderflow = dst.u32max < src.u32min;
  dst.u32min = (dst.u32min - src.u32max) >>> 0;
  dst.u32max = (dst.u32max - src.u32min) >>> 0;
  if (minUnderflow && !maxUnderflow) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  }
}

// kernel: scalar_min_max_sub()
export function scalarMinMaxSub(dst: Scalar, src: Scalar): void {
  sub64(dst.smin, src.smax);
  const sminOverflow = sWrapped;
  const sminLo = resLo;
  const sminHi = resHi;
  sub64(dst.smax, src.smin);
  if (sminOverflow || sWrapped) {
    dst.smin = u64.S64_MIN;
    dst.smax = u64.S64_MAX;
  } else {
    dst.smax = result(dst.smax);
    dst.smin = sminLo === dst.smin.lo && sminHi === dst.smin.hi ? dst.smin : u64.make(sminLo, sminHi);
  }
  sub64(dst.umin, src.umax);
  const minUnderflow = uWrapped;
  const uminLo = resLo;
  const uminHi = resHi;
  sub64(dst.umax, src.umin);
  if (minUnderflow && !uWrapped) {
    dst.umin = u64.ZERO;
    dst.umax = u64.MAX;
  } else {
    dst.umax = result(dst.umax);
    dst.umin = uminLo === dst.umin.lo && uminHi === dst.umin.hi ? dst.umin : u64.make(uminLo, uminHi);
  }
}

// kernel: scalar32_min_max_mul()
export function scalar32MinMaxMul(dst: Scalar, src: Scalar): void {
  // products of numbers below 2^32 round monotonically, so comparing them with the limits is exact
  const umax = dst.u32max * src.u32max;
  const umin = dst.u32min * src.u32min;
  if (umax > U32_MAX || umin > U32_MAX) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  } else {
    dst.u32min = umin;
    dst.u32max = umax;
  }
  const p0 = dst.s32min * src.s32min;
  const p1 = dst.s32min * src.s32max;
  const p2 = dst.s32max * src.s32min;
  const p3 = dst.s32max * src.s32max;
  if (!inS32(p0) || !inS32(p1) || !inS32(p2) || !inS32(p3)) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = Math.min(p0, p1, p2, p3);
    dst.s32max = Math.max(p0, p1, p2, p3);
  }
}

// kernel: scalar_min_max_mul()
export function scalarMinMaxMul(dst: Scalar, src: Scalar): void {
  if (u64.umulOverflows(dst.umax, src.umax) || u64.umulOverflows(dst.umin, src.umin)) {
    dst.umin = u64.ZERO;
    dst.umax = u64.MAX;
  } else {
    dst.umin = u64.mul(dst.umin, src.umin);
    dst.umax = u64.mul(dst.umax, src.umax);
  }
  const a = [dst.smin, dst.smax];
  const b = [src.smin, src.smax];
  let lo = u64.S64_MAX;
  let hi = u64.S64_MIN;
  for (const x of a) {
    for (const y of b) {
      if (u64.smulOverflows(x, y)) {
        dst.smin = u64.S64_MIN;
        dst.smax = u64.S64_MAX;
        return;
      }
      const p = u64.mul(x, y);
      lo = u64.smin(lo, p);
      hi = u64.smax(hi, p);
    }
  }
  dst.smin = lo;
  dst.smax = hi;
}

/** s32 bounds from u32 ones when those do not cross the sign bit, else unbounded. */
function s32FromU32(dst: Scalar): void {
  if ((dst.u32min | 0) <= (dst.u32max | 0)) {
    dst.s32min = dst.u32min | 0;
    dst.s32max = dst.u32max | 0;
  } else {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  }
}

function s64FromU64(dst: Scalar): void {
  if (u64.sle(dst.umin, dst.umax)) {
    dst.smin = dst.umin;
    dst.smax = dst.umax;
  } else {
    dst.smin = u64.S64_MIN;
    dst.smax = u64.S64_MAX;
  }
}

// kernel: scalar32_min_max_and() — var_off already holds the result's bits
export function scalar32MinMaxAnd(dst: Scalar, src: Scalar): void {
  const var32 = tnum.subreg(dst.varOff);
  if (tnum.subregIsConst(src.varOff) && tnum.subregIsConst(dst.varOff)) {
    s.mark32Known(dst, var32.vLo);
    return;
  }
  // the minimum comes from var_off, the maximum is the smaller of the operands' maxima
  dst.u32min = var32.vLo;
  dst.u32max = Math.min(dst.u32max, src.u32max);
  s32FromU32(dst);
}

// kernel: scalar_min_max_and()
export function scalarMinMaxAnd(dst: Scalar, src: Scalar): void {
  if (tnum.isConst(src.varOff) && tnum.isConst(dst.varOff)) {
    s.markKnown(dst, tnum.value(dst.varOff));
    return;
  }
  dst.umin = tnum.value(dst.varOff);
  dst.umax = u64.umin(dst.umax, src.umax);
  s64FromU64(dst);
  s.updateRegBounds(dst);
}

// kernel: scalar32_min_max_or()
export function scalar32MinMaxOr(dst: Scalar, src: Scalar): void {
  const var32 = tnum.subreg(dst.varOff);
  if (tnum.subregIsConst(src.varOff) && tnum.subregIsConst(dst.varOff)) {
    s.mark32Known(dst, var32.vLo);
    return;
  }
  // the maximum comes from var_off, the minimum is the larger of the operands' minima
  dst.u32min = Math.max(dst.u32min, src.u32min);
  dst.u32max = (var32.vLo | var32.mLo) >>> 0;
  s32FromU32(dst);
}

// kernel: scalar_min_max_or()
export function scalarMinMaxOr(dst: Scalar, src: Scalar): void {
  if (tnum.isConst(src.varOff) && tnum.isConst(dst.varOff)) {
    s.markKnown(dst, tnum.value(dst.varOff));
    return;
  }
  dst.umin = u64.umax(dst.umin, src.umin);
  dst.umax = u64.or(tnum.value(dst.varOff), tnum.mask(dst.varOff));
  s64FromU64(dst);
  s.updateRegBounds(dst);
}

// kernel: scalar32_min_max_xor()
export function scalar32MinMaxXor(dst: Scalar, src: Scalar): void {
  const var32 = tnum.subreg(dst.varOff);
  if (tnum.subregIsConst(src.varOff) && tnum.subregIsConst(dst.varOff)) {
    s.mark32Known(dst, var32.vLo);
    return;
  }
  dst.u32min = var32.vLo;
  dst.u32max = (var32.vLo | var32.mLo) >>> 0;
  s32FromU32(dst);
}

// kernel: scalar_min_max_xor()
export function scalarMinMaxXor(dst: Scalar, src: Scalar): void {
  if (tnum.isConst(src.varOff) && tnum.isConst(dst.varOff)) {
    s.markKnown(dst, tnum.value(dst.varOff));
    return;
  }
  dst.umin = tnum.value(dst.varOff);
  dst.umax = u64.or(tnum.value(dst.varOff), tnum.mask(dst.varOff));
  s64FromU64(dst);
  s.updateRegBounds(dst);
}

// kernel: __scalar32_min_max_lsh()
function scalar32MinMaxLshInner(dst: Scalar, uminVal: number, umaxVal: number): void {
  // sign information is lost, except what var_off keeps
  dst.s32min = S32_MIN;
  dst.s32max = S32_MAX;
  // if the top bit might be shifted out we know nothing
  if (umaxVal > 31 || dst.u32max > 2 ** (31 - umaxVal)) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  } else {
    dst.u32min = (dst.u32min << uminVal) >>> 0;
    dst.u32max = (dst.u32max << umaxVal) >>> 0;
  }
}

// kernel: scalar32_min_max_lsh()
export function scalar32MinMaxLsh(dst: Scalar, src: Scalar): void {
  const subreg = tnum.subreg(dst.varOff);
  scalar32MinMaxLshInner(dst, src.u32min, src.u32max);
  dst.varOff = tnum.subreg(tnum.lshift(subreg, src.u32min));
  // the 64-bit bounds come back from var_off after zero-extension
  s.mark64Unbounded(dst);
  s.updateReg32Bounds(dst);
}

// kernel: __scalar64_min_max_lsh()
function scalar64MinMaxLshInner(dst: Scalar, uminVal: number, umaxVal: number): void {
  // `<< 32` is how compilers sign-extend a subregister (with `s>> 32`); s32 bounds survive it
  if (uminVal === 32 && umaxVal === 32) {
    dst.smax = u64.make(0, dst.s32max);
    dst.smin = u64.make(0, dst.s32min);
  } else {
    dst.smax = u64.S64_MAX;
    dst.smin = u64.S64_MIN;
  }
  // umax > 1 << (63 - umaxVal), without making that U64
  const limitBit = 63 - umaxVal;
  const limitLo = limitBit < 32 ? 2 ** limitBit : 0;
  const limitHi = limitBit >= 32 ? 2 ** (limitBit - 32) : 0;
  if (dst.umax.hi > limitHi || (dst.umax.hi === limitHi && dst.umax.lo > limitLo)) {
    dst.umin = u64.ZERO;
    dst.umax = u64.MAX;
  } else {
    dst.umin = u64.shl(dst.umin, uminVal);
    dst.umax = u64.shl(dst.umax, umaxVal);
  }
}

// kernel: scalar_min_max_lsh()
export function scalarMinMaxLsh(dst: Scalar, src: Scalar): void {
  const uminVal = src.umin.lo;
  const umaxVal = src.umax.lo;
  // the 64-bit part reads the unshifted 32-bit bounds, so it goes first
  scalar64MinMaxLshInner(dst, uminVal, umaxVal);
  scalar32MinMaxLshInner(dst, uminVal, umaxVal);
  dst.varOff = tnum.lshift(dst.varOff, uminVal);
  s.updateRegBounds(dst);
}

// kernel: scalar32_min_max_rsh()
export function scalar32MinMaxRsh(dst: Scalar, src: Scalar): void {
  const subreg = tnum.subreg(dst.varOff);
  // an unsigned shift: signed bounds are rebuilt from the unsigned ones and var_off
  dst.s32min = S32_MIN;
  dst.s32max = S32_MAX;
  dst.varOff = tnum.rshift(subreg, src.u32min);
  dst.u32min = dst.u32min >>> src.u32max;
  dst.u32max = dst.u32max >>> src.u32min;
  s.mark64Unbounded(dst);
  s.updateReg32Bounds(dst);
}

// kernel: scalar_min_max_rsh()
export function scalarMinMaxRsh(dst: Scalar, src: Scalar): void {
  const uminVal = src.umin.lo;
  const umaxVal = src.umax.lo;
  dst.smin = u64.S64_MIN;
  dst.smax = u64.S64_MAX;
  dst.varOff = tnum.rshift(dst.varOff, uminVal);
  dst.umin = u64.shr(dst.umin, umaxVal);
  dst.umax = u64.shr(dst.umax, uminVal);
  // bits shifted in from the upper half make the 32-bit bounds hard; var_off gives them back
  s.mark32Unbounded(dst);
  s.updateRegBounds(dst);
}

// kernel: scalar32_min_max_arsh() — only reached with a constant shift
export function scalar32MinMaxArsh(dst: Scalar, src: Scalar): void {
  const n = src.u32min;
  dst.s32min = dst.s32min >> n;
  dst.s32max = dst.s32max >> n;
  dst.varOff = tnum.arshift(tnum.subreg(dst.varOff), n, 32);
  dst.u32min = 0;
  dst.u32max = U32_MAX;
  s.mark64Unbounded(dst);
  s.updateReg32Bounds(dst);
}

// kernel: scalar_min_max_arsh() — only reached with a constant shift
export function scalarMinMaxArsh(dst: Scalar, src: Scalar): void {
  const n = src.umin.lo;
  dst.smin = u64.sar(dst.smin, n);
  dst.smax = u64.sar(dst.smax, n);
  dst.varOff = tnum.arshift(dst.varOff, n, 64);
  dst.umin = u64.ZERO;
  dst.umax = u64.MAX;
  s.mark32Unbounded(dst);
  s.updateRegBounds(dst);
}

/**
 * BPF_END on a scalar (kernel: scalar_byte_swap()). `toLe` is BPF_SRC (the TO_LE/TO_BE bit) of an
 * ALU-class insn; ALU64 (bswap) always swaps. Hosts are little-endian, as the kernel we mirror.
 */
export function scalarByteSwap(dst: Scalar, alu64: boolean, toLe: boolean, imm: number): void {
  const needBswap = alu64 || !toLe;
  if (needBswap) {
    if (imm === 16) dst.varOff = tnum.bswap16(dst.varOff);
    else if (imm === 32) dst.varOff = tnum.bswap32(dst.varOff);
    else if (imm === 64) dst.varOff = tnum.bswap64(dst.varOff);
    // swapping scrambles the ranges; they come back from the new tnum
    s.markUnbounded(dst);
  }
  if (imm === 16 || imm === 32) coerceRegToSize(dst, imm / 8);
}

/**
 * Whether the kernel tracks bounds for this op with this source (kernel:
 * is_safe_to_compute_dst_reg_range()). 6.18 gives up on DIV and MOD, and on shifts unless the
 * amount is a constant below the operation's width. END is tracked, as the 6.18.44 kernel does.
 */
export function isSafeToComputeDstRegRange(op: number, src: Scalar, alu32: boolean): boolean {
  const srcIsConst = alu32
    ? tnum.subregIsConst(src.varOff) && src.s32min === src.s32max && src.u32min === src.u32max
    : tnum.isConst(src.varOff) && u64.eq(src.smin, src.smax) && u64.eq(src.umin, src.umax);
  switch (op) {
    case ALU.ADD:
    case ALU.SUB:
    case ALU.NEG:
    case ALU.AND:
    case ALU.XOR:
    case ALU.OR:
    case ALU.MUL:
    case ALU.END:
      return true;
    case ALU.LSH:
    case ALU.RSH:
    case ALU.ARSH:
      // the kernel compares the 64-bit umax even for ALU32
      return srcIsConst && u64.ult(src.umax, u64.fromU32(alu32 ? 32 : 64));
    default:
      return false;
  }
}

/**
 * For AND/OR with a constant source, the kernel splits a dst known to be -1 or 0 into two states
 * (kernel: maybe_fork_scalars()). When it applies, dst becomes the -1 state and the returned
 * state is the 0 state for the branch the caller must push (to re-run this same instruction).
 */
export function maybeForkScalars(dst: Scalar): Scalar | null {
  let alu32: boolean;
  if (u64.eq(dst.smin, u64.MAX) && u64.isZero(dst.smax)) alu32 = false;
  else if (dst.s32min === -1 && dst.s32max === 0) alu32 = true;
  else return null;
  const zero = s.copy(dst);
  if (alu32) {
    s.mark32Known(zero, 0);
    s.mark32Known(dst, -1);
  } else {
    s.markKnown(zero, u64.ZERO);
    s.markKnown(dst, u64.MAX);
  }
  return zero;
}

/**
 * dst = dst op src for scalar operands, in place (kernel: adjust_scalar_min_max_vals(), minus
 * the sanitation and the AND/OR fork, which belong to the verifier: call maybeForkScalars()
 * first for AND/OR when src is a 64-bit constant). For NEG and END pass dst as src; END also
 * needs the insn's TO_LE bit and imm (for ALU64 bswap pass toLe: true). Returns false when
 * the kernel gives up and marks dst unknown (the caller then also drops its id and precision).
 */
export function adjustScalarMinMaxVals(
  op: number,
  dst: Scalar,
  src: Scalar,
  alu32: boolean,
  end?: { toLe: boolean; imm: number },
): boolean {
  // the kernel passes src by value, so `r1 op= r1` must not see dst's updates
  if (src === dst) src = s.copy(src);
  if (!isSafeToComputeDstRegRange(op, src, alu32)) {
    s.markUnknown(dst);
    return false;
  }
  switch (op) {
    case ALU.ADD:
      scalar32MinMaxAdd(dst, src);
      scalarMinMaxAdd(dst, src);
      dst.varOff = tnum.add(dst.varOff, src.varOff);
      break;
    case ALU.SUB:
      scalar32MinMaxSub(dst, src);
      scalarMinMaxSub(dst, src);
      dst.varOff = tnum.sub(dst.varOff, src.varOff);
      break;
    case ALU.NEG: {
      // 0 - dst, with the old dst as the subtrahend
      const old = s.copy(dst);
      s.markKnown(dst, u64.ZERO);
      scalar32MinMaxSub(dst, old);
      scalarMinMaxSub(dst, old);
      dst.varOff = tnum.neg(old.varOff);
      break;
    }
    case ALU.MUL:
      dst.varOff = tnum.mul(dst.varOff, src.varOff);
      scalar32MinMaxMul(dst, src);
      scalarMinMaxMul(dst, src);
      break;
    case ALU.AND:
      dst.varOff = tnum.and(dst.varOff, src.varOff);
      scalar32MinMaxAnd(dst, src);
      scalarMinMaxAnd(dst, src);
      break;
    case ALU.OR:
      dst.varOff = tnum.or(dst.varOff, src.varOff);
      scalar32MinMaxOr(dst, src);
      scalarMinMaxOr(dst, src);
      break;
    case ALU.XOR:
      dst.varOff = tnum.xor(dst.varOff, src.varOff);
      scalar32MinMaxXor(dst, src);
      scalarMinMaxXor(dst, src);
      break;
    case ALU.LSH:
      if (alu32) scalar32MinMaxLsh(dst, src);
      else scalarMinMaxLsh(dst, src);
      break;
    case ALU.RSH:
      if (alu32) scalar32MinMaxRsh(dst, src);
      else scalarMinMaxRsh(dst, src);
      break;
    case ALU.ARSH:
      if (alu32) scalar32MinMaxArsh(dst, src);
      else scalarMinMaxArsh(dst, src);
      break;
    case ALU.END:
      if (end === undefined) throw new RangeError('adjustScalarMinMaxVals: END needs { toLe, imm }');
      scalarByteSwap(dst, !alu32, end.toLe, end.imm);
      break;
  }
  // ALU32 results are zero-extended into the 64-bit register; END truncates by itself
  if (alu32 && op !== ALU.END) zext32To64(dst);
  s.regBoundsSync(dst);
  return true;
}
