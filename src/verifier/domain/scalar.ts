// The numeric part of a scalar register state, as the kernel's struct bpf_reg_state keeps it for
// SCALAR_VALUE (Linux 6.18 kernel/bpf/verifier.c): a tnum plus signed/unsigned bounds on 64 and on
// 32 bits. The functions here mutate a state in place, like their kernel namesakes, so that a
// register update costs no copies; call copy() first where the kernel works on a copy.
//
// 64-bit bounds are U64 (read as s64 for smin/smax); 32-bit bounds are plain numbers:
// u32min/u32max in 0..2^32-1 and s32min/s32max in -2^31..2^31-1.

import { InternalError } from '../../errors.ts';
import { regBoundsSyncFast, updateRegBoundsFast } from './sync.ts';
import * as tnum from './tnum.ts';
import type { Tnum } from './tnum.ts';
import * as u64 from './u64.ts';
import type { U64 } from './u64.ts';

export interface Scalar {
  varOff: Tnum;
  smin: U64;
  smax: U64;
  umin: U64;
  umax: U64;
  s32min: number;
  s32max: number;
  u32min: number;
  u32max: number;
}

const S32_MIN = -0x80000000;
const S32_MAX = 0x7fffffff;
const U32_MAX = 0xffffffff;

export function copy(r: Scalar): Scalar {
  // written out: an object literal of one shape is much faster than `{ ...r }`
  return {
    varOff: r.varOff,
    smin: r.smin,
    smax: r.smax,
    umin: r.umin,
    umax: r.umax,
    s32min: r.s32min,
    s32max: r.s32max,
    u32min: r.u32min,
    u32max: r.u32max,
  };
}

/** Overwrites dst with src's fields (the kernel's struct assignment). */
export function assign(dst: Scalar, src: Scalar): void {
  dst.varOff = src.varOff;
  dst.smin = src.smin;
  dst.smax = src.smax;
  dst.umin = src.umin;
  dst.umax = src.umax;
  dst.s32min = src.s32min;
  dst.s32max = src.s32max;
  dst.u32min = src.u32min;
  dst.u32max = src.u32max;
}

/** A scalar known to equal v. */
export function known(v: U64): Scalar {
  const r = unknown();
  markKnown(r, v);
  return r;
}

/** A completely unknown scalar (kernel: __mark_reg_unknown_imprecise(), numeric part). */
export function unknown(): Scalar {
  return {
    varOff: tnum.unknown,
    smin: u64.S64_MIN,
    smax: u64.S64_MAX,
    umin: u64.ZERO,
    umax: u64.MAX,
    s32min: S32_MIN,
    s32max: S32_MAX,
    u32min: 0,
    u32max: U32_MAX,
  };
}

/** Unknown bits and bounds (kernel: __mark_reg_unknown(), numeric part). */
export function markUnknown(r: Scalar): void {
  r.varOff = tnum.unknown;
  markUnbounded(r);
}

// kernel: ___mark_reg_known()
export function markKnown(r: Scalar, imm: U64): void {
  r.varOff = tnum.constant(imm);
  r.smin = imm;
  r.smax = imm;
  r.umin = imm;
  r.umax = imm;
  r.s32min = imm.lo | 0;
  r.s32max = imm.lo | 0;
  r.u32min = imm.lo;
  r.u32max = imm.lo;
}

/** Only the low 32 bits become known; 64-bit bounds are left alone (kernel: __mark_reg32_known()). */
export function mark32Known(r: Scalar, imm: number): void {
  r.varOff = tnum.constSubreg(r.varOff, imm >>> 0);
  r.s32min = imm | 0;
  r.s32max = imm | 0;
  r.u32min = imm >>> 0;
  r.u32max = imm >>> 0;
}

// kernel: __mark_reg_unbounded()
export function markUnbounded(r: Scalar): void {
  mark64Unbounded(r);
  mark32Unbounded(r);
}

// kernel: __mark_reg64_unbounded()
export function mark64Unbounded(r: Scalar): void {
  r.smin = u64.S64_MIN;
  r.smax = u64.S64_MAX;
  r.umin = u64.ZERO;
  r.umax = u64.MAX;
}

// kernel: __mark_reg32_unbounded()
export function mark32Unbounded(r: Scalar): void {
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0;
  r.u32max = U32_MAX;
}

/** Bounds implied by the low 32 bits of var_off (kernel: __update_reg32_bounds()). */
export function updateReg32Bounds(r: Scalar): void {
  const v = r.varOff.vLo;
  const m = r.varOff.mLo;
  // min signed is max(sign bit) | min(other bits); max signed is min(sign bit) | max(other bits)
  r.s32min = Math.max(r.s32min, v | (m & 0x80000000) | 0);
  r.s32max = Math.min(r.s32max, v | (m & 0x7fffffff) | 0);
  r.u32min = Math.max(r.u32min, v);
  r.u32max = Math.min(r.u32max, (v | m) >>> 0);
}

