// Truncation, zero-extension and sign-extension of scalar states (Linux 6.18 verifier.c):
// what loads of narrow sizes, ALU32 results and the MOVSX forms do to a register's bounds.

import * as s from './scalar.ts';
import type { Scalar } from './scalar.ts';
import * as tnum from './tnum.ts';
import * as u64 from './u64.ts';

const U32_MAX = 0xffffffff;

/** Copies the 32-bit bounds into the 64-bit ones (kernel: __reg_assign_32_into_64()). */
export function regAssign32Into64(r: Scalar): void {
  r.umin = u64.fromU32(r.u32min);
  r.umax = u64.fromU32(r.u32max);
  // signed 32-bit bounds carry over only when both are non-negative
  if (r.s32min >= 0 && r.s32max >= 0) {
    r.smin = u64.fromU32(r.s32min);
    r.smax = u64.fromU32(r.s32max);
  } else {
    r.smin = u64.ZERO;
    r.smax = u64.U32_MAX;
  }
}

/** ALU32 results are zero-extended into 64 bits (kernel: zext_32_to_64()). */
export function zext32To64(r: Scalar): void {
  r.varOff = tnum.subreg(r.varOff);
  regAssign32Into64(r);
}

/** Truncates to `size` bytes, 1 <= size < 8 (kernel: coerce_reg_to_size()). */
export function coerceRegToSize(r: Scalar, size: number): void {
  // the kernel never truncates to 8 bytes (its mask would shift by 64)
  if (size >= 8) return;
  r.varOff = tnum.cast(r.varOff, size);
  const mask = u64.sub(u64.shl(u64.ONE, size * 8), u64.ONE);
  const notMask = u64.not(mask);
  if (u64.eq(u64.and(r.umin, notMask), u64.and(r.umax, notMask))) {
    r.umin = u64.and(r.umin, mask);
    r.umax = u64.and(r.umax, mask);
  } else {
    r.umin = u64.ZERO;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  // below 32 bits the subregister is truncated too; its bounds come back from the 64-bit ones
  if (size < 4) s.mark32Unbounded(r);
  s.regBoundsSync(r);
}

/** Sign-extends the low `bits` of v to 64 bits. */
function sext(v: u64.U64, bits: number): u64.U64 {
  return u64.sar(u64.shl(v, 64 - bits), 64 - bits);
}

// kernel: set_sext64_default_val()
function setSext64DefaultVal(r: Scalar, size: number): void {
  const bits = size * 8;
  const lo = -(2 ** (bits - 1));
  const hi = 2 ** (bits - 1) - 1;
  r.smin = u64.fromS32(lo);
  r.s32min = lo;
  r.smax = u64.fromS32(hi);
  r.s32max = hi;
  r.umin = u64.ZERO;
  r.u32min = 0;
  r.umax = u64.MAX;
  r.u32max = U32_MAX;
  r.varOff = tnum.unknown;
}

/** r = (s8/s16/s32)r on 64 bits, size 1, 2 or 4 (kernel: coerce_reg_to_size_sx()). */
export function coerceRegToSizeSx(r: Scalar, size: number): void {
  const numBits = size * 8;
  if (tnum.isConst(r.varOff)) {
    const v = sext(tnum.value(r.varOff), numBits);
    r.varOff = tnum.constant(v);
    r.smin = r.smax = v;
    r.umin = r.umax = v;
    r.s32min = r.s32max = v.lo | 0;
    r.u32min = r.u32max = v.lo;
    return;
  }
  // the bits above the extended part must agree across the s64 range
  const topSmax = u64.shl(u64.shr(r.smax, numBits), numBits);
  const topSmin = u64.shl(u64.shr(r.smin, numBits), numBits);
  if (u64.eq(topSmax, topSmin)) {
    const initMax = sext(r.smax, numBits);
    const initMin = sext(r.smin, numBits);
    const s64Max = u64.smax(initMax, initMin);
    const s64Min = u64.smin(initMax, initMin);
    // both ends positive or both negative: the extended range is contiguous
    if (u64.isNeg(s64Max) === u64.isNeg(s64Min)) {
      r.smin = s64Min;
      r.s32min = s64Min.lo | 0;
      r.smax = s64Max;
      r.s32max = s64Max.lo | 0;
      r.umin = s64Min;
      r.u32min = s64Min.lo;
      r.umax = s64Max;
      r.u32max = s64Max.lo;
      r.varOff = tnum.range(s64Min, s64Max);
      return;
    }
  }
  setSext64DefaultVal(r, size);
}

// kernel: set_sext32_default_val()
function setSext32DefaultVal(r: Scalar, size: number): void {
  const bits = size * 8;
  r.s32min = -(2 ** (bits - 1));
  r.s32max = 2 ** (bits - 1) - 1;
  r.u32min = 0;
  r.u32max = U32_MAX;
  r.varOff = tnum.subreg(tnum.unknown);
}

/**
 * w = (s8/s16)w, size 1 or 2, touching only the 32-bit view (kernel: coerce_subreg_to_size_sx()).
 * The caller zero-extends afterwards, as check_alu_op() does.
 */
export function coerceSubregToSizeSx(r: Scalar, size: number): void {
  const numBits = size * 8;
  if (tnum.isConst(r.varOff)) {
    // the kernel stores the 64-bit sign extension in var_off here; zext later trims it
    const v = sext(tnum.value(r.varOff), numBits);
    r.varOff = tnum.constant(v);
    r.s32min = r.s32max = v.lo | 0;
    r.u32min = r.u32max = v.lo;
    return;
  }
  const shift = numBits;
  const topSmax = ((r.s32max >>> shift) << shift) >>> 0;
  const topSmin = ((r.s32min >>> shift) << shift) >>> 0;
  if (topSmax === topSmin) {
    const initMax = (r.s32max << (32 - numBits)) >> (32 - numBits);
    const initMin = (r.s32min << (32 - numBits)) >> (32 - numBits);
    const s32Max = Math.max(initMax, initMin);
    const s32Min = Math.min(initMax, initMin);
    if (s32Min >= 0 === s32Max >= 0) {
      r.s32min = s32Min;
      r.s32max = s32Max;
      r.u32min = s32Min >>> 0;
      r.u32max = s32Max >>> 0;
      r.varOff = tnum.subreg(tnum.range(u64.fromS32(s32Min), u64.fromS32(s32Max)));
      return;
    }
  }
  setSext32DefaultVal(r, size);
}

/** `w = w2` on a scalar: copy, zero-extend, sync (check_alu_op(), BPF_ALU BPF_MOV BPF_X off=0). */
export function mov32(src: Scalar): Scalar {
  const r = s.copy(src);
  zext32To64(r);
  s.regBoundsSync(r);
  return r;
}

/** `r = (s8/s16/s32)r2`, offBits 8, 16 or 32 (check_alu_op(), BPF_ALU64 BPF_MOV BPF_X). */
export function movSx64(src: Scalar, offBits: number): Scalar {
  const r = s.copy(src);
  coerceRegToSizeSx(r, offBits >> 3);
  return r;
}

/** `w = (s8/s16)w2`, offBits 8 or 16 (check_alu_op(), BPF_ALU BPF_MOV BPF_X). */
export function movSx32(src: Scalar, offBits: number): Scalar {
  const r = s.copy(src);
  coerceSubregToSizeSx(r, offBits >> 3);
  zext32To64(r);
  s.regBoundsSync(r);
  return r;
}

/** True when the kernel keeps the scalar id across a MOVSX (src umax < 2^(offBits-1)). */
export function movSxKeepsId(src: Scalar, offBits: number): boolean {
  return u64.ult(src.umax, u64.shl(u64.ONE, offBits - 1));
}
