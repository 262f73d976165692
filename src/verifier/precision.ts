// Precision tracking (kernel: mark_chain_precision(), __mark_chain_precision(), backtrack_insn(),
// propagate_precision()). When the verifier relies on a scalar's exact range (pointer offsets,
// sizes, decided branches), that scalar and every value it came from are marked precise in the
// checkpoints of the current path; pruning then compares only precise scalars.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import { CALLBACK_HELPERS } from './cfg.ts';
import type { VerifierEnv } from './env.ts';
import * as stackNs from './stack.ts';
import type { Checkpoint, FuncState, HistEntry, VerifierState } from './state.ts';
import { ownReg, ownSlot } from './state.ts';
const { BPF_REG_SIZE, STACK_SPILL } = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

/** kernel: MAX_CALL_FRAMES */
const MAX_FRAMES = 8;

// kernel: struct backtrack_state. Registers and stack slots (spi < 64, as MAX_BPF_STACK / 8) are
// bit masks per frame: the walk asks "anything left?" after every instruction.
class Backtrack {
  readonly regs: number[] = new Array(MAX_FRAMES).fill(0);
  readonly slotsLo: number[] = new Array(MAX_FRAMES).fill(0);
  readonly slotsHi: number[] = new Array(MAX_FRAMES).fill(0);
  frame = 0;
  /** Frames at and above this one hold nothing (so empty() and reset() look at fewer). */
  private top = MAX_FRAMES;

  /** Empties every frame; `frame` is where the walk starts. */
  reset(frame: number): void {
    for (let f = 0; f < this.top; f++) this.clearFrame(f);
    this.frame = frame;
    this.top = frame + 1;
  }
  has(r: number, f = this.frame): boolean {
    return (this.regs[f]! & (1 << r)) !== 0;
  }
  set(r: number, f = this.frame): void {
    if (r === 10) return;
    this.regs[f]! |= 1 << r;
    if (f >= this.top) this.top = f + 1;
  }
  clear(r: number, f = this.frame): void {
    this.regs[f]! &= ~(1 << r);
  }
  hasSlot(f: number, spi: number): boolean {
    return ((spi < 32 ? this.slotsLo[f]! >>> spi : this.slotsHi[f]! >>> (spi - 32)) & 1) !== 0;
  }
  setSlot(f: number, spi: number): void {
    if (spi < 32) this.slotsLo[f]! |= 1 << spi;
    else this.slotsHi[f]! |= 1 << (spi - 32);
    if (f >= this.top) this.top = f + 1;
  }
  clearSlot(f: number, spi: number): void {
    if (spi < 32) this.slotsLo[f]! &= ~(1 << spi);
    else this.slotsHi[f]! &= ~(1 << (spi - 32));
  }
  /** Drops frame f's registers and slots. */
  clearFrame(f: number): void {
    this.regs[f] = 0;
    this.slotsLo[f] = 0;
    this.slotsHi[f] = 0;
  }
  /** The walk moves into a deeper frame (backward over a callee's exit). */
  enterFrame(): void {
    this.frame++;
    this.clearFrame(this.frame);
    if (this.frame >= this.top) this.top = this.frame + 1;
  }
  empty(): boolean {
    let any = 0;
    for (let f = 0; f < this.top; f++) any |= this.regs[f]! | this.slotsLo[f]! | this.slotsHi[f]!;
    return any === 0;
  }
}

/** One walk at a time (the walk never recurses): the masks are reused. */
const sharedBt = new Backtrack();

/** One of the linked scalars ([frame, regno or -1-spi]) is being tracked. */
function anyTracked(linked: readonly [number, number][], bt: Backtrack): boolean {
  for (const [f, r] of linked) if (r >= 0 ? bt.has(r, f) : bt.hasSlot(f, -1 - r)) return true;
  return false;
}

const isHelperCall = (i: Insn): boolean => i.code === op.OP_CALL && i.src === op.PSEUDO_CALL_HELPER;
const isPseudoCall = (i: Insn): boolean => i.code === op.OP_CALL && i.src === op.PSEUDO_CALL;

