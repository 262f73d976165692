// State equivalence for pruning (kernel: states_equal(), func_states_equal(), regsafe(),
// stacksafe(), refsafe(), check_ids()). A scalar is
// compared by range_within + tnum_in only when precise (see precision.ts).
import { scalar as scalarNs, tnum as tnumNs } from './domain/index.ts';
import type { VerifierEnv } from './env.ts';
import { liveStackOf } from './stack-liveness.ts';
import type { RegState } from './reg.ts';
import { baseId, hasAddConst, unknownScalar } from './reg.ts';
import type { StackSlot } from './stack.ts';
import * as stackNs from './stack.ts';
import type { FuncState, VerifierState } from './state.ts';
const {
  BPF_REG_SIZE,
  isSpilledScalarReg64,
  STACK_DYNPTR,
  STACK_INVALID,
  STACK_MISC,
  STACK_SPILL,
  STACK_ZERO,
} = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const scalar = { ...scalarNs };
const tnum = { ...tnumNs };

export type Exactness = 'NOT_EXACT' | 'RANGE_WITHIN' | 'EXACT';

// kernel: struct bpf_idmap
class IdMap {
  private readonly old: number[] = [];
  private readonly cur: number[] = [];
  /** Pairs in use; the arrays keep their storage between comparisons. */
  private n = 0;
  tmpIdGen = 0;

  /**
   * Empties the map for the next comparison (one map serves every statesEqual() call); temporary
   * ids start above every id given out so far (kernel: reset_idmap_scratch()).
   */
  reset(idGen: number): void {
    this.n = 0;
    this.tmpIdGen = idGen;
  }

  // kernel: check_ids()
  check(oldId: number, curId: number): boolean {
    if (!oldId !== !curId) return false;
    if (!oldId) return true;
    for (let i = 0; i < this.n; i++) {
      if (this.old[i] === oldId) return this.cur[i] === curId;
      if (this.cur[i] === curId) return false;
    }
    this.old[this.n] = oldId;
    this.cur[this.n] = curId;
    this.n++;
    return true;
  }

  // kernel: check_scalar_ids(); an "id + K" old id must also map its base id the same way
  checkScalar(oldId: number, curId: number): boolean {
    if (!oldId) return true;
    const cur = curId || ++this.tmpIdGen;
    if (!this.check(oldId, cur)) return false;
    return !hasAddConst(oldId) || this.check(baseId(oldId), baseId(cur));
  }
}

// copies share scalars (never changed in place), so the same object is the common quick answer
const sameNumeric = (a: RegState, b: RegState): boolean => a.s === b.s || scalar.equals(a.s, b.s);

// kernel: regs_exact()
function regsExact(rold: RegState, rcur: RegState, idmap: IdMap): boolean {
  return (
    rold.type === rcur.type &&
    rold.maybeNull === rcur.maybeNull &&
    rold.rdonly === rcur.rdonly &&
    rold.ringbuf === rcur.ringbuf &&
    rold.dynptr === rcur.dynptr &&
    rold.off === rcur.off &&
    rold.range === rcur.range &&
    rold.mapIndex === rcur.mapIndex &&
    rold.memSize === rcur.memSize &&
    rold.frameno === rcur.frameno &&
    rold.subprogno === rcur.subprogno &&
    rold.btfId === rcur.btfId &&
    rold.trusted === rcur.trusted &&
    rold.rcu === rcur.rcu &&
    rold.untrusted === rcur.untrusted &&
    rold.alloc === rcur.alloc &&
    rold.dynptrId === rcur.dynptrId &&
    sameNumeric(rold, rcur) &&
    idmap.check(rold.id, rcur.id) &&
    idmap.check(rold.refObjId, rcur.refObjId)
  );
}

const within = (rold: RegState, rcur: RegState): boolean =>
  rold.s === rcur.s || (scalar.rangeWithin(rold.s, rcur.s) && tnum.isIn(rold.s.varOff, rcur.s.varOff));

// env.exploreAluLimits for the states being compared; a module variable, as regsafe() runs for
// every register of every comparison and has no env
let strictScalars = false;

