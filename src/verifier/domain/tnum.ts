// tnum: a tracked ("tristate") number, the kernel's bit-level abstraction of a u64
// (kernel/bpf/tnum.c, include/linux/tnum.h, Linux 6.18). Each bit is known 0, known 1 or unknown:
// a bit is unknown when its mask bit is 1, and then its value bit is 0. Every operation returns a
// tnum that contains every concrete result for every pair of members of the operands.
//
// Stored flat as four uint32 halves (value lo/hi, mask lo/hi) so that the bitwise operations,
// which dominate, need no temporary objects. Tnums are immutable.

import * as u64 from './u64.ts';
import type { U64 } from './u64.ts';

export interface Tnum {
  readonly vLo: number;
  readonly vHi: number;
  readonly mLo: number;
  readonly mHi: number;
}

function mk(vLo: number, vHi: number, mLo: number, mHi: number): Tnum {
  return { vLo: vLo >>> 0, vHi: vHi >>> 0, mLo: mLo >>> 0, mHi: mHi >>> 0 };
}

/** TNUM(value, mask) without normalisation, as the kernel's macro. */
export function of(value: U64, mask: U64): Tnum {
  return mk(value.lo, value.hi, mask.lo, mask.hi);
}

export function value(t: Tnum): U64 {
  return u64.make(t.vLo, t.vHi);
}

export function mask(t: Tnum): U64 {
  return u64.make(t.mLo, t.mHi);
}

const ZERO: Tnum = Object.freeze(mk(0, 0, 0, 0));

/** A completely unknown value (kernel: tnum_unknown). */
export const unknown: Tnum = Object.freeze(mk(0, 0, 0xffffffff, 0xffffffff));

// kernel: tnum_const()
export function constant(v: U64): Tnum {
  return mk(v.lo, v.hi, 0, 0);
}

/** The smallest tnum holding every value of [min, max] (kernel: tnum_range()). */
export function range(min: U64, max: U64): Tnum {
  const xHi = (min.hi ^ max.hi) >>> 0;
  const bits = xHi !== 0 ? 64 - Math.clz32(xHi) : 32 - Math.clz32(min.lo ^ max.lo);
  // 1 << 64 is undefined in C, so the kernel special-cases it
  if (bits > 63) return unknown;
  const dLo = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const dHi = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
  return mk(min.lo & ~dLo, min.hi & ~dHi, dLo, dHi);
}

/** range() of two u32 bounds, zero-extended. */
export function range32(min: number, max: number): Tnum {
  const bits = 32 - Math.clz32(min ^ max);
  const d = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  return mk(min & ~d, 0, d, 0);
}

// kernel: tnum_lshift() — on halves, as every shift instruction runs it
export function lshift(a: Tnum, shift: number): Tnum {
  if (shift === 0) return a;
  if (shift >= 32) return mk(0, a.vLo << (shift - 32), 0, a.mLo << (shift - 32));
  const back = 32 - shift;
  return mk(
    a.vLo << shift,
    (a.vHi << shift) | (a.vLo >>> back),
    a.mLo << shift,
    (a.mHi << shift) | (a.mLo >>> back),
  );
}

// kernel: tnum_rshift()
export function rshift(a: Tnum, shift: number): Tnum {
  if (shift === 0) return a;
  if (shift >= 32) return mk(a.vHi >>> (shift - 32), 0, a.mHi >>> (shift - 32), 0);
  const back = 32 - shift;
  return mk(
    (a.vLo >>> shift) | (a.vHi << back),
    a.vHi >>> shift,
    (a.mLo >>> shift) | (a.mHi << back),
    a.mHi >>> shift,
  );
}

/** Arithmetic shift right by the smallest shift amount, on 32 or 64 bits (kernel: tnum_arshift()). */
export function arshift(a: Tnum, minShift: number, insnBitness: 32 | 64): Tnum {
  if (insnBitness === 32) {
    // (u32)((s32)x >> n): the upper half of the result is zero
    return mk((a.vLo | 0) >> minShift, 0, (a.mLo | 0) >> minShift, 0);
  }
  if (minShift === 0) return a;
  if (minShift >= 32) {
    const n = minShift - 32;
    return mk((a.vHi | 0) >> n, (a.vHi | 0) >> 31, (a.mHi | 0) >> n, (a.mHi | 0) >> 31);
  }
  const back = 32 - minShift;
  return mk(
    (a.vLo >>> minShift) | (a.vHi << back),
    (a.vHi | 0) >> minShift,
    (a.mLo >>> minShift) | (a.mHi << back),
    (a.mHi | 0) >> minShift,
  );
}