// kernel: backtrack_insn() for one instruction that ran in frame bt.frame
function backtrackInsn(insn: Insn, h: HistEntry | undefined, bt: Backtrack): void {
  const code = insn.code;
  const c = op.cls(code);
  const dst = insn.dst;
  const src = insn.src;
  if (c === op.CLASS_ALU || c === op.CLASS_ALU64) {
    if (!bt.has(dst)) return;
    const o = op.aluOp(code);
    const x = op.srcBit(code) === op.SRC_X;
    if (o === op.ALU_MOV) {
      bt.clear(dst);
      if (x) bt.set(src);
    } else if (x && o !== op.ALU_NEG && o !== op.ALU_END) {
      bt.set(src);
    }
  } else if (c === op.CLASS_LDX) {
    if (!bt.has(dst)) return;
    bt.clear(dst);
    if (h?.spi !== undefined) bt.setSlot(h.stackFrame!, h.spi);
  } else if (c === op.CLASS_STX || c === op.CLASS_ST) {
    if (op.mode(code) === op.MODE_ATOMIC && insn.imm & op.ATOMIC_FETCH) {
      bt.clear(insn.imm === op.ATOMIC_CMPXCHG ? 0 : src);
    }
    if (h?.spi === undefined) return;
    if (!bt.hasSlot(h.stackFrame!, h.spi)) return;
    bt.clearSlot(h.stackFrame!, h.spi);
    if (c === op.CLASS_STX && op.mode(code) === op.MODE_MEM) bt.set(src);
  } else if (c === op.CLASS_JMP || c === op.CLASS_JMP32) {
    const o = op.jmpOp(code);
    if (o === op.JMP_CALL) {
      if (isHelperCall(insn)) for (let r = 0; r <= 5; r++) bt.clear(r);
    } else if (o !== op.JMP_EXIT && o !== op.JMP_JA) {
      if (op.srcBit(code) === op.SRC_X && (bt.has(dst) || bt.has(src))) {
        bt.set(dst);
        bt.set(src);
      }
      const linked = h?.linked;
      if (linked && anyTracked(linked, bt)) {
        for (const [f, r] of linked) {
          if (r >= 0) bt.set(r, f);
          else bt.setSlot(f, -1 - r);
        }
      }
    }
  } else if (c === op.CLASS_LD) {
    if (code === op.OP_LDDW) bt.clear(dst);
    else for (let r = 0; r <= 5; r++) bt.clear(r);
  }
}

/** Moves backward from the insn at `idx` (frame bt.frame) to the one before it, `prev`. */
function crossFrames(env: VerifierEnv, bt: Backtrack, idx: number, prev: number): void {
  const p = env.insns[prev]!;
  if (p.code === op.OP_EXIT) {
    // prev is a callee's exit; its caller resumed at idx
    const callbackReturn = isHelperCall(env.insns[idx]!) && CALLBACK_HELPERS.has(env.insns[idx]!.imm);
    const r0 = bt.has(0);
    bt.clear(0);
    bt.enterFrame();
    if (r0 && !callbackReturn) bt.set(0);
    return;
  }
  // the subprogram search only after the cheap tests: this runs for every instruction walked back
  if (
    (isPseudoCall(p) || (isHelperCall(p) && CALLBACK_HELPERS.has(p.imm))) &&
    bt.frame > 0 &&
    env.subprogs.some((s) => s.start === idx)
  ) {
    // prev is the call that created the frame idx runs in: arguments come from the caller
    const args = bt.regs[bt.frame]! & 0x3e;
    bt.clearFrame(bt.frame);
    bt.frame--;
    if (isPseudoCall(p)) bt.regs[bt.frame]! |= args;
  }
}

/** Marks what bt names in a checkpoint's frames precise; drops what is no scalar or already precise. */
function markInState(st: VerifierState, bt: Backtrack): void {
  for (let f = 0; f <= bt.frame && f < st.frames.length; f++) {
    const func: FuncState = st.frames[f]!;
    for (let r = 0; r < 11; r++) {
      if (!bt.has(r, f)) continue;
      const reg = func.regs[r]!;
      if (reg.type !== 'SCALAR_VALUE' || reg.precise) bt.clear(r, f);
      else ownReg(func, r).precise = true;
    }
    if (bt.slotsLo[f] === 0 && bt.slotsHi[f] === 0) continue;
    for (let spi = 0; spi < 64; spi++) {
      if (!bt.hasSlot(f, spi)) continue;
      const slot = func.stack[spi];
      if (
        !slot ||
        slot.slotType[BPF_REG_SIZE - 1] !== STACK_SPILL ||
        slot.spilled.type !== 'SCALAR_VALUE' ||
        slot.spilled.precise
      ) {
        bt.clearSlot(f, spi);
      } else {
        ownSlot(func, spi).spilled.precise = true;
      }
    }
  }
}

/** Names register r of frame f of the current state for the walk, if it holds a scalar. */
function seedReg(bt: Backtrack, state: VerifierState, f: number, r: number): void {
  if (state.frames[f]?.regs[r]?.type === 'SCALAR_VALUE') bt.set(r, f);
}

/** Names stack slot spi of frame f of the current state for the walk, if a scalar is spilled there. */
function seedSlot(bt: Backtrack, state: VerifierState, f: number, spi: number): void {
  const slot = state.frames[f]?.stack[spi];
  if (!slot || slot.slotType[BPF_REG_SIZE - 1] !== STACK_SPILL || slot.spilled.type !== 'SCALAR_VALUE')
    return;
  bt.setSlot(f, spi);
}