// kernel: regsafe()
function regsafe(rold: RegState, rcur: RegState, idmap: IdMap, exact: Exactness): boolean {
  if (exact === 'EXACT') return regsExact(rold, rcur, idmap);
  if (rold.type === 'NOT_INIT') return true;
  if (rcur.type === 'NOT_INIT') return false;
  if (
    rold.type !== rcur.type ||
    rold.maybeNull !== rcur.maybeNull ||
    rold.rdonly !== rcur.rdonly ||
    rold.ringbuf !== rcur.ringbuf ||
    // a slice's dynptr type is part of the kernel's reg->type (DYNPTR_TYPE_SKB/XDP flags)
    rold.dynptr !== rcur.dynptr
  ) {
    return false;
  }
  switch (rold.type) {
    case 'SCALAR_VALUE':
      if (strictScalars)
        return rold.off === rcur.off && sameNumeric(rold, rcur) && idmap.checkScalar(rold.id, rcur.id);
      // an imprecise old scalar: nothing after this point relied on its value
      if (!rold.precise && exact === 'NOT_EXACT') return true;
      // an unlinked old scalar only bounds the value; a linked one ("id" or "id + off") must be
      // linked the same way (kernel 6.18: regsafe()'s rold->id == 0 column)
      if (!rold.id) return within(rold, rcur);
      if (hasAddConst(rold.id) !== hasAddConst(rcur.id)) return false;
      if (hasAddConst(rold.id) && rold.off !== rcur.off) return false;
      return within(rold, rcur) && idmap.checkScalar(rold.id, rcur.id);
    case 'PTR_TO_MAP_KEY':
    case 'PTR_TO_MAP_VALUE':
    case 'PTR_TO_MEM':
      return (
        rold.off === rcur.off &&
        rold.mapIndex === rcur.mapIndex &&
        rold.memSize === rcur.memSize &&
        rold.dynptrId === rcur.dynptrId &&
        within(rold, rcur) &&
        idmap.check(rold.id, rcur.id) &&
        idmap.check(rold.refObjId, rcur.refObjId)
      );
    case 'PTR_TO_PACKET_META':
    case 'PTR_TO_PACKET':
      // at least the old range, same fixed offset, id relations kept, variable part within
      if (rold.range > rcur.range) return false;
      if (rold.off !== rcur.off) return false;
      if (!idmap.check(rold.id, rcur.id)) return false;
      return within(rold, rcur);
    case 'PTR_TO_STACK':
      return regsExact(rold, rcur, idmap) && rold.frameno === rcur.frameno;
    default:
      return regsExact(rold, rcur, idmap);
  }
}

// kernel: is_stack_all_misc() with allow_uninit_stack
function isStackAllMisc(s: StackSlot): boolean {
  const types = s.slotType;
  for (let j = 0; j < BPF_REG_SIZE; j++)
    if (types[j] !== STACK_MISC && types[j] !== STACK_INVALID) return false;
  return true;
}

// kernel: scalar_reg_for_stack()
function scalarRegForStack(s: StackSlot | undefined): RegState | null {
  if (!s) return null;
  if (isSpilledScalarReg64(s)) return s.spilled;
  if (isStackAllMisc(s)) return UNBOUND;
  return null;
}
/** An imprecise unknown scalar (kernel: unbound_reg). */
// from unknownScalar() as it is (imprecise already): a spread would give it another hidden class
const UNBOUND: RegState = unknownScalar();

function regsafeOrUnbound(rold: RegState, rcur: RegState, idmap: IdMap, exact: Exactness): boolean {
  return regsafe(rold, rcur, idmap, exact);
}

// kernel: stacksafe() (root: uninitialised and misc bytes in the old state match anything)
function stacksafe(
  old: FuncState,
  cur: FuncState,
  idmap: IdMap,
  exact: Exactness,
  liveLo: number,
  liveHi: number,
): boolean {
  // slot by slot, then byte by byte within a slot (no division per byte)
  const curSlots = cur.stack.length;
  for (let spi = 0; spi < old.stack.length; spi++) {
    // a slot no path reads again before overwriting it (kernel: clean_func_state())
    if (exact !== 'EXACT' && spi < 64 && !((spi < 32 ? liveLo >>> spi : liveHi >>> (spi - 32)) & 1)) {
      continue;
    }
    const os = old.stack[spi]!;
    const cs = cur.stack[spi];
    const inCur = spi < curSlots;
    // both depend on the slot only: worked out at the first byte that needs them
    let regsKnown = false;
    let oldReg: RegState | null = null;
    let curReg: RegState | null = null;
    for (let j = 0; j < BPF_REG_SIZE; j++) {
      if (exact === 'EXACT' && (!inCur || os.slotType[j] !== cs!.slotType[j])) return false;
      const ot = os.slotType[j];
      if (ot === STACK_INVALID) continue;
      if (ot === STACK_MISC && exact !== 'EXACT') continue;
      if (!inCur) return false;
      if (!regsKnown) {
        oldReg = scalarRegForStack(os);
        curReg = oldReg && scalarRegForStack(cs);
        regsKnown = true;
      }
      if (oldReg && curReg) {
        if (!regsafeOrUnbound(oldReg, curReg, idmap, exact)) return false;
        break;
      }
      const ct = cs!.slotType[j];
      if (ot === STACK_MISC && ct === STACK_ZERO) continue;
      if (ot !== ct) return false;
      if (j !== BPF_REG_SIZE - 1) continue;
      if (ot === STACK_SPILL && !regsafe(os.spilled, cs!.spilled, idmap, exact)) return false;
      // kernel: the STACK_DYNPTR case: same dynptr type and slot, the same reference
      if (
        ot === STACK_DYNPTR &&
        (os.spilled.dynptr !== cs!.spilled.dynptr || !idmap.check(os.spilled.refObjId, cs!.spilled.refObjId))
      ) {
        return false;
      }
    }
  }
  return true;
}