// kernel: tnum_add() — written on halves with explicit carries, as it runs inside tnum_mul()'s loop
export function add(a: Tnum, b: Tnum): Tnum {
  // sm = a.mask + b.mask
  let smLo = a.mLo + b.mLo;
  const smHi = (a.mHi + b.mHi + (smLo > 0xffffffff ? 1 : 0)) >>> 0;
  smLo >>>= 0;
  // sv = a.value + b.value
  let svLo = a.vLo + b.vLo;
  const svHi = (a.vHi + b.vHi + (svLo > 0xffffffff ? 1 : 0)) >>> 0;
  svLo >>>= 0;
  // sigma = sm + sv; chi = sigma ^ sv; mu = chi | a.mask | b.mask
  const sgLo = smLo + svLo;
  const sgHi = smHi + svHi + (sgLo > 0xffffffff ? 1 : 0);
  const muLo = ((sgLo ^ svLo) | a.mLo | b.mLo) >>> 0;
  const muHi = ((sgHi ^ svHi) | a.mHi | b.mHi) >>> 0;
  return mk(svLo & ~muLo, svHi & ~muHi, muLo, muHi);
}

// kernel: tnum_sub()
export function sub(a: Tnum, b: Tnum): Tnum {
  // dv = a.value - b.value
  let dvLo = a.vLo - b.vLo;
  const dvHi = (a.vHi - b.vHi - (dvLo < 0 ? 1 : 0)) >>> 0;
  dvLo >>>= 0;
  // alpha = dv + a.mask; beta = dv - b.mask; chi = alpha ^ beta
  const alLo = dvLo + a.mLo;
  const alHi = dvHi + a.mHi + (alLo > 0xffffffff ? 1 : 0);
  const beLo = dvLo - b.mLo;
  const beHi = dvHi - b.mHi - (beLo < 0 ? 1 : 0);
  const muLo = ((alLo ^ beLo) | a.mLo | b.mLo) >>> 0;
  const muHi = ((alHi ^ beHi) | a.mHi | b.mHi) >>> 0;
  return mk(dvLo & ~muLo, dvHi & ~muHi, muLo, muHi);
}

/** 0 - a (kernel: tnum_neg(), added with BPF_NEG range tracking). */
export function neg(a: Tnum): Tnum {
  return sub(ZERO, a);
}

// kernel: tnum_and()
export function and(a: Tnum, b: Tnum): Tnum {
  const vLo = a.vLo & b.vLo;
  const vHi = a.vHi & b.vHi;
  return mk(vLo, vHi, (a.vLo | a.mLo) & (b.vLo | b.mLo) & ~vLo, (a.vHi | a.mHi) & (b.vHi | b.mHi) & ~vHi);
}

// kernel: tnum_or()
export function or(a: Tnum, b: Tnum): Tnum {
  const vLo = a.vLo | b.vLo;
  const vHi = a.vHi | b.vHi;
  return mk(vLo, vHi, (a.mLo | b.mLo) & ~vLo, (a.mHi | b.mHi) & ~vHi);
}

// kernel: tnum_xor()
export function xor(a: Tnum, b: Tnum): Tnum {
  const mLo = a.mLo | b.mLo;
  const mHi = a.mHi | b.mHi;
  return mk((a.vLo ^ b.vLo) & ~mLo, (a.vHi ^ b.vHi) & ~mHi, mLo, mHi);
}

/**
 * Long multiplication over the trits of a (kernel: tnum_mul(), 6.18 version): a known-1 bit adds
 * b, an unknown bit takes the union of "added" and "not added".
 */