/**
 * Marks registers and stack slots of the current state precise, and everything they came
 * from along the path (kernel: mark_chain_precision_batch()). regs: [frame, regno]; slots: [frame, spi].
 */
export function markChainPrecision(
  env: VerifierEnv,
  state: VerifierState,
  regs: readonly [number, number][],
  slots: readonly [number, number][] = [],
): void {
  const bt = sharedBt;
  bt.reset(state.frames.length - 1);
  for (const [f, r] of regs) seedReg(bt, state, f, r);
  for (const [f, spi] of slots) seedSlot(bt, state, f, spi);
  backtrackPath(env, state, bt);
}

// kernel: __mark_chain_precision(): walks the path back from the current instruction
function backtrackPath(env: VerifierEnv, state: VerifierState, bt: Backtrack): void {
  if (bt.empty()) return;
  const insns = env.insns;
  let st: VerifierState = state;
  // the current instruction is the one relying on the values: start before it
  let i = env.insnIdx;
  let skipFirst = true;
  for (;;) {
    const hist = st.history;
    const firstIdx = st.firstInsnIdx;
    let h = hist.length;
    while (i >= 0) {
      const e: HistEntry | undefined = h > 0 && hist[h - 1]!.idx === i ? hist[h - 1] : undefined;
      if (!skipFirst) {
        backtrackInsn(insns[i]!, e, bt);
        if (bt.empty()) return;
      }
      skipFirst = false;
      // the segment's first insn may recur in it (a loop): stop only when the history is used up
      if (i === firstIdx && (h === 0 || (h === 1 && hist[0]!.idx === i))) break;
      let prev = i - 1;
      if (e) {
        h--;
        prev = e.prevIdx;
      }
      if (prev < 0) return;
      crossFrames(env, bt, i, prev);
      i = prev;
    }
    const parent: Checkpoint | null = st.parent;
    if (!parent) return;
    markInState(parent.state, bt);
    if (bt.empty()) return;
    const first = st.firstInsnIdx;
    st = parent.state;
    if (st.lastInsnIdx < 0) return;
    crossFrames(env, bt, first, st.lastInsnIdx);
    i = st.lastInsnIdx;
  }
}

/** After a prune: what the old state relied on, the current path must provide (kernel: propagate_precision()). */
export function propagatePrecision(env: VerifierEnv, old: VerifierState, cur: VerifierState): void {
  const bt = sharedBt;
  bt.reset(cur.frames.length - 1);
  const frames = old.frames;
  for (let k = 0; k < frames.length; k++) {
    const f = frames[k]!;
    for (let i = 0; i < f.regs.length; i++) {
      const r = f.regs[i]!;
      if (r.type === 'SCALAR_VALUE' && r.precise) seedReg(bt, cur, k, i);
    }
    for (let spi = 0; spi < f.stack.length; spi++) {
      const s = f.stack[spi]!;
      if (
        s.slotType[BPF_REG_SIZE - 1] === STACK_SPILL &&
        s.spilled.type === 'SCALAR_VALUE' &&
        s.spilled.precise
      ) {
        seedSlot(bt, cur, k, spi);
      }
    }
  }
  backtrackPath(env, cur, bt);
}

/** kernel: mark_all_scalars_imprecise() */
export function markAllScalarsImprecise(st: VerifierState): void {
  for (const f of st.frames) {
    // registers and slots may be shared with copies: only the precise ones are written
    for (let i = 0; i < f.regs.length; i++) {
      const r = f.regs[i]!;
      if (r.type === 'SCALAR_VALUE' && r.precise) ownReg(f, i).precise = false;
    }
    for (let spi = 0; spi < f.stack.length; spi++) {
      const r = f.stack[spi]!.spilled;
      if (r.type === 'SCALAR_VALUE' && r.precise) ownSlot(f, spi).spilled.precise = false;
    }
  }
}

/** Marks a register of the current frame precise (kernel: mark_chain_precision()). */
export function markRegPrecise(env: VerifierEnv, regno: number): void {
  const st = env.cur;
  if (!st) return;
  const bt = sharedBt;
  bt.reset(st.frames.length - 1);
  seedReg(bt, st, st.frames.length - 1, regno);
  backtrackPath(env, st, bt);
}

/** Records that the current instruction spilled to or filled from a stack slot (kernel: INSN_F_STACK_ACCESS). */
export function noteStackAccess(env: VerifierEnv, frameno: number, spi: number): void {
  const st = env.cur;
  if (!st) return;
  const h = st.history;
  const last = h[h.length - 1];
  if (last && last.idx === env.insnIdx) {
    last.stackFrame = frameno;
    last.spi = spi;
  } else {
    h.push({ idx: env.insnIdx, prevIdx: env.insnIdx - 1, stackFrame: frameno, spi });
  }
}
