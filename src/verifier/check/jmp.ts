// Conditional jumps (kernel: check_cond_jmp_op(), is_branch_taken(), reg_set_min_max(),
// try_match_pkt_pointers(), find_good_pkt_pointers(), mark_ptr_or_null_regs()).
import type { BranchTaken } from '../domain/branch.ts';
import type { Insn } from '../../isa/index.ts';
import { opcode as opNs } from '../../isa/index.ts';
import {
  alu as aluNs,
  branch as branchNs,
  coerce as coerceNs,
  scalar as scalarNs,
  tnum as tnumNs,
  u64 as u64Ns,
} from '../domain/index.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import {
  AT_PKT_END,
  BEYOND_PKT_END,
  BPF_ADD_CONST32,
  baseId,
  copyReg,
  hasAddConst,
  isPktPointer,
  knownScalar,
  unknownScalar,
  withScalar,
} from '../reg.ts';
import type { FuncState, VerifierState } from '../state.ts';
import { copyState, curFrame, ownReg, ownSlot } from '../state.ts';
import { bypassSpecV1, isPointerValue } from '../privs.ts';
import { markRegPrecise, newHistEntry } from '../precision.ts';
import { immOperand } from './imm.ts';
import { innerMapPointer } from './map-in-map.ts';
import { checkRegArg } from './regs.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };
const alu = { ...aluNs };
const branch = { ...branchNs };
const coerce = { ...coerceNs };
const tnum = { ...tnumNs };
const scalar = { ...scalarNs };
const u64 = { ...u64Ns };

/** kernel: reg_is_pkt_pointer_any() */
const isPktPointerAny = (r: RegState): boolean => isPktPointer(r) || r.type === 'PTR_TO_PACKET_END';

/** kernel: MAX_PACKET_OFF */
const MAX_PACKET_OFF = 0xffff;

/** Every register of every frame, spilled ones included (kernel: bpf_for_each_reg_in_vstate()). */
export function forEachReg(
  vstate: VerifierState,
  fn: (r: RegState, set: (n: RegState) => void) => void,
): void {
  // one setter for every register instead of a closure each; saved and restored so that a
  // callback may itself walk the registers
  const savedFrame = setFrame;
  const savedIdx = setIdx;
  const savedIsSlot = setIsSlot;
  for (const f of vstate.frames) {
    setFrame = f;
    for (let i = 0; i < f.regs.length; i++) {
      setIdx = i;
      setIsSlot = false;
      fn(f.regs[i]!, setTarget);
    }
    for (let spi = 0; spi < f.stack.length; spi++) {
      const slot = f.stack[spi]!;
      if (slot.slotType[7] !== 1) continue;
      setIdx = spi;
      setIsSlot = true;
      fn(slot.spilled, setTarget);
    }
  }
  setFrame = savedFrame;
  setIdx = savedIdx;
  setIsSlot = savedIsSlot;
}

// where forEachReg()'s setter writes: a register of a frame, or a stack slot's spill
let setFrame: FuncState | null = null;
let setIdx = 0;
let setIsSlot = false;
function setTarget(n: RegState): void {
  // a slot may be shared with state copies: the frame's own copy takes the new register
  if (setIsSlot) ownSlot(setFrame!, setIdx).spilled = n;
  else setFrame!.regs[setIdx] = n;
}

// kernel: reg_not_null()
function regNotNull(r: RegState): boolean {
  if (r.maybeNull) return false;
  return (
    // kernel: is_trusted_reg(): a referenced pointer is trusted too
    (r.type === 'PTR_TO_BTF_ID' && (r.trusted || r.refObjId !== 0)) ||
    r.type === 'PTR_TO_MAP_VALUE' ||
    r.type === 'PTR_TO_MAP_KEY' ||
    r.type === 'PTR_TO_MEM' ||
    r.type === 'CONST_PTR_TO_MAP'
  );
}

