// Verifier states (include/linux/bpf_verifier.h): a function frame holds registers and stack,
// a verifier state holds the call chain of frames and the acquired references.
import type { RegState } from './reg.ts';
import { copyRegSharingScalar, markShared, pointer, sharedNotInit } from './reg.ts';
import type { StackSlot } from './stack.ts';
import * as stackNs from './stack.ts';

// plain functions: tsx turns namespace member reads into getter calls, too slow for the hot paths
const { markSlotShared, unsharedSlot } = stackNs;

export const MAX_BPF_REG = 11;
export const BPF_REG_FP = 10;
/** kernel: MAX_CALL_FRAMES */
export const MAX_CALL_FRAMES = 8;

// kernel: struct bpf_func_state
export interface FuncState {
  regs: RegState[];
  /** stack[spi] covers fp-(spi+1)*8 .. fp-spi*8-1; grows as the program writes deeper. */
  stack: StackSlot[];
  /** Instruction index of the call that created this frame (-1 for the main frame). */
  callsite: number;
  frameno: number;
  subprogno: number;
  /** Callback frames (bpf_loop): where the caller continues, and R0's allowed range. */
  inCallbackFn: boolean;
  /** A timer callback, verified as its own program (kernel: in_async_callback_fn). */
  inAsyncCallbackFn: boolean;
  callbackRetMin: number;
  callbackRetMax: number;
  /** bpf_loop callback runs queued from this frame on the current path (kernel: callback_depth). */
  callbackDepth: number;
}

// kernel: struct bpf_reference_state
export interface RefState {
  id: number;
  insnIdx: number;
  /** A held bpf_spin_lock: the map of the value it sits in (kernel: REF_TYPE_LOCK, ptr). */
  lockMap?: number;
}

/**
 * One step of the path that is not "the previous slot, same frame", or one that precision
 * backtracking must know more about (kernel: struct bpf_jmp_history_entry).
 */
export interface HistEntry {
  idx: number;
  prevIdx: number;
  /** A spill to / fill from a fixed stack slot: which frame and slot (kernel: INSN_F_STACK_ACCESS). */
  stackFrame?: number;
  spi?: number;
  /** Scalars sharing an id with a compared register (kernel: linked_regs): [frame, regno or -1-spi]. */
  linked?: [number, number][];
}

// kernel: struct bpf_verifier_state
export interface VerifierState {
  frames: FuncState[];
  refs: RefState[];
  /** Inside a bpf_rcu_read_lock() section (kernel: active_rcu_lock). */
  activeRcuLock: boolean;
  /** kernel: parent; the checkpoint this state descends from (for branch counting). */
  parent: Checkpoint | null;
  /** Callback iteration bookkeeping: instruction where a callback's caller resumes. */
  callbackUnrollDepth: number;
  /** may_goto iterations taken on this path (kernel: may_goto_depth). */
  mayGotoDepth: number;
  /**
   * A path only a mispredicted branch or masked pointer arithmetic takes, explored for Spectre v1
   * when the loader lacks CAP_PERFMON (kernel: speculative).
   */
  speculative: boolean;
  /** The path since the parent checkpoint (kernel: jmp_history, first_insn_idx, last_insn_idx). */
  history: HistEntry[];
  firstInsnIdx: number;
  lastInsnIdx: number;
}

/** A state stored at a prune point (kernel: struct bpf_verifier_state_list). */
export interface Checkpoint {
  state: VerifierState;
  insnIdx: number;
  /** Paths still being explored below this checkpoint (kernel: branches). */
  branches: number;
  missCnt: number;
  hitCnt: number;
  /** Set when too many misses evicted it (kept for counting only). */
  evicted: boolean;
  /**
   * An open loop head some path below was pruned against: until it closes, this checkpoint's
   * precision marks may be incomplete (kernel: loop_entry, incomplete_read_marks()).
   */
  loopEntry: Checkpoint | null;
}

