// Conditional jumps on scalars (Linux 6.18 kernel/bpf/verifier.c): deciding a branch from the
// operands' states (is_scalar_branch_taken()) and narrowing both operands on each side
// (regs_refine_cond_op(), reg_set_min_max()). Operation codes are the ISA's BPF_OP() values;
// JSET_NOT (JSET | BPF_X) is the kernel's private "JSET was false" code from rev_opcode().

import * as s from './scalar.ts';
import type { Scalar } from './scalar.ts';
import * as tnum from './tnum.ts';
import * as u64 from './u64.ts';
import type { U64 } from './u64.ts';

export const JMP = {
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** Not an instruction: the false side of JSET (kernel: BPF_JSET | BPF_X in rev_opcode()). */
  JSET_NOT: 0x48,
} as const;

export type BranchTaken = 1 | 0 | -1;

/** How to write `a op b` as `b op' a` (kernel: flip_opcode()). */
export function flipOpcode(op: number): number {
  switch (op) {
    case JMP.JGE:
      return JMP.JLE;
    case JMP.JGT:
      return JMP.JLT;
    case JMP.JLE:
      return JMP.JGE;
    case JMP.JLT:
      return JMP.JGT;
    case JMP.JSGE:
      return JMP.JSLE;
    case JMP.JSGT:
      return JMP.JSLT;
    case JMP.JSLE:
      return JMP.JSGE;
    case JMP.JSLT:
      return JMP.JSGT;
    default:
      return op; // JEQ, JNE, JSET are symmetric
  }
}

/** The condition of the fall-through side (kernel: rev_opcode()); 0 for unknown codes. */
export function revOpcode(op: number): number {
  switch (op) {
    case JMP.JEQ:
      return JMP.JNE;
    case JMP.JNE:
      return JMP.JEQ;
    case JMP.JSET:
      return JMP.JSET_NOT;
    case JMP.JSET_NOT:
      return JMP.JSET;
    case JMP.JGE:
      return JMP.JLT;
    case JMP.JGT:
      return JMP.JLE;
    case JMP.JLE:
      return JMP.JGT;
    case JMP.JLT:
      return JMP.JGE;
    case JMP.JSGE:
      return JMP.JSLT;
    case JMP.JSGT:
      return JMP.JSLE;
    case JMP.JSLE:
      return JMP.JSGT;
    case JMP.JSLT:
      return JMP.JSGE;
    default:
      return 0;
  }
}

/**
 * 1 when `a op b` holds for every pair of members, 0 when for none, -1 when it depends
 * (kernel: is_scalar_branch_taken()).
 */
export function isBranchTaken(op: number, a: Scalar, b: Scalar, is32: boolean): BranchTaken {
  return is32 ? isBranchTaken32(op, a, b) : isBranchTaken64(op, a, b);
}

function jsetTaken(a: Scalar, b: Scalar, is32: boolean): BranchTaken {
  if (!s.isRegConst(b, is32)) [a, b] = [b, a];
  if (!s.isRegConst(b, is32)) return -1;
  const t1 = is32 ? tnum.subreg(a.varOff) : a.varOff;
  const t2 = is32 ? tnum.subreg(b.varOff) : b.varOff;
  // some known-1 bit of a is set in b
  if ((t1.vLo & ~t1.mLo & t2.vLo) !== 0 || (t1.vHi & ~t1.mHi & t2.vHi) !== 0) return 1;
  // no possibly-1 bit of a is set in b
  if (((t1.mLo | t1.vLo) & t2.vLo) === 0 && ((t1.mHi | t1.vHi) & t2.vHi) === 0) return 0;
  return -1;
}