// kernel: is_pkt_ptr_branch_taken()
function isPktPtrBranchTaken(dst: RegState, src: RegState, opc: number): BranchTaken {
  let pkt: RegState;
  if (src.type === 'PTR_TO_PACKET_END') pkt = dst;
  else if (dst.type === 'PTR_TO_PACKET_END') {
    pkt = src;
    opc = branch.flipOpcode(opc);
  } else return -1;
  if (pkt.range >= 0) return -1;
  switch (opc) {
    case op.JMP_JLE:
    case op.JMP_JGT:
      if (pkt.range === BEYOND_PKT_END) return opc === op.JMP_JGT ? 1 : 0;
      break;
    case op.JMP_JLT:
    case op.JMP_JGE:
      if (pkt.range === BEYOND_PKT_END || pkt.range === AT_PKT_END) return opc === op.JMP_JGE ? 1 : 0;
      break;
  }
  return -1;
}

const isPktAny = (r: RegState): boolean => isPktPointer(r) || r.type === 'PTR_TO_PACKET_END';
const isPtr = (r: RegState): boolean => r.type !== 'SCALAR_VALUE';

const isConstScalar = (r: RegState, is32: boolean): boolean =>
  r.type === 'SCALAR_VALUE' && scalar.isRegConst(r.s, is32);

// kernel: is_branch_taken()
export function isBranchTaken(a: RegState, b: RegState, opc: number, is32: boolean): BranchTaken {
  if (isPktAny(a) && isPktAny(b) && !is32) return isPktPtrBranchTaken(a, b, opc);
  if (isPtr(a) || isPtr(b)) {
    if (!isConstScalar(b, is32)) {
      opc = branch.flipOpcode(opc);
      [a, b] = [b, a];
    }
    if (!isConstScalar(b, is32)) return -1;
    if (!u64.isZero(scalar.regConstValue(b.s, is32))) return -1;
    if (!regNotNull(a)) return -1;
    if (opc === op.JMP_JEQ) return 0;
    if (opc === op.JMP_JNE) return 1;
    return -1;
  }
  return branch.isBranchTaken(opc, a.s, b.s, is32);
}

// kernel: find_good_pkt_pointers()
function findGoodPktPointers(vstate: VerifierState, dst: RegState, rightOpen: boolean): void {
  if (dst.off < 0 || (dst.off === 0 && rightOpen)) return;
  const umax = u64.toNumberU(dst.s.umax);
  if (umax === undefined || umax > MAX_PACKET_OFF || umax + dst.off > MAX_PACKET_OFF) return;
  const newRange = dst.off + (rightOpen ? 1 : 0);
  const { type, id } = dst;
  forEachReg(vstate, (r, set) => {
    if (r.type === type && r.id === id && r.range < newRange) set(withRange(r, newRange));
  });
}

/** r with another packet range; withScalar() keeps the one object shape every register has (a spread makes another). */
function withRange(r: RegState, range: number): RegState {
  const c = withScalar(r, r.s);
  c.range = range;
  return c;
}

// kernel: mark_pkt_end()
function markPktEnd(vstate: VerifierState, regno: number, rangeOpen: boolean): void {
  const f = curFrame(vstate);
  const r = f.regs[regno]!;
  if (r.type !== 'PTR_TO_PACKET') return;
  f.regs[regno] = withRange(r, rangeOpen ? BEYOND_PKT_END : AT_PKT_END);
}

const isInitPkt = (r: RegState): boolean =>
  r.type === 'PTR_TO_PACKET' && r.off === 0 && scalar.isRegConst(r.s, false) && u64.isZero(r.s.umin);

