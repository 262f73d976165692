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
import { ownReg, ownSpilled } from './state.ts';
const { BPF_REG_SIZE, STACK_SPILL } = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

/** kernel: MAX_CALL_FRAMES */
const MAX_FRAMES = 8;

// kernel: struct backtrack_state. Registers and stack slots (spi < 64, as MAX_BPF_STACK / 8) are
// bit masks per frame: the walk asks "anything left?" after every instruction.
class Backtrack {
  readonly regs = new Int32Array(MAX_FRAMES);
  readonly slotsLo = new Int32Array(MAX_FRAMES);
  readonly slotsHi = new Int32Array(MAX_FRAMES);
  frame = 0;
  /** Frames at and above this one hold nothing (so empty() and reset() look at fewer). */
  top = MAX_FRAMES;

  /** Empties every frame; `frame` is where the walk starts. */
  reset(frame: number): void {
    for (let f = 0; f < this.top; f++) this.clearFrame(f);
    this.frame = frame;
    this.top = frame + 1;
  }
  has(r: number, f: number): boolean {
    return (this.regs[f]! & (1 << r)) !== 0;
  }
  set(r: number, f: number): void {
    if (r === 10) return;
    this.regs[f]! |= 1 << r;
    if (f >= this.top) this.top = f + 1;
  }
  clear(r: number, f: number): void {
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

// What backtrackInsn() does with an instruction, decoded once per program
const K_NONE = 0; // exit, ja, calls of subprograms and kfuncs, ALU with an immediate
const K_MOV_K = 1; // dst = imm: dst's value comes from nowhere
const K_MOV_X = 2; // dst = src: dst's precision moves to src
const K_ALU_X = 3; // dst op= src: both make dst
const K_LDX = 4; // dst = *(src + off): from a stack slot, if the history says so
/** K_MOV_K..K_LDX do nothing unless dst is tracked. */
const K_LAST_DST_ONLY = K_LDX;
const K_ST = 5; // *(dst + off) = imm (or an atomic op without fetch): the slot's value comes from nowhere
const K_STX = 6; // *(dst + off) = src: the slot's precision moves to src
const K_ATOMIC_FETCH = 7; // the fetched register is overwritten (src table holds it: r0 for cmpxchg)
const K_JMP_X = 8; // if dst op src: either one precise makes both
const K_JMP_K = 9; // if dst op imm: only linked scalars
const K_HELPER_CALL = 10; // r0..r5 are the helper's
const K_LDDW = 11; // dst = imm64
const K_LD_PKT = 12; // legacy packet loads: r0..r5 are clobbered

/** The kinds whose backtrackInsn() may clear a register or slot (the others only add). */
const CLEARING_KINDS =
  (1 << K_MOV_K) |
  (1 << K_MOV_X) |
  (1 << K_LDX) |
  (1 << K_ST) |
  (1 << K_STX) |
  (1 << K_ATOMIC_FETCH) |
  (1 << K_HELPER_CALL) |
  (1 << K_LDDW) |
  (1 << K_LD_PKT);

// crossFrames() flags, by instruction
const X_EXIT = 1; // the walk reaches a callee's exit from its caller
const X_CALL = 2; // a subprogram call or a callback-calling helper: may have made the frame below
const X_PSEUDO_CALL = 4; // the arguments come from the caller's registers
const X_CALLBACK_HELPER = 8; // a helper that calls a callback (bpf_loop...): R0 is not the callback's
const X_SUBPROG_START = 16; // a subprogram starts here

/** Per instruction: what backtrackInsn() and crossFrames() need (typed arrays, no decoding in the walk). */
interface InsnTable {
  kind: Uint8Array;
  dst: Uint8Array;
  /** 1 << dst */
  dstBit: Uint16Array;
  src: Uint8Array;
  cross: Uint8Array;
}

function buildInsnTable(env: VerifierEnv): InsnTable {
  const insns = env.insns;
  const n = insns.length;
  const t: InsnTable = {
    kind: new Uint8Array(n),
    dst: new Uint8Array(n),
    dstBit: new Uint16Array(n),
    src: new Uint8Array(n),
    cross: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    t.dst[i] = insn.dst;
    t.dstBit[i] = 1 << insn.dst;
    t.src[i] = insn.src;
    t.kind[i] = insnKind(insn);
    if (isAtomicFetch(insn) && insn.imm === op.ATOMIC_CMPXCHG) t.src[i] = 0;
    let x = 0;
    if (insn.code === op.OP_EXIT) x |= X_EXIT;
    if (isPseudoCall(insn)) x |= X_CALL | X_PSEUDO_CALL;
    if (isHelperCall(insn) && CALLBACK_HELPERS.has(insn.imm)) x |= X_CALL | X_CALLBACK_HELPER;
    t.cross[i] = x;
  }
  for (const s of env.subprogs) if (s.start >= 0 && s.start < n) t.cross[s.start]! |= X_SUBPROG_START;
  return t;
}

const isAtomicFetch = (i: Insn): boolean =>
  (op.cls(i.code) === op.CLASS_STX || op.cls(i.code) === op.CLASS_ST) &&
  op.mode(i.code) === op.MODE_ATOMIC &&
  (i.imm & op.ATOMIC_FETCH) !== 0;

function insnKind(insn: Insn): number {
  const code = insn.code;
  const c = op.cls(code);
  if (c === op.CLASS_ALU || c === op.CLASS_ALU64) {
    const o = op.aluOp(code);
    const x = op.srcBit(code) === op.SRC_X;
    if (o === op.ALU_MOV) return x ? K_MOV_X : K_MOV_K;
    return x && o !== op.ALU_NEG && o !== op.ALU_END ? K_ALU_X : K_NONE;
  }
  if (c === op.CLASS_LDX) return K_LDX;
  if (c === op.CLASS_STX || c === op.CLASS_ST) {
    if (isAtomicFetch(insn)) return K_ATOMIC_FETCH;
    return c === op.CLASS_STX && op.mode(code) === op.MODE_MEM ? K_STX : K_ST;
  }
  if (c === op.CLASS_JMP || c === op.CLASS_JMP32) {
    const o = op.jmpOp(code);
    if (o === op.JMP_CALL) return isHelperCall(insn) ? K_HELPER_CALL : K_NONE;
    if (o === op.JMP_EXIT || o === op.JMP_JA) return K_NONE;
    return op.srcBit(code) === op.SRC_X ? K_JMP_X : K_JMP_K;
  }
  if (c === op.CLASS_LD) return code === op.OP_LDDW ? K_LDDW : K_LD_PKT;
  return K_NONE;
}

// Tables by verification: a WeakMap (not a "last env" variable) so that a finished
// verification's states are not kept alive; a lookup per walk costs little against the walk.
const tables = new WeakMap<VerifierEnv, InsnTable>();

function insnTable(env: VerifierEnv): InsnTable {
  let t = tables.get(env);
  if (!t) {
    t = buildInsnTable(env);
    tables.set(env, t);
  }
  return t;
}

/** One of the linked scalars ([frame, regno or -1-spi]) is being tracked. */
function anyTracked(linked: readonly [number, number][], bt: Backtrack): boolean {
  for (let k = 0; k < linked.length; k++) {
    const l = linked[k]!;
    const f = l[0];
    const r = l[1];
    if (r >= 0 ? bt.has(r, f) : bt.hasSlot(f, -1 - r)) return true;
  }
  return false;
}

function markLinked(linked: readonly [number, number][], bt: Backtrack): void {
  for (let k = 0; k < linked.length; k++) {
    const l = linked[k]!;
    const f = l[0];
    const r = l[1];
    if (r >= 0) bt.set(r, f);
    else bt.setSlot(f, -1 - r);
  }
}

const isHelperCall = (i: Insn): boolean => i.code === op.OP_CALL && i.src === op.PSEUDO_CALL_HELPER;
const isPseudoCall = (i: Insn): boolean => i.code === op.OP_CALL && i.src === op.PSEUDO_CALL;

/** r0..r5: what a helper call or a legacy packet load overwrites. */
const CALLER_SAVED = 0x3f;

// kernel: backtrack_insn() for the instruction at i that ran in frame bt.frame
function backtrackInsn(t: InsnTable, kind: number, i: number, h: HistEntry | undefined, bt: Backtrack): void {
  const f = bt.frame;
  const regs = bt.regs;
  switch (kind) {
    case K_MOV_K: {
      regs[f]! &= ~(1 << t.dst[i]!);
      return;
    }
    case K_MOV_X: {
      const d = 1 << t.dst[i]!;
      if ((regs[f]! & d) === 0) return;
      regs[f]! &= ~d;
      bt.set(t.src[i]!, f);
      return;
    }
    case K_ALU_X: {
      if (bt.has(t.dst[i]!, f)) bt.set(t.src[i]!, f);
      return;
    }
    case K_LDX: {
      const d = 1 << t.dst[i]!;
      if ((regs[f]! & d) === 0) return;
      regs[f]! &= ~d;
      if (h !== undefined && h.spi !== undefined) bt.setSlot(h.stackFrame!, h.spi);
      return;
    }
    case K_ATOMIC_FETCH:
      bt.clear(t.src[i]!, f);
      backtrackSlot(h, bt, -1);
      return;
    case K_ST:
      backtrackSlot(h, bt, -1);
      return;
    case K_STX:
      backtrackSlot(h, bt, t.src[i]!);
      return;
    case K_JMP_X: {
      const dst = t.dst[i]!;
      const src = t.src[i]!;
      if (bt.has(dst, f) || bt.has(src, f)) {
        bt.set(dst, f);
        bt.set(src, f);
      }
      const linked = h?.linked;
      if (linked && anyTracked(linked, bt)) markLinked(linked, bt);
      return;
    }
    case K_JMP_K: {
      const linked = h?.linked;
      if (linked && anyTracked(linked, bt)) markLinked(linked, bt);
      return;
    }
    case K_HELPER_CALL:
    case K_LD_PKT:
      regs[f]! &= ~CALLER_SAVED;
      return;
    case K_LDDW:
      regs[f]! &= ~(1 << t.dst[i]!);
      return;
  }
}

/** A store to a stack slot the walk tracks: the slot's value came from `src` (-1: from nowhere). */
function backtrackSlot(h: HistEntry | undefined, bt: Backtrack, src: number): void {
  if (h === undefined || h.spi === undefined) return;
  const f = h.stackFrame!;
  if (!bt.hasSlot(f, h.spi)) return;
  bt.clearSlot(f, h.spi);
  if (src >= 0) bt.set(src, bt.frame);
}

/** Moves backward from the insn at `idx` (frame bt.frame) to the one before it, `prev`. */
function crossFrames(t: InsnTable, bt: Backtrack, idx: number, prev: number): void {
  const p = t.cross[prev]!;
  if (p & X_EXIT) {
    // prev is a callee's exit; its caller resumed at idx
    const callbackReturn = (t.cross[idx]! & X_CALLBACK_HELPER) !== 0;
    const r0 = bt.has(0, bt.frame);
    bt.clear(0, bt.frame);
    bt.enterFrame();
    if (r0 && !callbackReturn) bt.set(0, bt.frame);
    return;
  }
  if (p & X_CALL && bt.frame > 0 && t.cross[idx]! & X_SUBPROG_START) {
    // prev is the call that created the frame idx runs in: arguments come from the caller
    const args = bt.regs[bt.frame]! & 0x3e;
    bt.clearFrame(bt.frame);
    bt.frame--;
    if (p & X_PSEUDO_CALL) bt.regs[bt.frame]! |= args;
  }
}

/** Marks what bt names in a checkpoint's frames precise; drops what is no scalar or already precise. */
function markInState(st: VerifierState, bt: Backtrack): void {
  const frames = st.frames;
  for (let f = 0; f <= bt.frame && f < frames.length; f++) {
    const func: FuncState = frames[f]!;
    // only the set bits: most frames name one or two registers and no slot
    let m = bt.regs[f]! & ALL_REGS;
    while (m !== 0) {
      const r = 31 - Math.clz32(m & -m);
      m &= m - 1;
      const reg = func.regs[r]!;
      if (reg.type !== 'SCALAR_VALUE' || reg.precise) bt.clear(r, f);
      else ownReg(func, r).precise = true;
    }
    markSlotsInState(func, bt, f, bt.slotsLo[f]!, 0);
    markSlotsInState(func, bt, f, bt.slotsHi[f]!, 32);
  }
}

/** r0..r10 */
const ALL_REGS = 0x7ff;

/** markInState() for the slots of one 32-slot mask (spi = base + bit). */
function markSlotsInState(func: FuncState, bt: Backtrack, f: number, mask: number, base: number): void {
  let m = mask;
  while (m !== 0) {
    const spi = base + 31 - Math.clz32(m & -m);
    m &= m - 1;
    const slot = func.stack[spi];
    if (
      !slot ||
      slot.slotType[BPF_REG_SIZE - 1] !== STACK_SPILL ||
      slot.spilled.type !== 'SCALAR_VALUE' ||
      slot.spilled.precise
    ) {
      bt.clearSlot(f, spi);
    } else {
      ownSpilled(func, spi).precise = true;
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
  const t = insnTable(env);
  // locals: the loop calls functions, after which V8 would load these fields again
  const kinds = t.kind;
  const dstBits = t.dstBit;
  const cross = t.cross;
  const regs = bt.regs;
  let st: VerifierState = state;
  // the current instruction is the one relying on the values: start before it
  let i = env.insnIdx;
  let skipFirst = true;
  for (;;) {
    const hist = st.history;
    const firstIdx = st.firstInsnIdx;
    let h = hist.length;
    // the newest history entry not yet passed, and its instruction (-1: none left)
    let next: HistEntry | undefined = h > 0 ? hist[h - 1] : undefined;
    let nextIdx = next !== undefined ? next.idx : -1;
    while (i >= 0) {
      const e = nextIdx === i ? next : undefined;
      const kind = kinds[i]!;
      // most instructions change nothing: no effect at all, or an ALU op or load whose dst is
      // not tracked (a test here, not a call)
      if (
        kind !== K_NONE &&
        (kind > K_LAST_DST_ONLY || (regs[bt.frame]! & dstBits[i]!) !== 0) &&
        !skipFirst
      ) {
        backtrackInsn(t, kind, i, e, bt);
        // only an instruction that clears can leave nothing to track
        if ((CLEARING_KINDS >> kind) & 1 && bt.empty()) return;
      }
      skipFirst = false;
      // the segment's first insn may recur in it (a loop): stop only when the history is used up
      if (i === firstIdx && (h === 0 || (h === 1 && hist[0]!.idx === i))) break;
      let prev = i - 1;
      if (e !== undefined) {
        h--;
        prev = e.prevIdx;
        next = h > 0 ? hist[h - 1] : undefined;
        nextIdx = next !== undefined ? next.idx : -1;
      }
      if (prev < 0) return;
      if (cross[prev] !== 0) crossFrames(t, bt, i, prev);
      i = prev;
    }
    const parent: Checkpoint | null = st.parent;
    if (!parent) return;
    markInState(parent.state, bt);
    if (bt.empty()) return;
    const first = st.firstInsnIdx;
    st = parent.state;
    if (st.lastInsnIdx < 0) return;
    crossFrames(t, bt, first, st.lastInsnIdx);
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
      if (r.type === 'SCALAR_VALUE' && r.precise) ownSpilled(f, spi).precise = false;
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
    const e = newHistEntry(env.insnIdx, env.insnIdx - 1);
    e.stackFrame = frameno;
    e.spi = spi;
    h.push(e);
  }
}

/**
 * A step of the path for the state's history (kernel: push_jmp_history()). Every entry is made
 * here with every field, so the walk reads entries of one shape (optional fields added later,
 * or literals with different fields, make its property loads megamorphic).
 */
export function newHistEntry(idx: number, prevIdx: number): HistEntry {
  return { idx, prevIdx, stackFrame: undefined, spi: undefined, linked: undefined };
}