function isBranchTaken32(op: number, a: Scalar, b: Scalar): BranchTaken {
  const t1 = tnum.subreg(a.varOff);
  const t2 = tnum.subreg(b.varOff);
  const umin1 = a.u32min;
  const umax1 = a.u32max;
  const smin1 = a.s32min;
  const smax1 = a.s32max;
  const umin2 = b.u32min;
  const umax2 = b.u32max;
  const smin2 = b.s32min;
  const smax2 = b.s32max;
  switch (op) {
    case JMP.JEQ:
      if (tnum.isConst(t1) && tnum.isConst(t2)) return t1.vLo === t2.vLo ? 1 : 0;
      if (!tnum.overlap(t1, t2)) return 0;
      if (umin1 > umax2 || umax1 < umin2) return 0;
      if (smin1 > smax2 || smax1 < smin2) return 0;
      return -1;
    case JMP.JNE:
      if (tnum.isConst(t1) && tnum.isConst(t2)) return t1.vLo !== t2.vLo ? 1 : 0;
      if (!tnum.overlap(t1, t2)) return 1;
      if (umin1 > umax2 || umax1 < umin2) return 1;
      if (smin1 > smax2 || smax1 < smin2) return 1;
      return -1;
    case JMP.JSET:
      return jsetTaken(a, b, true);
    default:
      return orderTaken(op, umin1 - umax2, umax1 - umin2, smin1 - smax2, smax1 - smin2);
  }
}

/**
 * The ordered comparisons, given the signs of the extreme differences (what the kernel compares:
 * umin1 vs umax2, umax1 vs umin2, smin1 vs smax2, smax1 vs smin2).
 */
function orderTaken(op: number, uLoHi: number, uHiLo: number, sLoHi: number, sHiLo: number): BranchTaken {
  switch (op) {
    case JMP.JGT:
      return uLoHi > 0 ? 1 : uHiLo <= 0 ? 0 : -1;
    case JMP.JSGT:
      return sLoHi > 0 ? 1 : sHiLo <= 0 ? 0 : -1;
    case JMP.JLT:
      return uHiLo < 0 ? 1 : uLoHi >= 0 ? 0 : -1;
    case JMP.JSLT:
      return sHiLo < 0 ? 1 : sLoHi >= 0 ? 0 : -1;
    case JMP.JGE:
      return uLoHi >= 0 ? 1 : uHiLo < 0 ? 0 : -1;
    case JMP.JSGE:
      return sLoHi >= 0 ? 1 : sHiLo < 0 ? 0 : -1;
    case JMP.JLE:
      return uHiLo <= 0 ? 1 : uLoHi > 0 ? 0 : -1;
    case JMP.JSLE:
      return sHiLo <= 0 ? 1 : sLoHi > 0 ? 0 : -1;
    default:
      return -1;
  }
}

function isBranchTaken64(op: number, a: Scalar, b: Scalar): BranchTaken {
  const t1 = a.varOff;
  const t2 = b.varOff;
  switch (op) {
    case JMP.JEQ:
    case JMP.JNE: {
      const eq = op === JMP.JEQ;
      const yes: BranchTaken = eq ? 1 : 0;
      const no: BranchTaken = eq ? 0 : 1;
      if (tnum.isConst(t1) && tnum.isConst(t2)) return tnum.equals(t1, t2) ? yes : no;
      if (!tnum.overlap(t1, t2)) return no;
      if (u64.ugt(a.umin, b.umax) || u64.ult(a.umax, b.umin)) return no;
      if (u64.sgt(a.smin, b.smax) || u64.slt(a.smax, b.smin)) return no;
      // 64-bit ranges inconclusive: the 32-bit subranges may still rule equality out
      if (a.u32min > b.u32max || a.u32max < b.u32min) return no;
      if (a.s32min > b.s32max || a.s32max < b.s32min) return no;
      return -1;
    }
    case JMP.JSET:
      return jsetTaken(a, b, false);
    default:
      return orderTaken(
        op,
        u64.cmpU(a.umin, b.umax),
        u64.cmpU(a.umax, b.umin),
        u64.cmpS(a.smin, b.smax),
        u64.cmpS(a.smax, b.smin),
      );
  }
}

const isPowerOf2 = (v: U64): boolean => !u64.isZero(v) && u64.isZero(u64.and(v, u64.sub(v, u64.ONE)));

/**
 * Narrows reg1 and reg2 in place to the pairs where `reg1 op reg2` holds (kernel:
 * regs_refine_cond_op()). reg1 and reg2 may be the same object (`if r1 > r1`), as in the kernel.
 * Bounds are left unsynchronised: call regBoundsSync() on both afterwards.
 */