// kernel: try_match_pkt_pointers()
function tryMatchPktPointers(
  insn: Insn,
  dst: RegState,
  src: RegState,
  thisBranch: VerifierState,
  other: VerifierState,
): boolean {
  if (op.srcBit(insn.code) !== op.SRC_X || op.cls(insn.code) === op.CLASS_JMP32) return false;
  const dstIsLeft =
    (dst.type === 'PTR_TO_PACKET' && src.type === 'PTR_TO_PACKET_END') ||
    (dst.type === 'PTR_TO_PACKET_META' && isInitPkt(src));
  const srcIsLeft =
    (dst.type === 'PTR_TO_PACKET_END' && src.type === 'PTR_TO_PACKET') ||
    (isInitPkt(dst) && src.type === 'PTR_TO_PACKET_META');
  if (!dstIsLeft && !srcIsLeft) return false;
  switch (op.jmpOp(insn.code)) {
    case op.JMP_JGT:
      if (dstIsLeft) {
        findGoodPktPointers(thisBranch, dst, false);
        markPktEnd(other, insn.dst, true);
      } else {
        findGoodPktPointers(other, src, true);
        markPktEnd(thisBranch, insn.src, false);
      }
      return true;
    case op.JMP_JLT:
      if (dstIsLeft) {
        findGoodPktPointers(other, dst, true);
        markPktEnd(thisBranch, insn.dst, false);
      } else {
        findGoodPktPointers(thisBranch, src, false);
        markPktEnd(other, insn.src, true);
      }
      return true;
    case op.JMP_JGE:
      if (dstIsLeft) {
        findGoodPktPointers(thisBranch, dst, true);
        markPktEnd(other, insn.dst, false);
      } else {
        findGoodPktPointers(other, src, false);
        markPktEnd(thisBranch, insn.src, true);
      }
      return true;
    case op.JMP_JLE:
      if (dstIsLeft) {
        findGoodPktPointers(other, dst, false);
        markPktEnd(thisBranch, insn.dst, true);
      } else {
        findGoodPktPointers(thisBranch, src, true);
        markPktEnd(other, insn.src, false);
      }
      return true;
    default:
      return false;
  }
}

// kernel: mark_ptr_not_null_reg(); a map value holding a spin lock keeps its id, which names the lock
function markPtrNotNull(r: RegState, env: VerifierEnv | undefined): RegState {
  const keepId = r.type === 'PTR_TO_MAP_VALUE' && env?.maps[r.mapIndex]?.spinLockOff !== undefined;
  const c = copyReg(r);
  c.maybeNull = false;
  if (!keepId) c.id = 0;
  return c;
}

// kernel: mark_ptr_or_null_regs()
export function markPtrOrNullRegs(
  vstate: VerifierState,
  regno: number,
  isNull: boolean,
  env?: VerifierEnv,
): void {
  const reg = curFrame(vstate).regs[regno]!;
  const { id, refObjId } = reg;
  if (refObjId && refObjId === id && isNull) {
    // the NULL side holds no reference
    vstate.refs = vstate.refs.filter((r) => r.id !== id);
  }
  forEachReg(vstate, (r, set) => {
    if (!r.maybeNull || r.id !== id) return;
    if (isNull) set(knownScalar(u64.ZERO));
    else set(innerMapPointer(r, env?.innerMapIndex ?? []) ?? markPtrNotNull(r, env));
  });
}

export interface CondJmpResult {
  /** Branch to push for the jump target, if both sides are possible. */
  other: VerifierState | null;
  /** Without CAP_PERFMON: the side a known outcome does not take, to explore as speculative. */
  speculative?: { state: VerifierState; insnIdx: number };
  /** Next instruction of the current state. */
  next: number;
}