// kernel: refsafe()
function refsafe(old: VerifierState, cur: VerifierState, idmap: IdMap): boolean {
  if (old.refs.length !== cur.refs.length) return false;
  if (old.activeRcuLock !== cur.activeRcuLock) return false;
  for (let i = 0; i < old.refs.length; i++) {
    if (old.refs[i]!.lockMap !== cur.refs[i]!.lockMap) return false;
    if (!idmap.check(old.refs[i]!.id, cur.refs[i]!.id)) return false;
  }
  return true;
}

/** Registers live in frame k of a state stopped at insnIdx (kernel: clean_func_state()). */
function liveMask(env: VerifierEnv, st: VerifierState, k: number, insnIdx: number): number {
  if (k === st.frames.length - 1) return env.aux[insnIdx]!.liveRegsBefore | (1 << 10);
  // a caller frame resumes after the call; R0 is then the callee's result
  const callsite = st.frames[k + 1]!.callsite;
  return (env.aux[callsite + 1]?.liveRegsBefore ?? 0x7ff) & ~1;
}

// kernel: func_states_equal()
function funcStatesEqual(
  old: FuncState,
  cur: FuncState,
  live: number,
  idmap: IdMap,
  exact: Exactness,
  liveLo: number,
  liveHi: number,
): boolean {
  // an old state that had queued more bpf_loop callback runs from this frame covers fewer paths
  if (old.callbackDepth > cur.callbackDepth) return false;
  for (let i = 0; i < old.regs.length; i++) {
    if (exact !== 'EXACT' && !(live & (1 << i))) continue;
    if (!regsafe(old.regs[i]!, cur.regs[i]!, idmap, exact)) return false;
  }
  return stacksafe(old, cur, idmap, exact, liveLo, liveHi);
}

const sharedIdMap = new IdMap();

// kernel: states_equal()
export function statesEqual(
  env: VerifierEnv,
  old: VerifierState,
  cur: VerifierState,
  insnIdx: number,
  exact: Exactness,
): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  // a speculative path never stands in for a real one
  if (old.speculative && !cur.speculative) return false;
  strictScalars = env.exploreAluLimits;
  const idmap = sharedIdMap;
  idmap.reset(env.idGen);
  for (let k = 0; k < old.frames.length; k++) {
    if (old.frames[k]!.callsite !== cur.frames[k]!.callsite) return false;
  }
  if (!refsafe(old, cur, idmap)) return false;
  for (let k = 0; k < old.frames.length; k++) {
    const live = liveMask(env, old, k, insnIdx);
    // stack slots live where this frame continues: here, or after the call it made
    const at = k === old.frames.length - 1 ? insnIdx : old.frames[k + 1]!.callsite + 1;
    const fo = old.frames[k]!;
    let lo = 0xffffffff;
    let hi = 0xffffffff;
    // an empty old stack needs no slot liveness: its analysis waits for a stack to compare
    if (fo.stack.length > 0 && at < env.insns.length) {
      const ls = liveStackOf(env);
      lo = ls[2 * at]!;
      hi = ls[2 * at + 1]!;
    }
    if (!funcStatesEqual(fo, cur.frames[k]!, live, idmap, exact, lo, hi)) return false;
  }
  return true;
}

/** Quick test that the current frame's registers are identical (kernel: states_maybe_looping()). */
export function statesMaybeLooping(old: VerifierState, cur: VerifierState): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  const fo = old.frames[old.frames.length - 1]!;
  const fc = cur.frames[cur.frames.length - 1]!;
  for (let i = 0; i < fo.regs.length; i++) {
    const a = fo.regs[i]!;
    const b = fc.regs[i]!;
    if (a.type !== b.type || a.off !== b.off || a.id !== b.id || !sameNumeric(a, b)) return false;
  }
  return true;
}