export function regsRefineCondOp(reg1: Scalar, reg2: Scalar, op: number, is32: boolean): void {
  // GE/GT/SGE/SGT reuse the LE/LT/SLE/SLT cases with the operands swapped
  switch (op) {
    case JMP.JGE:
    case JMP.JGT:
    case JMP.JSGE:
    case JMP.JSGT:
      op = flipOpcode(op);
      [reg1, reg2] = [reg2, reg1];
      break;
  }
  switch (op) {
    case JMP.JEQ:
      if (is32) {
        reg1.u32min = Math.max(reg1.u32min, reg2.u32min);
        reg1.u32max = Math.min(reg1.u32max, reg2.u32max);
        reg1.s32min = Math.max(reg1.s32min, reg2.s32min);
        reg1.s32max = Math.min(reg1.s32max, reg2.s32max);
        reg2.u32min = reg1.u32min;
        reg2.u32max = reg1.u32max;
        reg2.s32min = reg1.s32min;
        reg2.s32max = reg1.s32max;
        const t = tnum.intersect(tnum.subreg(reg1.varOff), tnum.subreg(reg2.varOff));
        reg1.varOff = tnum.withSubreg(reg1.varOff, t);
        reg2.varOff = tnum.withSubreg(reg2.varOff, t);
      } else {
        reg1.umin = u64.umax(reg1.umin, reg2.umin);
        reg1.umax = u64.umin(reg1.umax, reg2.umax);
        reg1.smin = u64.smax(reg1.smin, reg2.smin);
        reg1.smax = u64.smin(reg1.smax, reg2.smax);
        reg2.umin = reg1.umin;
        reg2.umax = reg1.umax;
        reg2.smin = reg1.smin;
        reg2.smax = reg1.smax;
        reg1.varOff = tnum.intersect(reg1.varOff, reg2.varOff);
        reg2.varOff = reg1.varOff;
      }
      break;
    case JMP.JNE: {
      if (!s.isRegConst(reg2, is32)) [reg1, reg2] = [reg2, reg1];
      if (!s.isRegConst(reg2, is32)) break;
      // a constant at the edge of reg1's range shrinks that edge
      const val = s.regConstValue(reg2, is32);
      if (is32) {
        if (reg1.u32min === val.lo) reg1.u32min = (reg1.u32min + 1) >>> 0;
        if (reg1.u32max === val.lo) reg1.u32max = (reg1.u32max - 1) >>> 0;
        if (reg1.s32min === (val.lo | 0)) reg1.s32min = (reg1.s32min + 1) | 0;
        if (reg1.s32max === (val.lo | 0)) reg1.s32max = (reg1.s32max - 1) | 0;
      } else {
        if (u64.eq(reg1.umin, val)) reg1.umin = u64.add(reg1.umin, u64.ONE);
        if (u64.eq(reg1.umax, val)) reg1.umax = u64.sub(reg1.umax, u64.ONE);
        if (u64.eq(reg1.smin, val)) reg1.smin = u64.add(reg1.smin, u64.ONE);
        if (u64.eq(reg1.smax, val)) reg1.smax = u64.sub(reg1.smax, u64.ONE);
      }
      break;
    }
    case JMP.JSET: {
      if (!s.isRegConst(reg2, is32)) [reg1, reg2] = [reg2, reg1];
      if (!s.isRegConst(reg2, is32)) break;
      const val = s.regConstValue(reg2, is32);
      // only a single tested bit tells which bit is set
      if (!isPowerOf2(val)) break;
      if (is32) {
        const t = tnum.or(tnum.subreg(reg1.varOff), tnum.constant(val));
        reg1.varOff = tnum.withSubreg(reg1.varOff, t);
      } else {
        reg1.varOff = tnum.or(reg1.varOff, tnum.constant(val));
      }
      break;
    }
    case JMP.JSET_NOT: {
      if (!s.isRegConst(reg2, is32)) [reg1, reg2] = [reg2, reg1];
      if (!s.isRegConst(reg2, is32)) break;
      const val = s.regConstValue(reg2, is32);
      // forget the ranges before narrowing the tnum, so a dead branch breaks no invariant
      s.markUnbounded(reg1);
      const cleared = tnum.constant(u64.not(val));
      if (is32) {
        const t = tnum.and(tnum.subreg(reg1.varOff), cleared);
        reg1.varOff = tnum.withSubreg(reg1.varOff, t);
      } else {
        reg1.varOff = tnum.and(reg1.varOff, cleared);
      }
      break;
    }
    case JMP.JLE:
      if (is32) {
        reg1.u32max = Math.min(reg1.u32max, reg2.u32max);
        reg2.u32min = Math.max(reg1.u32min, reg2.u32min);
      } else {
        reg1.umax = u64.umin(reg1.umax, reg2.umax);
        reg2.umin = u64.umax(reg1.umin, reg2.umin);
      }
      break;
    case JMP.JLT:
      if (is32) {
        reg1.u32max = Math.min(reg1.u32max, (reg2.u32max - 1) >>> 0);
        reg2.u32min = Math.max((reg1.u32min + 1) >>> 0, reg2.u32min);
      } else {
        reg1.umax = u64.umin(reg1.umax, u64.sub(reg2.umax, u64.ONE));
        reg2.umin = u64.umax(u64.add(reg1.umin, u64.ONE), reg2.umin);
      }
      break;
    case JMP.JSLE:
      if (is32) {
        reg1.s32max = Math.min(reg1.s32max, reg2.s32max);
        reg2.s32min = Math.max(reg1.s32min, reg2.s32min);
      } else {
        reg1.smax = u64.smin(reg1.smax, reg2.smax);
        reg2.smin = u64.smax(reg1.smin, reg2.smin);
      }
      break;
    case JMP.JSLT:
      if (is32) {
        reg1.s32max = Math.min(reg1.s32max, (reg2.s32max - 1) | 0);
        reg2.s32min = Math.max((reg1.s32min + 1) | 0, reg2.s32min);
      } else {
        reg1.smax = u64.smin(reg1.smax, u64.sub(reg2.smax, u64.ONE));
        reg2.smin = u64.smax(u64.add(reg1.smin, u64.ONE), reg2.smin);
      }
      break;
  }
}