export function mul(a: Tnum, b: Tnum): Tnum {
  // all on halves in locals: one round per bit of a, and no object until the end
  let accVLo = 0;
  let accVHi = 0;
  let accMLo = 0;
  let accMHi = 0;
  let avLo = a.vLo;
  let avHi = a.vHi;
  let amLo = a.mLo;
  let amHi = a.mHi;
  let bvLo = b.vLo;
  let bvHi = b.vHi;
  let bmLo = b.mLo;
  let bmHi = b.mHi;
  while ((avLo | avHi | amLo | amHi) !== 0) {
    if (avLo & 1 || amLo & 1) {
      // sum = tnum_add(acc, b), as add() computes it
      let smLo = accMLo + bmLo;
      const smHi = (accMHi + bmHi + (smLo > 0xffffffff ? 1 : 0)) >>> 0;
      smLo >>>= 0;
      let svLo = accVLo + bvLo;
      const svHi = (accVHi + bvHi + (svLo > 0xffffffff ? 1 : 0)) >>> 0;
      svLo >>>= 0;
      const sgLo = smLo + svLo;
      const sgHi = smHi + svHi + (sgLo > 0xffffffff ? 1 : 0);
      const muLo = ((sgLo ^ svLo) | accMLo | bmLo) >>> 0;
      const muHi = ((sgHi ^ svHi) | accMHi | bmHi) >>> 0;
      const sumVLo = (svLo & ~muLo) >>> 0;
      const sumVHi = (svHi & ~muHi) >>> 0;
      if (avLo & 1) {
        accVLo = sumVLo;
        accVHi = sumVHi;
        accMLo = muLo;
        accMHi = muHi;
      } else {
        // unknown bit: union(acc, sum)
        const uLo = ((accVLo ^ sumVLo) | accMLo | muLo) >>> 0;
        const uHi = ((accVHi ^ sumVHi) | accMHi | muHi) >>> 0;
        accVLo = (accVLo & sumVLo & ~uLo) >>> 0;
        accVHi = (accVHi & sumVHi & ~uHi) >>> 0;
        accMLo = uLo;
        accMHi = uHi;
      }
    }
    avLo = (avLo >>> 1) | (avHi << 31);
    avHi >>>= 1;
    amLo = (amLo >>> 1) | (amHi << 31);
    amHi >>>= 1;
    bvHi = ((bvHi << 1) | (bvLo >>> 31)) >>> 0;
    bvLo = (bvLo << 1) >>> 0;
    bmHi = ((bmHi << 1) | (bmLo >>> 31)) >>> 0;
    bmLo = (bmLo << 1) >>> 0;
  }
  return mk(accVLo, accVHi, accMLo, accMHi);
}

/** True when the known bits of a and b agree (kernel: tnum_overlap()). */
export function overlap(a: Tnum, b: Tnum): boolean {
  const muLo = ~a.mLo & ~b.mLo;
  const muHi = ~a.mHi & ~b.mHi;
  return ((a.vLo & muLo) ^ (b.vLo & muLo)) === 0 && ((a.vHi & muHi) ^ (b.vHi & muHi)) === 0;
}

/**
 * Values satisfying both a and b (kernel: tnum_intersect()). Where a and b disagree on a known bit
 * the result says known 1, as the kernel's does.
 */
export function intersect(a: Tnum, b: Tnum): Tnum {
  const vLo = a.vLo | b.vLo;
  const vHi = a.vHi | b.vHi;
  const mLo = a.mLo & b.mLo;
  const mHi = a.mHi & b.mHi;
  return mk(vLo & ~mLo, vHi & ~mHi, mLo, mHi);
}

/** Values satisfying a or b (kernel: tnum_union()). */
export function union(a: Tnum, b: Tnum): Tnum {
  const mLo = (a.vLo ^ b.vLo) | a.mLo | b.mLo;
  const mHi = (a.vHi ^ b.vHi) | a.mHi | b.mHi;
  return mk(a.vLo & b.vLo & ~mLo, a.vHi & b.vHi & ~mHi, mLo, mHi);
}

/** Keeps the lowest `size` bytes, 1 <= size <= 8 (kernel: tnum_cast()). */
export function cast(a: Tnum, size: number): Tnum {
  if (size >= 8) return a;
  if (size >= 4) {
    const hm = size === 4 ? 0 : 2 ** ((size - 4) * 8) - 1;
    return mk(a.vLo, a.vHi & hm, a.mLo, a.mHi & hm);
  }
  const lm = 2 ** (size * 8) - 1;
  return mk(a.vLo & lm, 0, a.mLo & lm, 0);
}

// kernel: tnum_is_aligned() — size is a power of two, 0 means "any"
export function isAligned(a: Tnum, size: U64): boolean {
  if (u64.isZero(size)) return true;
  const m = u64.sub(size, u64.ONE);
  return ((a.vLo | a.mLo) & m.lo) === 0 && ((a.vHi | a.mHi) & m.hi) === 0;
}

/** True when every member of b is a member of a (kernel: tnum_in()). */
export function isIn(a: Tnum, b: Tnum): boolean {
  if ((b.mLo & ~a.mLo) !== 0 || (b.mHi & ~a.mHi) !== 0) return false;
  return (b.vLo & ~a.mLo) >>> 0 === a.vLo && (b.vHi & ~a.mHi) >>> 0 === a.vHi;
}

/** True when the concrete value v is a member of a (tnum_in() of a constant). */
export function contains(a: Tnum, v: U64): boolean {
  return (v.lo & ~a.mLo) >>> 0 === a.vLo && (v.hi & ~a.mHi) >>> 0 === a.vHi;
}

// kernel: tnum_is_const()
export function isConst(a: Tnum): boolean {
  return (a.mLo | a.mHi) === 0;
}

// kernel: tnum_equals_const()
export function equalsConst(a: Tnum, v: U64): boolean {
  return isConst(a) && a.vLo === v.lo && a.vHi === v.hi;
}