/**
 * Bounds implied by var_off, then the single-value check: when the u64 range and the tnum share
 * exactly one value the register becomes that constant (kernel: __update_reg64_bounds(); the
 * tnum_step() part came to 6.18 through stable).
 */
export function updateReg64Bounds(r: Scalar): void {
  const t = r.varOff;
  r.smin = u64.smaxHL(r.smin, t.vLo, t.vHi | (t.mHi & 0x80000000));
  r.smax = u64.sminHL(r.smax, t.vLo | t.mLo, t.vHi | (t.mHi & 0x7fffffff));
  r.umin = u64.umaxHL(r.umin, t.vLo, t.vHi);
  r.umax = u64.uminHL(r.umax, t.vLo | t.mLo, t.vHi | t.mHi);

  const next = tnum.step(t, r.umin);
  const uminInTnum = tnum.contains(t, r.umin);
  const tmax = u64.make(t.vLo | t.mLo, t.vHi | t.mHi);
  if (uminInTnum && u64.ugt(next, r.umax)) {
    // the range and the tnum meet only at umin
    markKnown(r, r.umin);
  } else if (!uminInTnum && u64.eq(next, tmax)) {
    // they meet only at the tnum's largest member
    markKnown(r, tmax);
  } else if (!uminInTnum && u64.ule(next, r.umax) && u64.ugt(tnum.step(t, next), r.umax)) {
    // they meet only at one member strictly inside the range
    markKnown(r, next);
  }
}

// kernel: __update_reg_bounds() (updateReg32Bounds() then updateReg64Bounds(), on numbers)
export function updateRegBounds(r: Scalar): void {
  updateRegBoundsFast(r);
}

/** Learns 32-bit bounds from 64-bit ones and between s32/u32 (kernel: __reg32_deduce_bounds()). */
export function reg32DeduceBounds(r: Scalar): void {
  // If the upper halves of the u64 range agree, its lower halves form a valid u32 range.
  if (r.umin.hi === r.umax.hi) {
    r.u32min = Math.max(r.u32min, r.umin.lo);
    r.u32max = Math.min(r.u32max, r.umax.lo);
    if ((r.umin.lo | 0) <= (r.umax.lo | 0)) {
      r.s32min = Math.max(r.s32min, r.umin.lo | 0);
      r.s32max = Math.min(r.s32max, r.umax.lo | 0);
    }
  }
  if (r.smin.hi === r.smax.hi) {
    if (r.smin.lo <= r.smax.lo) {
      r.u32min = Math.max(r.u32min, r.smin.lo);
      r.u32max = Math.min(r.u32max, r.smax.lo);
    }
    if ((r.smin.lo | 0) <= (r.smax.lo | 0)) {
      r.s32min = Math.max(r.s32min, r.smin.lo | 0);
      r.s32max = Math.min(r.s32max, r.smax.lo | 0);
    }
  }
  // Upper halves are two consecutive numbers while the lower halves run from negative to positive:
  // the lower halves still form a valid s32 range.
  if ((r.umin.hi + 1) >>> 0 === r.umax.hi && (r.umin.lo | 0) < 0 && (r.umax.lo | 0) >= 0) {
    r.s32min = Math.max(r.s32min, r.umin.lo | 0);
    r.s32max = Math.min(r.s32max, r.umax.lo | 0);
  }
  if ((r.smin.hi + 1) >>> 0 === r.smax.hi && (r.smin.lo | 0) < 0 && (r.smax.lo | 0) >= 0) {
    r.s32min = Math.max(r.s32min, r.smin.lo | 0);
    r.s32max = Math.min(r.s32max, r.smax.lo | 0);
  }
  // A u32 range that does not cross the sign bit is also an s32 range.
  if ((r.u32min | 0) <= (r.u32max | 0)) {
    r.s32min = Math.max(r.s32min, r.u32min | 0);
    r.s32max = Math.min(r.s32max, r.u32max | 0);
  }
  // An s32 range that does not cross the sign boundary is also a u32 range.
  if (r.s32min >>> 0 <= r.s32max >>> 0) {
    r.u32min = Math.max(r.s32min >>> 0, r.u32min);
    r.u32max = Math.min(r.s32max >>> 0, r.u32max);
  } else if (r.u32max < r.s32min >>> 0) {
    // the u32 range overlaps only the non-negative part of the s32 range
    r.s32min = r.u32min | 0;
    r.u32max = Math.min(r.u32max, r.s32max >>> 0);
  } else if (r.s32max >>> 0 < r.u32min) {
    // the u32 range overlaps only the negative part of the s32 range
    r.s32max = r.u32max | 0;
    r.u32min = Math.max(r.u32min, r.s32min >>> 0);
  }
}