/**
 * The operands' states on the side where `a op b` holds: copies of a and b refined and
 * synchronised. `sameReg`: a register compared with itself (by default: the same object twice;
 * registers share scalars, so a caller that knows the register numbers says so).
 * For the fall-through side use revOpcode(op).
 */
export function refineCondOp(
  op: number,
  a: Scalar,
  b: Scalar,
  is32: boolean,
  sameReg: boolean = a === b,
): [Scalar, Scalar] {
  const ra = s.copy(a);
  const rb = sameReg ? ra : s.copy(b);
  regsRefineCondOp(ra, rb, op, is32);
  s.regBoundsSync(ra);
  s.regBoundsSync(rb);
  return [ra, rb];
}

export interface CondRefinement {
  /** [dst, src] where the jump is taken. */
  taken: [Scalar, Scalar];
  /** [dst, src] on the fall-through path. */
  fallthrough: [Scalar, Scalar];
  /** Kernel log lines for broken invariants (each such state was reset to unbounded). */
  violations: string[];
}

/**
 * Both sides of a conditional jump between scalars (kernel: reg_set_min_max()), including the
 * sanity checks in the kernel's order. With `strict` a broken invariant throws InternalError.
 */
export function regSetMinMax(
  op: number,
  a: Scalar,
  b: Scalar,
  is32: boolean,
  strict = false,
  sameReg: boolean = a === b,
): CondRefinement {
  const fallthrough = refineCondOp(revOpcode(op), a, b, is32, sameReg);
  const taken = refineCondOp(op, a, b, is32, sameReg);
  const violations: string[] = [];
  // written out, in the kernel's order: this runs at every undecided conditional jump
  noteViolation(violations, taken[0], 'true_reg1', strict);
  noteViolation(violations, taken[1], 'true_reg2', strict);
  noteViolation(violations, fallthrough[0], 'false_reg1', strict);
  noteViolation(violations, fallthrough[1], 'false_reg2', strict);
  return { taken, fallthrough, violations };
}

function noteViolation(violations: string[], r: Scalar, ctx: string, strict: boolean): void {
  const msg = s.regBoundsSanityCheck(r, ctx, strict);
  if (msg !== null) violations.push(msg);
}
