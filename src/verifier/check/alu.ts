// ALU instructions (kernel: check_alu_op(), adjust_reg_min_max_vals(), adjust_ptr_min_max_vals()).
import type { Insn } from '../../isa/index.ts';
import { opcode as opNs } from '../../isa/index.ts';
import {
  alu as aluNs,
  coerce as coerceNs,
  scalar as scalarNs,
  tnum as tnumNs,
  u64 as u64Ns,
} from '../domain/index.ts';
import type { Scalar } from '../domain/index.ts';
import type { VerifierEnv } from '../env.ts';
import { nextId, reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import {
  BPF_ADD_CONST32,
  BPF_ADD_CONST64,
  copyReg,
  hasAddConst,
  markShared,
  isPktPointer,
  regTypeStr,
  scalarOf,
  unknownScalar,
} from '../reg.ts';
import type { FuncState } from '../state.ts';
import { ownReg } from '../state.ts';
import { markRegPrecise } from '../precision.ts';
import { allowPtrLeaks, isPointerValue } from '../privs.ts';
import { immOperand, immReg32 } from './imm.ts';
import { checkRegArg } from './regs.ts';
import { sanitizeCheckBounds, sanitizePtrAlu, sanitizePtrAluCommit, sanitizeValAlu } from './sanitize.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };
const alu = { ...aluNs };
const coerce = { ...coerceNs };
const scalar = { ...scalarNs };
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

// kernel: bpf_alu_string[]
const ALU_STRING = [
  '+=',
  '-=',
  '*=',
  '/=',
  '|=',
  '&=',
  '<<=',
  '>>=',
  'neg',
  '%=',
  '^=',
  '=',
  's>>=',
  'endian',
];
const aluStr = (opc: number): string => ALU_STRING[opc >> 4] ?? '?';

/** kernel: BPF_MAX_VAR_OFF */
const BPF_MAX_VAR_OFF = 1 << 29;

/**
 * A branch the ALU check asks the explorer to push: the 0 case of an AND/OR, re-running this
 * instruction (kernel: maybe_fork_scalars()), or, without CAP_PERFMON, the next instruction
 * with the pointer left where it was, as a speculative path (kernel: sanitize_ptr_alu()).
 */
export type AluFork =
  | { kind: 'zero'; regno: number; value: Scalar }
  | { kind: 'speculative'; regno: number; reg: RegState };

// set by adjustPtrMinMaxVals(), which returns the register: the rare fork goes beside it
let specFork: AluFork | null = null;

// kernel: assign_scalar_id_before_mov(); returns the source register, the frame's own copy if it changed
function assignScalarIdBeforeMov(env: VerifierEnv, frame: FuncState, regno: number): RegState {
  let src = frame.regs[regno]!;
  if (src.type !== 'SCALAR_VALUE') return src;
  // a "linked value + K" source starts a new link: one rX += K per link is tracked
  if (hasAddConst(src.id)) {
    src = ownReg(frame, regno);
    src.id = 0;
    src.off = 0;
  }
  if (!src.id && !tnum.isConst(src.s.varOff)) {
    src = ownReg(frame, regno);
    src.id = nextId(env);
  }
  return src;
}

// kernel: check_alu_op()
export function checkAluOp(env: VerifierEnv, frame: FuncState, insn: Insn): AluFork | null {
  const opc = op.aluOp(insn.code);
  const is64 = op.cls(insn.code) === op.CLASS_ALU64;
  const srcX = op.srcBit(insn.code) === op.SRC_X;
  const regs = frame.regs;
  let fork: AluFork | null = null;
  if (opc === op.ALU_END || opc === op.ALU_NEG) {
    if (opc === op.ALU_NEG) {
      if (srcX || insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) reject('BPF_NEG uses reserved fields');
    } else if (
      insn.src !== 0 ||
      insn.off !== 0 ||
      (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) ||
      (is64 && srcX)
    ) {
      reject('BPF_END uses reserved fields');
    }
    checkRegArg(env, frame, insn.dst, 'SRC_OP');
    if (isPointerValue(env, regs[insn.dst]!)) reject(`R${insn.dst} pointer arithmetic prohibited`);
    if (regs[insn.dst]!.type === 'SCALAR_VALUE') {
      checkRegArg(env, frame, insn.dst, 'DST_OP_NO_MARK');
      // in place on the frame's own register, on a copy of its (shared) scalar
      const dst = ownReg(frame, insn.dst);
      dst.s = scalar.copy(dst.s);
      dst.id = 0;
      const end = opc === op.ALU_END ? { toLe: !srcX || is64, imm: insn.imm } : undefined;
      alu.adjustScalarMinMaxVals(opc, dst.s, dst.s, !is64, end);
    } else {
      // pointer leaks are allowed to root: the result is an unknown scalar
      checkRegArg(env, frame, insn.dst, 'DST_OP');
    }
  } else if (opc === op.ALU_MOV) {
    if (srcX) {
      const off = insn.off;
      const okOff = off === 0 || off === 8 || off === 16 || (is64 && off === 32);
      if (!okOff || insn.imm !== 0) reject('BPF_MOV uses reserved fields');
      checkRegArg(env, frame, insn.src, 'SRC_OP');
    } else if (insn.src !== 0 || insn.off !== 0) {
      reject('BPF_MOV uses reserved fields');
    }
    checkRegArg(env, frame, insn.dst, 'DST_OP_NO_MARK');
    if (srcX) {
      let src = regs[insn.src]!;
      if (is64) {
        if (insn.off !== 0 && isPointerValue(env, src)) reject(`R${insn.src} sign-extension part of pointer`);
        if (insn.off === 0) {
          src = assignScalarIdBeforeMov(env, frame, insn.src);
          // both registers hold one object until either is written (copy-on-write, ownReg())
          markShared(src);
          regs[insn.dst] = src;
        } else if (src.type === 'SCALAR_VALUE') {
          const noSext = coerce.movSxKeepsId(src.s, insn.off);
          if (noSext) src = assignScalarIdBeforeMov(env, frame, insn.src);
          const r = scalarOf(coerce.movSx64(src.s, insn.off));
          r.id = noSext ? src.id : 0;
          regs[insn.dst] = r;
        } else {
          regs[insn.dst] = unknownScalar();
        }
      } else if (isPointerValue(env, src)) {
        reject(`R${insn.src} partial copy of pointer`);
      } else if (src.type === 'SCALAR_VALUE') {
        let r: RegState;
        if (insn.off === 0) {
          const isU32 = u64.ule(src.s.umax, u64.U32_MAX);
          if (isU32) src = assignScalarIdBeforeMov(env, frame, insn.src);
          r = scalarOf(coerce.mov32(src.s));
          r.id = isU32 && !hasAddConst(src.id) ? src.id : 0;
        } else {
          const noSext = coerce.movSxKeepsId(src.s, insn.off);
          if (noSext) src = assignScalarIdBeforeMov(env, frame, insn.src);
          r = scalarOf(coerce.movSx32(src.s, insn.off));
          r.id = noSext ? src.id : 0;
        }
        regs[insn.dst] = r;
      } else {
        // w1 = w2 of a pointer: a leak root may make; the value is unknown
        const r = unknownScalar();
        coerce.zext32To64(r.s);
        scalar.regBoundsSync(r.s);
        regs[insn.dst] = r;
      }
    } else {
      // one shared register per immediate (copy-on-write, ownReg())
      regs[insn.dst] = is64 ? immOperand(insn.imm) : immReg32(insn.imm);
    }
  } else if (opc > op.ALU_END) {
    reject(`invalid BPF_ALU opcode ${(opc >> 4).toString(16)}`);
  } else {
    const sdiv =
      (insn.off !== 0 && insn.off !== 1) || (insn.off === 1 && opc !== op.ALU_MOD && opc !== op.ALU_DIV);
    if (srcX) {
      if (insn.imm !== 0 || sdiv) reject('BPF_ALU uses reserved fields');
      checkRegArg(env, frame, insn.src, 'SRC_OP');
    } else if (insn.src !== 0 || sdiv) {
      reject('BPF_ALU uses reserved fields');
    }
    checkRegArg(env, frame, insn.dst, 'SRC_OP');
    if ((opc === op.ALU_MOD || opc === op.ALU_DIV) && !srcX && insn.imm === 0) reject('div by zero');
    if ((opc === op.ALU_LSH || opc === op.ALU_RSH || opc === op.ALU_ARSH) && !srcX) {
      const size = is64 ? 64 : 32;
      if (insn.imm < 0 || insn.imm >= size) reject(`invalid shift ${insn.imm}`);
    }
    checkRegArg(env, frame, insn.dst, 'DST_OP_NO_MARK');
    fork = adjustRegMinMaxVals(env, frame, insn, opc, is64, srcX);
  }
  const dst = regs[insn.dst]!;
  if (dst.type === 'SCALAR_VALUE') {
    const msg = scalar.sanityViolation(dst.s, 'alu');
    if (msg !== null) reject(`verifier bug: ${msg}`);
  }
  return fork;
}

// kernel: adjust_reg_min_max_vals()
function adjustRegMinMaxVals(
  env: VerifierEnv,
  frame: FuncState,
  insn: Insn,
  opc: number,
  is64: boolean,
  srcX: boolean,
): AluFork | null {
  const regs = frame.regs;
  const dst = regs[insn.dst]!;
  let src: RegState;
  if (srcX) {
    src = regs[insn.src]!;
    if (src.type !== 'SCALAR_VALUE') {
      if (dst.type !== 'SCALAR_VALUE') {
        if (opc === op.ALU_SUB && allowPtrLeaks(env)) {
          regs[insn.dst] = unknownScalar();
          return null;
        }
        reject(`R${insn.dst} pointer ${aluStr(opc)} pointer prohibited`);
      }
      // scalar += pointer: the pointer's rules apply with the roles swapped
      markRegPrecise(env, insn.dst);
      specFork = null;
      regs[insn.dst] = adjustPtrMinMaxVals(env, insn, opc, is64, src, dst, true, regs);
      return specFork;
    }
    if (dst.type !== 'SCALAR_VALUE') {
      markRegPrecise(env, insn.src);
      specFork = null;
      regs[insn.dst] = adjustPtrMinMaxVals(env, insn, opc, is64, ownReg(frame, insn.dst), src, false, regs);
      return specFork;
    }
  } else {
    src = immOperand(insn.imm);
    if (dst.type !== 'SCALAR_VALUE') {
      specFork = null;
      regs[insn.dst] = adjustPtrMinMaxVals(env, insn, opc, is64, ownReg(frame, insn.dst), src, false, regs);
      return specFork;
    }
  }
  if (!env.opts.perfmon) sanitizeValAlu(env, insn, regs);
  // in place on the frame's own register (copy-on-write), on a copy of its scalar
  const sameReg = srcX && insn.src === insn.dst;
  const r = ownReg(frame, insn.dst);
  const oldS = dst.s;
  // an alu32 "+= K" link needs the value to fit in 32 bits before the operation
  const dstFitsU32 = oldS.umax.hi === 0;
  r.s = scalar.copy(oldS);
  let fork: AluFork | null = null;
  if ((opc === op.ALU_AND || opc === op.ALU_OR) && tnum.isConst(src.s.varOff)) {
    // kernel: maybe_fork_scalars(); the 0 state re-runs this instruction on its own path
    const zero = alu.maybeForkScalars(r.s);
    if (zero !== null) fork = { kind: 'zero', regno: insn.dst, value: zero };
  }
  // `r op= r`: the operand is the value before the operation (never changed in place)
  const srcS = sameReg ? oldS : src.s;
  alu.adjustScalarMinMaxVals(opc, r.s, srcS, !is64);
  r.precise = false;
  linkAddConst(env, r, src, opc, is64, srcX && insn.src === insn.dst, dstFitsU32);
  regs[insn.dst] = r;
  return fork;
}

/**
 * Linked register tracking: `r += K` / `r -= K` (64- or 32-bit, K a known s32) keeps r linked
 * to its copies as "id + K", so a later branch on either bounds both (kernel 6.18:
 * adjust_reg_min_max_vals(), BPF_ADD_CONST64/32). Any other operation unlinks r.
 */
function linkAddConst(
  env: VerifierEnv,
  r: RegState,
  src: RegState,
  opc: number,
  is64: boolean,
  selfOperand: boolean,
  dstFitsU32: boolean,
): void {
  const v = src.s.varOff;
  const isConst = is64 ? tnum.isConst(v) : v.mLo === 0;
  if (
    env.opts.unprivileged ||
    (opc !== op.ALU_ADD && opc !== op.ALU_SUB) ||
    !r.id ||
    !isConst ||
    selfOperand
  ) {
    r.id = 0;
    r.off = 0;
    return;
  }
  // the 64-bit constant must be a sign-extended s32; a 32-bit one is its low word as s32
  let off = v.vLo | 0;
  let keep = is64 ? v.vHi === (off < 0 ? 0xffffffff : 0) : dstFitsU32;
  if (opc === op.ALU_SUB) {
    // negating S32_MIN overflows
    if (off === -0x80000000) keep = false;
    off = -off;
  }
  // one "+= K" per link: a second one drops it
  if (!keep || hasAddConst(r.id)) {
    r.id = 0;
    r.off = 0;
    return;
  }
  r.id = (r.id | (is64 ? BPF_ADD_CONST64 : BPF_ADD_CONST32)) >>> 0;
  r.off = off;
}

/** -BPF_MAX_VAR_OFF < v < BPF_MAX_VAR_OFF for the s64 v given as halves (no U64 made). */
function fitsMaxVarOff(lo: number, hi: number): boolean {
  if (hi === 0) return lo < BPF_MAX_VAR_OFF;
  if (hi === 0xffffffff) return lo > 0x100000000 - BPF_MAX_VAR_OFF;
  return false;
}

// kernel: check_reg_sane_offset()
function checkRegSaneOffset(reg: RegState, typeStr: string): void {
  const known = tnum.isConst(reg.s.varOff);
  if (known && !fitsMaxVarOff(reg.s.varOff.vLo, reg.s.varOff.vHi)) {
    reject(`math between ${typeStr} pointer and ${u64.toDecS(tnum.value(reg.s.varOff))} is not allowed`);
  }
  if (reg.off >= BPF_MAX_VAR_OFF || reg.off <= -BPF_MAX_VAR_OFF) {
    reject(`${typeStr} pointer offset ${reg.off} is not allowed`);
  }
  if (u64.eq(reg.s.smin, u64.S64_MIN)) {
    reject(`math between ${typeStr} pointer and register with unbounded min value is not allowed`);
  }
  if (!fitsMaxVarOff(reg.s.smin.lo, reg.s.smin.hi)) {
    reject(`value ${u64.toDecS(reg.s.smin)} makes ${typeStr} pointer be out of bounds`);
  }
}

const fitsS32 = (n: number): boolean => n >= -0x80000000 && n <= 0x7fffffff;

// kernel: adjust_ptr_min_max_vals()
function adjustPtrMinMaxVals(
  env: VerifierEnv,
  insn: Insn,
  opc: number,
  is64: boolean,
  ptr: RegState,
  offReg: RegState,
  offIsDst: boolean,
  regs: readonly RegState[],
): RegState {
  const o = offReg.s;
  const known = tnum.isConst(o.varOff);
  if (
    (known && (!u64.eq(o.smin, o.smax) || !u64.eq(o.umin, o.umax))) ||
    u64.sgt(o.smin, o.smax) ||
    u64.ugt(o.umin, o.umax)
  ) {
    return unknownScalar();
  }
  const dstno = insn.dst;
  if (!is64) {
    if (opc === op.ALU_SUB && allowPtrLeaks(env)) return unknownScalar();
    reject(`R${dstno} 32-bit pointer arithmetic prohibited`);
  }
  const typeStr = regTypeStr(ptr);
  if (ptr.maybeNull) reject(`R${dstno} pointer arithmetic on ${typeStr} prohibited, null-check it first`);
  switch (ptr.type) {
    case 'CONST_PTR_TO_MAP':
      if (known && u64.isZero(o.smin) && opc === op.ALU_ADD) break;
      reject(`R${dstno} pointer arithmetic on ${typeStr} prohibited`);
      break;
    case 'PTR_TO_PACKET_END':
      reject(`R${dstno} pointer arithmetic on ${typeStr} prohibited`);
      break;
    default:
      break;
  }
  const p = ptr.s;
  // the destination register is the frame's own (ownReg()): update it in place (its scalar is
  // shared, so on a copy); `r = scalar + ptr` needs a new register for the pointer
  const d = offIsDst ? copyReg(ptr) : ptr;
  if (!offIsDst) d.s = scalar.copy(p);
  checkRegSaneOffset(offReg, typeStr);
  checkRegSaneOffset(ptr, typeStr);
  const speculative = env.cur?.speculative === true;
  const san = env.opts.perfmon ? null : sanitizePtrAlu(env, insn, ptr, offReg, !offIsDst, regs, speculative);
  // the state the speculative path starts from: the pointer not moved, before its 32-bit bounds go
  if (san?.simulate) specFork = { kind: 'speculative', regno: dstno, reg: copyReg(ptr) };
  scalar.mark32Unbounded(d.s);
  const sminVal = u64.toNumberS(o.smin) ?? 0;
  switch (opc) {
    case op.ALU_ADD:
      if (known && fitsS32(ptr.off + sminVal)) {
        d.off = ptr.off + sminVal;
        break;
      }
      if (u64.saddOverflows(p.smin, o.smin) || u64.saddOverflows(p.smax, o.smax)) {
        d.s.smin = u64.S64_MIN;
        d.s.smax = u64.S64_MAX;
      } else {
        d.s.smin = u64.add(p.smin, o.smin);
        d.s.smax = u64.add(p.smax, o.smax);
      }
      if (u64.uaddOverflows(p.umin, o.umin) || u64.uaddOverflows(p.umax, o.umax)) {
        d.s.umin = u64.ZERO;
        d.s.umax = u64.MAX;
      } else {
        d.s.umin = u64.add(p.umin, o.umin);
        d.s.umax = u64.add(p.umax, o.umax);
      }
      d.s.varOff = tnum.add(p.varOff, o.varOff);
      if (isPktPointer(ptr)) {
        d.id = nextId(env);
        d.range = 0;
      }
      break;
    case op.ALU_SUB:
      if (offIsDst) reject(`R${dstno} tried to subtract pointer from scalar`);
      if (ptr.type === 'PTR_TO_STACK') reject(`R${dstno} subtraction from stack pointer prohibited`);
      if (known && fitsS32(ptr.off - sminVal)) {
        d.off = ptr.off - sminVal;
        break;
      }
      if (u64.ssubOverflows(p.smin, o.smax) || u64.ssubOverflows(p.smax, o.smin)) {
        d.s.smin = u64.S64_MIN;
        d.s.smax = u64.S64_MAX;
      } else {
        d.s.smin = u64.sub(p.smin, o.smax);
        d.s.smax = u64.sub(p.smax, o.smin);
      }
      if (u64.ult(p.umin, o.umax)) {
        d.s.umin = u64.ZERO;
        d.s.umax = u64.MAX;
      } else {
        d.s.umin = u64.sub(p.umin, o.umax);
        d.s.umax = u64.sub(p.umax, o.umin);
      }
      d.s.varOff = tnum.sub(p.varOff, o.varOff);
      if (isPktPointer(ptr)) {
        d.id = nextId(env);
        if (u64.isNeg(o.smin)) d.range = 0;
      }
      break;
    case op.ALU_AND:
    case op.ALU_OR:
    case op.ALU_XOR:
      reject(`R${dstno} bitwise operator ${aluStr(opc)} on pointer prohibited`);
      break;
    default:
      reject(`R${dstno} pointer arithmetic with ${aluStr(opc)} operator prohibited`);
  }
  checkRegSaneOffset(d, typeStr);
  scalar.regBoundsSync(d.s);
  if (!env.opts.perfmon) {
    sanitizeCheckBounds(env, insn, d);
    if (san) sanitizePtrAluCommit(env, insn, d, san.info, regs, speculative);
  }
  return d;
}