/** A state at the start of a walk (program, global function, timer callback): one frame, no history. */
export function newState(frame: FuncState, firstInsnIdx: number): VerifierState {
  return {
    frames: [frame],
    refs: [],
    activeRcuLock: false,
    parent: null,
    callbackUnrollDepth: 0,
    mayGotoDepth: 0,
    speculative: false,
    history: [],
    firstInsnIdx,
    lastInsnIdx: -1,
  };
}

export function newFrame(callsite: number, frameno: number, subprogno: number): FuncState {
  const regs: RegState[] = [];
  // the one shared NOT_INIT register (marked shared: an in-place write copies it first, ownReg())
  // instead of eleven new registers per frame
  for (let i = 0; i < MAX_BPF_REG; i++) regs.push(sharedNotInit());
  regs[BPF_REG_FP] = pointer('PTR_TO_STACK', { frameno });
  return {
    regs,
    stack: [],
    callsite,
    frameno,
    subprogno,
    inCallbackFn: false,
    inAsyncCallbackFn: false,
    callbackRetMin: 0,
    callbackRetMax: 0,
    callbackDepth: 0,
  };
}

// Every field written out (an object spread is several times slower): a new field of FuncState
// must be copied here too.
export function copyFrame(f: FuncState): FuncState {
  // copy-on-write: the copy shares the register and stack slot objects; whichever state changes
  // one first replaces it with its own copy (ownReg(), ownSlot()). Most registers and slots of a
  // checkpoint or a pushed branch are never written again before the next copy.
  const fr = f.regs;
  for (let i = 0; i < fr.length; i++) markShared(fr[i]!);
  const fs = f.stack;
  for (let i = 0; i < fs.length; i++) markSlotShared(fs[i]!);
  return {
    regs: fr.slice(),
    stack: fs.slice(),
    callsite: f.callsite,
    frameno: f.frameno,
    subprogno: f.subprogno,
    inCallbackFn: f.inCallbackFn,
    inAsyncCallbackFn: f.inAsyncCallbackFn,
    callbackRetMin: f.callbackRetMin,
    callbackRetMax: f.callbackRetMax,
    callbackDepth: f.callbackDepth,
  };
}

/**
 * Register regno of f, to be changed in place: replaced first by f's own copy if state copies
 * share it (copy-on-write). Every in-place write to a register held in a frame goes through here.
 */
export function ownReg(f: FuncState, regno: number): RegState {
  const r = f.regs[regno]!;
  if (!r.shared) return r;
  const c = copyRegSharingScalar(r);
  f.regs[regno] = c;
  return c;
}

/**
 * Stack slot spi of f, to be changed in place (its byte types through writableTypes(), or a new
 * `spilled`): replaced first by f's own copy if state copies share it.
 */
export function ownSlot(f: FuncState, spi: number): StackSlot {
  const s = f.stack[spi]!;
  if (!s.shared) return s;
  const c = unsharedSlot(s);
  f.stack[spi] = c;
  return c;
}

/** The register spilled in slot spi of f, to be changed in place: f's own slot, and its own copy. */
export function ownSpilled(f: FuncState, spi: number): RegState {
  const s = ownSlot(f, spi);
  if (s.spilled.shared) s.spilled = copyRegSharingScalar(s.spilled);
  return s.spilled;
}

export function copyState(s: VerifierState): VerifierState {
  return {
    frames: s.frames.map(copyFrame),
    refs: s.refs.length ? s.refs.map((r) => ({ ...r })) : [],
    activeRcuLock: s.activeRcuLock,
    parent: s.parent,
    callbackUnrollDepth: s.callbackUnrollDepth,
    mayGotoDepth: s.mayGotoDepth,
    speculative: s.speculative,
    history: s.history.slice(),
    firstInsnIdx: s.firstInsnIdx,
    lastInsnIdx: s.lastInsnIdx,
  };
}

export const curFrame = (s: VerifierState): FuncState => s.frames[s.frames.length - 1]!;