/** Learns between s64 and u64 (kernel: __reg64_deduce_bounds()). */
export function reg64DeduceBounds(r: Scalar): void {
  // A u64 range within one sign half is also an s64 range.
  if (u64.sle(r.umin, r.umax)) {
    r.smin = u64.smax(r.smin, r.umin);
    r.smax = u64.smin(r.smax, r.umax);
  }
  if (u64.ule(r.smin, r.smax)) {
    r.umin = u64.umax(r.smin, r.umin);
    r.umax = u64.umin(r.smax, r.umax);
  } else if (u64.ult(r.umax, r.smin)) {
    // s64 range crosses the sign boundary; u64 overlaps only its non-negative end
    r.smin = r.umin;
    r.umax = u64.umin(r.umax, r.smax);
  } else if (u64.ult(r.smax, r.umin)) {
    // u64 overlaps only the negative end of the s64 range
    r.smax = r.umax;
    r.umin = u64.umax(r.umin, r.smin);
  }
}

/** Tightens 64-bit bounds with 32-bit knowledge (kernel: __reg_deduce_mixed_bounds()). */
export function regDeduceMixedBounds(r: Scalar): void {
  // u32 -> u64 and u32 -> s64: substitute the low halves of the 64-bit bounds
  r.umin = u64.umaxHL(r.umin, r.u32min, r.umin.hi);
  r.umax = u64.uminHL(r.umax, r.u32max, r.umax.hi);
  r.smin = u64.smaxHL(r.smin, r.u32min, r.smin.hi);
  r.smax = u64.sminHL(r.smax, r.u32max, r.smax.hi);

  // s32 -> u64/s64 when the s32 range is also a valid u32 range
  if (r.s32min >>> 0 <= r.s32max >>> 0) {
    r.umin = u64.umaxHL(r.umin, r.s32min, r.umin.hi);
    r.umax = u64.uminHL(r.umax, r.s32max, r.umax.hi);
    r.smin = u64.smaxHL(r.smin, r.s32min, r.smin.hi);
    r.smax = u64.sminHL(r.smax, r.s32max, r.smax.hi);
  }

  // After a sign-extending load: s64 within [S32_MIN, S32_MAX] and a non-negative s32 range mean
  // the upper half cannot be all ones.
  if (r.s32min >= 0 && u64.sge(r.smin, u64.S32_MIN) && u64.sle(r.smax, u64.S32_MAX)) {
    // sign-extending: in an already contradictory state s32max may be negative
    r.smin = u64.fromS32(r.s32min);
    r.smax = u64.fromS32(r.s32max);
    r.umin = r.smin;
    r.umax = r.smax;
    r.varOff = tnum.intersect(r.varOff, tnum.range(r.smin, r.smax));
  }
}

// kernel: __reg_deduce_bounds()
export function regDeduceBounds(r: Scalar): void {
  reg32DeduceBounds(r);
  reg64DeduceBounds(r);
  regDeduceMixedBounds(r);
}

/** Improves var_off from the unsigned bounds (kernel: __reg_bound_offset()). */
export function regBoundOffset(r: Scalar): void {
  const var64 = tnum.intersect(r.varOff, tnum.range(r.umin, r.umax));
  const var32 = tnum.intersect(tnum.subreg(var64), tnum.range(u64.fromU32(r.u32min), u64.fromU32(r.u32max)));
  r.varOff = tnum.or(tnum.clearSubreg(var64), var32);
}

/**
 * kernel: reg_bounds_sync(): updateRegBounds(), up to three rounds of regDeduceBounds() until
 * one changes nothing, regBoundOffset(), updateRegBounds(); done on numbers by sync.ts.
 */
export function regBoundsSync(r: Scalar): void {
  regBoundsSyncFast(r);
}

/**
 * The kernel's reg_bounds_sanity_check() test: null when the state is consistent, else the
 * kernel's log text after "verifier bug: " (6.18 prints it through verifier_bug()).
 */