// kernel: check_cond_jmp_op()
export function checkCondJmpOp(
  env: VerifierEnv,
  state: VerifierState,
  insn: Insn,
  idx: number,
): CondJmpResult {
  const opc = op.jmpOp(insn.code);
  if (opc === op.JMP_JA || opc > op.JMP_JSLE)
    reject(`invalid BPF_JMP/JMP32 opcode ${(opc >> 4).toString(16)}`);
  const frame = curFrame(state);
  checkRegArg(env, frame, insn.dst, 'SRC_OP');
  const isX = op.srcBit(insn.code) === op.SRC_X;
  let src: RegState;
  if (isX) {
    if (insn.imm !== 0) reject('BPF_JMP/JMP32 uses reserved fields');
    checkRegArg(env, frame, insn.src, 'SRC_OP');
    src = frame.regs[insn.src]!;
    const d = frame.regs[insn.dst]!;
    if (!(isPktPointerAny(d) && isPktPointerAny(src)) && isPointerValue(env, src))
      reject(`R${insn.src} pointer comparison prohibited`);
  } else {
    if (insn.src !== 0) reject('BPF_JMP/JMP32 uses reserved fields');
    src = immOperand(insn.imm);
  }
  const dst = frame.regs[insn.dst]!;
  const is32 = op.cls(insn.code) === op.CLASS_JMP32;
  const target = idx + insn.off + 1;
  const pred = isBranchTaken(dst, src, opc, is32);
  if (pred >= 0) {
    // the path depends on these values: keep them exact in the checkpoints behind us
    if (dst.type === 'SCALAR_VALUE') markRegPrecise(env, insn.dst);
    if (isX && src.type === 'SCALAR_VALUE') markRegPrecise(env, insn.src);
  }
  if (pred === 1 || pred === 0) {
    const next = pred === 1 ? target : idx + 1;
    if (bypassSpecV1(env)) return { other: null, next };
    return { other: null, next, speculative: speculativePath(state, insn, pred === 1 ? idx + 1 : target) };
  }

  // kernel: collect_linked_regs() + push_jmp_history() before the branch is copied
  const linked = collectLinkedRegs(env, state, idx, dst, isX ? src : null);
  if (linked.length > 1) {
    const h = state.history;
    const last = h[h.length - 1];
    if (last && last.idx === idx) last.linked = linked;
    else {
      const e = newHistEntry(idx, idx - 1);
      e.linked = linked;
      h.push(e);
    }
  }
  const other = copyState(state);
  const oframe = curFrame(other);
  if (dst.type === 'SCALAR_VALUE' && src.type === 'SCALAR_VALUE') {
    // registers may share one scalar (moves, fills, constants): the register numbers tell a
    // register compared with itself
    const sameReg = isX && insn.src === insn.dst;
    const res = branch.regSetMinMax(opc, dst.s, src.s, is32, false, sameReg);
    if (res.violations.length) reject(`verifier bug: ${res.violations[0]}`);
    // both states now share the register objects: each takes its own copy with its new scalar
    ownReg(oframe, insn.dst).s = res.taken[0];
    ownReg(frame, insn.dst).s = res.fallthrough[0];
    if (isX && !sameReg) {
      ownReg(oframe, insn.src).s = res.taken[1];
      ownReg(frame, insn.src).s = res.fallthrough[1];
    }
    // registers sharing an id were copies of the same value: they learn the same (kernel: sync_linked_regs())
    if (isX && src.id) {
      syncLinkedRegs(state, frame.regs[insn.src]!, linked);
      syncLinkedRegs(other, oframe.regs[insn.src]!, linked);
    }
    if (dst.id) {
      syncLinkedRegs(state, frame.regs[insn.dst]!, linked);
      syncLinkedRegs(other, oframe.regs[insn.dst]!, linked);
    }
  }
  if (!is32 && !isX && insn.imm === 0 && (opc === op.JMP_JEQ || opc === op.JMP_JNE) && dst.maybeNull) {
    markPtrOrNullRegs(state, insn.dst, opc === op.JMP_JNE, env);
    markPtrOrNullRegs(other, insn.dst, opc === op.JMP_JEQ, env);
  } else if (
    !tryMatchPktPointers(insn, frame.regs[insn.dst]!, isX ? frame.regs[insn.src]! : src, state, other) &&
    isPointerValue(env, frame.regs[insn.dst]!)
  ) {
    reject(`R${insn.dst} pointer comparison prohibited`);
  }
  return { other, next: idx + 1 };
}

