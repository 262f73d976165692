// Precision tracking (kernel: mark_chain_precision(), __mark_chain_precision(), backtrack_insn(),
// propagate_precision()). When the verifier relies on a scalar's exact range (pointer offsets,
// sizes, decided branches), that scalar and every value it came from are marked precise in the
// checkpoints of the current path; pruning then compares only precise scalars.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import { CALLBACK_HELPERS } from './cfg.ts';
import type { VerifierEnv } from './env.ts';
import type { RegState } from './reg.ts';
import * as stackNs from './stack.ts';
import type { Checkpoint, FuncState, HistEntry, VerifierState } from './state.ts';
const { BPF_REG_SIZE, STACK_SPILL } = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

// kernel: struct backtrack_state
class Backtrack {
  regs: number[] = [];
  slots: Set<number>[] = [];
  frame: number;
  constructor(frames: number) {
    for (let i = 0; i < frames; i++) {
      this.regs.push(0);
      this.slots.push(new Set());
    }
    this.frame = frames - 1;
  }
  has(r: number, f = this.frame): boolean {
    return ((this.regs[f] ?? 0) & (1 << r)) !== 0;
  }
  set(r: number, f = this.frame): void {
    if (r !== 10) this.regs[f]! |= 1 << r;
  }
  clear(r: number, f = this.frame): void {
    this.regs[f]! &= ~(1 << r);
  }
  empty(): boolean {
    // asked after every instruction walked back: plain loops, no callbacks
    for (let f = 0; f < this.regs.length; f++) if (this.regs[f] !== 0) return false;
    for (let f = 0; f < this.slots.length; f++) if (this.slots[f]!.size !== 0) return false;
    return true;
  }
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
    if (h?.spi !== undefined) bt.slots[h.stackFrame!]!.add(h.spi);
  } else if (c === op.CLASS_STX || c === op.CLASS_ST) {
    if (op.mode(code) === op.MODE_ATOMIC && insn.imm & op.ATOMIC_FETCH) {
      bt.clear(insn.imm === op.ATOMIC_CMPXCHG ? 0 : src);
    }
    if (h?.spi === undefined) return;
    const slots = bt.slots[h.stackFrame!]!;
    if (!slots.has(h.spi)) return;
    slots.delete(h.spi);
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
      if (h?.linked?.some(([f, r]) => (r >= 0 ? bt.has(r, f) : bt.slots[f]?.has(-1 - r)))) {
        for (const [f, r] of h.linked) {
          if (r >= 0) bt.set(r, f);
          else bt.slots[f]?.add(-1 - r);
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
    bt.frame++;
    while (bt.regs.length <= bt.frame) {
      bt.regs.push(0);
      bt.slots.push(new Set());
    }
    bt.regs[bt.frame] = 0;
    bt.slots[bt.frame]!.clear();
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
    bt.regs[bt.frame] = 0;
    bt.slots[bt.frame]!.clear();
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
      else reg.precise = true;
    }
    for (const spi of [...bt.slots[f]!]) {
      const slot = func.stack[spi];
      if (
        !slot ||
        slot.slotType[BPF_REG_SIZE - 1] !== STACK_SPILL ||
        slot.spilled.type !== 'SCALAR_VALUE' ||
        slot.spilled.precise
      ) {
        bt.slots[f]!.delete(spi);
      } else {
        slot.spilled.precise = true;
      }
    }
  }
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
  const bt = new Backtrack(state.frames.length);
  for (const [f, r] of regs) {
    const reg = state.frames[f]?.regs[r];
    if (reg?.type !== 'SCALAR_VALUE') continue;
    bt.set(r, f);
  }
  for (const [f, spi] of slots) {
    const slot = state.frames[f]?.stack[spi];
    if (!slot || slot.slotType[BPF_REG_SIZE - 1] !== STACK_SPILL || slot.spilled.type !== 'SCALAR_VALUE')
      continue;
    bt.slots[f]!.add(spi);
  }
  if (bt.empty()) return;
  let st: VerifierState = state;
  // the current instruction is the one relying on the values: start before it
  let i = env.insnIdx;
  let skipFirst = true;
  for (;;) {
    const hist = st.history;
    let h = hist.length;
    while (i >= 0) {
      const e: HistEntry | undefined = h > 0 && hist[h - 1]!.idx === i ? hist[h - 1] : undefined;
      if (!skipFirst) backtrackInsn(env.insns[i]!, e, bt);
      skipFirst = false;
      if (bt.empty()) return;
      // the segment's first insn may recur in it (a loop): stop only when the history is used up
      if (i === st.firstInsnIdx && (h === 0 || (h === 1 && hist[0]!.idx === i))) break;
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
  const regs: [number, number][] = [];
  const slots: [number, number][] = [];
  old.frames.forEach((f, k) => {
    f.regs.forEach((r: RegState, i) => {
      if (r.type === 'SCALAR_VALUE' && r.precise) regs.push([k, i]);
    });
    f.stack.forEach((s, spi) => {
      if (
        s.slotType[BPF_REG_SIZE - 1] === STACK_SPILL &&
        s.spilled.type === 'SCALAR_VALUE' &&
        s.spilled.precise
      ) {
        slots.push([k, spi]);
      }
    });
  });
  if (regs.length || slots.length) markChainPrecision(env, cur, regs, slots);
}

/** kernel: mark_all_scalars_imprecise() */
export function markAllScalarsImprecise(st: VerifierState): void {
  for (const f of st.frames) {
    for (const r of f.regs) if (r.type === 'SCALAR_VALUE') r.precise = false;
    for (const s of f.stack) if (s.spilled.type === 'SCALAR_VALUE') s.spilled.precise = false;
  }
}

/** Marks a register of the current frame precise (kernel: mark_chain_precision()). */
export function markRegPrecise(env: VerifierEnv, regno: number): void {
  const st = env.cur;
  if (st) markChainPrecision(env, st, [[st.frames.length - 1, regno]]);
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