// kernel: tnum_is_unknown()
export function isUnknown(a: Tnum): boolean {
  return a.mLo === 0xffffffff && a.mHi === 0xffffffff;
}

export function equals(a: Tnum, b: Tnum): boolean {
  return a.vLo === b.vLo && a.vHi === b.vHi && a.mLo === b.mLo && a.mHi === b.mHi;
}

/** The low 32 bits, zero-extended (kernel: tnum_subreg()). */
export function subreg(a: Tnum): Tnum {
  return a.vHi === 0 && a.mHi === 0 ? a : mk(a.vLo, 0, a.mLo, 0);
}

/** a with its low 32 bits known zero (kernel: tnum_clear_subreg()). */
export function clearSubreg(a: Tnum): Tnum {
  return mk(0, a.vHi, 0, a.mHi);
}

/** The upper half of reg with the lower half of sub (kernel: tnum_with_subreg()). */
export function withSubreg(reg: Tnum, sub: Tnum): Tnum {
  return or(clearSubreg(reg), subreg(sub));
}

// kernel: tnum_const_subreg()
export function constSubreg(a: Tnum, v: number): Tnum {
  return withSubreg(a, mk(v, 0, 0, 0));
}

// kernel: tnum_subreg_is_const()
export function subregIsConst(a: Tnum): boolean {
  return a.mLo === 0;
}

/** `(0x0; 0xff)`, or the constant alone in decimal up to 65535 (kernel: tnum_strn() in log.c). */
export function strn(a: Tnum): string {
  if (isConst(a)) {
    const v = value(a);
    return a.vHi === 0 && a.vLo <= 0xffff ? String(a.vLo) : u64.toHex(v);
  }
  return `(${u64.toHex(value(a))}; ${u64.toHex(mask(a))})`;
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

function swap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** Byte swap of the low 16 bits, upper bits cleared (kernel: tnum_bswap16()). */
export function bswap16(a: Tnum): Tnum {
  return mk(swap16(a.vLo), 0, swap16(a.mLo), 0);
}

// kernel: tnum_bswap32()
export function bswap32(a: Tnum): Tnum {
  return mk(swap32(a.vLo), 0, swap32(a.mLo), 0);
}

// kernel: tnum_bswap64()
export function bswap64(a: Tnum): Tnum {
  return mk(swap32(a.vHi), swap32(a.vLo), swap32(a.mHi), swap32(a.mLo));
}

/**
 * The smallest member of t greater than z; t's largest member when z is at or above it, t's
 * smallest when z is below that (kernel: tnum_step(), backported to 6.18 stable).
 */
export function step(t: Tnum, z: U64): U64 {
  const tmaxLo = (t.vLo | t.mLo) >>> 0;
  const tmaxHi = (t.vHi | t.mHi) >>> 0;
  if (z.hi > tmaxHi || (z.hi === tmaxHi && z.lo >= tmaxLo)) return { lo: tmaxLo, hi: tmaxHi };
  if (z.hi < t.vHi || (z.hi === t.vHi && z.lo < t.vLo)) return { lo: t.vLo, hi: t.vHi };
  // members are v + s for submasks s of m; find the smallest submask above d = z - v by
  // incrementing d "within the mask": non-mask positions filled with ones let the carry ripple.
  // d < m here, so d's highest non-mask bit is below bit 63 and the shift stays defined.
  let dLo = z.lo - t.vLo;
  const borrow = dLo < 0 ? 1 : 0;
  dLo >>>= 0;
  const dHi = (z.hi - t.vHi - borrow) >>> 0;
  const xHi = dHi & ~t.mHi;
  const xLo = dLo & ~t.mLo;
  const bits = xHi !== 0 ? 64 - Math.clz32(xHi) : 32 - Math.clz32(xLo);
  const cLo = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const cHi = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
  const fLo = (dLo | cLo | ~t.mLo) >>> 0;
  const fHi = (dHi | cHi | ~t.mHi) >>> 0;
  // (filled + 1) & m
  const incLo = fLo + 1;
  const carry = incLo > 0xffffffff ? 1 : 0;
  const incHi = fHi + carry;
  return { lo: (t.vLo | (incLo & t.mLo)) >>> 0, hi: (t.vHi | (incHi & t.mHi)) >>> 0 };
}

/** 64 characters of 0/1/x, most significant first (kernel: tnum_sbin()). */
export function sbin(a: Tnum): string {
  let s = '';
  for (let i = 63; i >= 0; i--) {
    const half = i >= 32 ? 1 : 0;
    const bit = 1 << (i & 31);
    const m = half ? a.mHi : a.mLo;
    const v = half ? a.vHi : a.vLo;
    s += m & bit ? 'x' : v & bit ? '1' : '0';
  }
  return s;
}