export function sanityViolation(r: Scalar, ctx: string): string | null {
  let msg: string | null = null;
  if (u64.ugt(r.umin, r.umax) || u64.sgt(r.smin, r.smax) || r.u32min > r.u32max || r.s32min > r.s32max) {
    msg = 'range bounds violation';
  } else if (tnum.isConst(r.varOff)) {
    // compared on halves: this runs after every ALU instruction
    const lo = r.varOff.vLo;
    const hi = r.varOff.vHi;
    if (
      r.umin.lo !== lo ||
      r.umin.hi !== hi ||
      r.umax.lo !== lo ||
      r.umax.hi !== hi ||
      r.smin.lo !== lo ||
      r.smin.hi !== hi ||
      r.smax.lo !== lo ||
      r.smax.hi !== hi
    ) {
      msg = 'const tnum out of sync with range bounds';
    }
  }
  if (msg === null && tnum.subregIsConst(r.varOff)) {
    const v = r.varOff.vLo;
    if (r.u32min !== v || r.u32max !== v || r.s32min !== (v | 0) || r.s32max !== (v | 0)) {
      msg = 'const subreg tnum out of sync with range bounds';
    }
  }
  if (msg === null) return null;
  const h = u64.toHex;
  const h32 = (n: number): string => `0x${(n >>> 0).toString(16)}`;
  return (
    `REG INVARIANTS VIOLATION (${ctx}): ${msg} u64=[${h(r.umin)}, ${h(r.umax)}] ` +
    `s64=[${h(r.smin)}, ${h(r.smax)}] u32=[${h32(r.u32min)}, ${h32(r.u32max)}] ` +
    `s32=[${h32(r.s32min)}, ${h32(r.s32max)}] var_off=(${h(tnum.value(r.varOff))}, ${h(tnum.mask(r.varOff))})`
  );
}

/**
 * kernel: reg_bounds_sanity_check(). The kernel logs the violation, warns, forgets the bounds and
 * goes on; with `strict` (the kernel's test_reg_invariants) we throw an InternalError instead.
 * Returns the log text, or null when the state was sane.
 */
export function regBoundsSanityCheck(r: Scalar, ctx: string, strict = false): string | null {
  const msg = sanityViolation(r, ctx);
  if (msg === null) return null;
  if (strict) throw new InternalError(msg);
  markUnbounded(r);
  return msg;
}

/** True when the 32-bit view (or the whole value) is a known constant (kernel: is_reg_const()). */
export function isRegConst(r: Scalar, subreg32: boolean): boolean {
  return subreg32 ? tnum.subregIsConst(r.varOff) : tnum.isConst(r.varOff);
}

/** The constant of isRegConst(), zero-extended when 32-bit (kernel: reg_const_value()). */
export function regConstValue(r: Scalar, subreg32: boolean): U64 {
  return subreg32 ? u64.fromU32(r.varOff.vLo) : tnum.value(r.varOff);
}

/** Bitwise equality of the numeric state. */
export function equals(a: Scalar, b: Scalar): boolean {
  return (
    tnum.equals(a.varOff, b.varOff) &&
    u64.eq(a.smin, b.smin) &&
    u64.eq(a.smax, b.smax) &&
    u64.eq(a.umin, b.umin) &&
    u64.eq(a.umax, b.umax) &&
    a.s32min === b.s32min &&
    a.s32max === b.s32max &&
    a.u32min === b.u32min &&
    a.u32max === b.u32max
  );
}

/** True when the concrete value v satisfies var_off and all eight bounds. */
export function contains(r: Scalar, v: U64): boolean {
  const lo = v.lo;
  return (
    tnum.contains(r.varOff, v) &&
    u64.sle(r.smin, v) &&
    u64.sle(v, r.smax) &&
    u64.ule(r.umin, v) &&
    u64.ule(v, r.umax) &&
    r.s32min <= (lo | 0) &&
    (lo | 0) <= r.s32max &&
    r.u32min <= lo &&
    lo <= r.u32max
  );
}

/** Every value of old is a value of cur, bounds-wise (kernel: range_within()). */
export function rangeWithin(old: Scalar, cur: Scalar): boolean {
  return (
    u64.ule(old.umin, cur.umin) &&
    u64.uge(old.umax, cur.umax) &&
    u64.sle(old.smin, cur.smin) &&
    u64.sge(old.smax, cur.smax) &&
    old.u32min <= cur.u32min &&
    old.u32max >= cur.u32max &&
    old.s32min <= cur.s32min &&
    old.s32max >= cur.s32max
  );
}

/**
 * The numeric half of regsafe() for scalars and map/mem pointers: cur's values are all values
 * of old (kernel: range_within(old, cur) && tnum_in(old->var_off, cur->var_off)).
 */
export function within(old: Scalar, cur: Scalar): boolean {
  return rangeWithin(old, cur) && tnum.isIn(old.varOff, cur.varOff);
}

/** Bits needed for the largest value (kernel: get_reg_width(), fls64(umax)). */
export function regWidth(r: Scalar): number {
  return u64.fls(r.umax);
}

/** The operand the kernel builds for a BPF_K immediate: a known, sign-extended value. */
export function fromImm(imm: number): Scalar {
  return known(u64.fromS32(imm));
}