// kernel: sanitize_speculative_path(): the compared registers are unknown there
function speculativePath(state: VerifierState, insn: Insn, insnIdx: number): CondJmpResult['speculative'] {
  const st = copyState(state);
  const regs = curFrame(st).regs;
  regs[insn.dst] = unknownScalar();
  if (op.srcBit(insn.code) === op.SRC_X) regs[insn.src] = unknownScalar();
  return { state: st, insnIdx };
}

/**
 * Live registers and spilled scalars sharing an id with a compared scalar: [frame, regno or
 * -1-spi]. A dead register is left as it is (kernel 6.18: live_regs_before of the frame's
 * instruction, the call for a caller frame).
 */
function collectLinkedRegs(
  env: VerifierEnv,
  vstate: VerifierState,
  idx: number,
  dst: RegState,
  src: RegState | null,
): [number, number][] {
  // at most two ids (0 for none): compared directly, no set
  const id1 = dst.type === 'SCALAR_VALUE' && dst.id ? baseId(dst.id) : 0;
  const id2 = src && src.type === 'SCALAR_VALUE' && src.id ? baseId(src.id) : 0;
  const out: [number, number][] = [];
  if (id1 === 0 && id2 === 0) return out;
  const frames = vstate.frames;
  for (let k = 0; k < frames.length; k++) {
    const f = frames[k]!;
    const at = k === frames.length - 1 ? idx : frames[k + 1]!.callsite;
    const live = env.aux[at]?.liveRegsBefore ?? 0x7ff;
    for (let i = 0; i < f.regs.length; i++) {
      if (!(live & (1 << i))) continue;
      const r = f.regs[i]!;
      if (r.type !== 'SCALAR_VALUE') continue;
      const id = baseId(r.id);
      if ((id1 !== 0 && id === id1) || (id2 !== 0 && id === id2)) out.push([k, i]);
    }
    for (let spi = 0; spi < f.stack.length; spi++) {
      const slot = f.stack[spi]!;
      if (slot.slotType[7] !== 1 || slot.spilled.type !== 'SCALAR_VALUE') continue;
      const id = baseId(slot.spilled.id);
      if ((id1 !== 0 && id === id1) || (id2 !== 0 && id === id2)) out.push([k, -1 - spi]);
    }
  }
  return out;
}

// kernel: sync_linked_regs(), over the registers collect_linked_regs() found
function syncLinkedRegs(vstate: VerifierState, known: RegState, linked: readonly [number, number][]): void {
  const id = baseId(known.id);
  for (let k = 0; k < linked.length; k++) {
    const [fi, where] = linked[k]!;
    const f = vstate.frames[fi]!;
    const r = where >= 0 ? f.regs[where]! : f.stack[-1 - where]!.spilled;
    if (r === known || r.type !== 'SCALAR_VALUE' || baseId(r.id) !== id) continue;
    const rc = hasAddConst(r.id);
    const kc = hasAddConst(known.id);
    if ((!rc && !kc) || r.off === known.off) {
      // the numeric part is never changed in place: share it
      setLinked(f, where, withScalar(r, known.s));
      continue;
    }
    // r = known + (r.off - known.off)
    const n = copyReg(known);
    n.id = r.id;
    n.off = r.off;
    n.precise = r.precise;
    // the difference of two s32 offsets, as an s64
    const delta = scalar.known(u64.fromNumber((rc ? r.off : 0) - (kc ? known.off : 0)));
    alu.scalar32MinMaxAdd(n.s, delta);
    alu.scalarMinMaxAdd(n.s, delta);
    n.s.varOff = tnum.add(n.s.varOff, delta.varOff);
    // a 32-bit link's value is the zero-extended low word
    if (known.id & BPF_ADD_CONST32) coerce.zext32To64(n.s);
    scalar.regBoundsSync(n.s);
    setLinked(f, where, n);
  }
}

/** Stores a synced register at its place (a register, or -1-spi for a spilled one). */
function setLinked(f: FuncState, where: number, n: RegState): void {
  // a slot may be shared with state copies: the frame's own copy takes the new register
  if (where >= 0) f.regs[where] = n;
  else ownSlot(f, -1 - where).spilled = n;
}
