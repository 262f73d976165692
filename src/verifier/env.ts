// Everything one verification run shares (kernel: struct bpf_verifier_env): the program, its
// maps, per-instruction facts from the CFG pass, id counters, statistics and the log.
import type { Btf } from '../btf/btf.ts';
import type { LineInfo } from '../btf/ext-info.ts';
import type { Insn } from '../isa/index.ts';
import type { KernelProfile } from '../kernels/profile.ts';
import type { GlobalFunc } from './check/global-func.ts';
import type { VerifierLog } from './log.ts';
import type { Checkpoint, VerifierState } from './state.ts';

/** A map as the verifier needs it (kernel: struct bpf_map). */
export interface MapInfo {
  /** Lower-case type name without BPF_MAP_TYPE_: 'array', 'hash', 'ringbuf', 'prog_array', ... */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** kernel: map_flags (BPF_F_RDONLY_PROG = 0x80 makes values read-only to the program). */
  flags?: number;
  name?: string;
  /** Offset of the `struct bpf_timer` in the value, from BTF (kernel: map->record->timer_off). */
  timerOff?: number;
  /** Offset of the `struct bpf_spin_lock` in the value, from BTF. */
  spinLockOff?: number;
  /** kptr fields of the value, from BTF (kernel: map->record's BPF_KPTR_REF/UNREF fields). */
  kptrs?: readonly { off: number; kind: 'ref' | 'untrusted'; struct: string }[];
  /** Map of maps: the inner map template (kernel: inner_map_meta). */
  inner?: MapInfo;
  /** A frozen read-only map's bytes (.rodata): constant loads from it become known scalars. */
  frozenData?: Uint8Array;
}

export type ProgTypeName =
  | 'socket_filter'
  | 'sched_cls'
  | 'sched_act'
  | 'xdp'
  | 'syscall'
  | 'kprobe'
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'perf_event'
  | 'tracing'
  | (string & {});

// kernel: struct bpf_subprog_info
export interface Subprog {
  start: number;
  /** Bytes of stack this function touches, rounded to 8 (kernel: stack_depth). */
  stackDepth: number;
  /** Passed to bpf_timer_set_callback: runs on a stack of its own (kernel: is_async_cb). */
  isAsyncCb?: boolean;
}

/** Per-instruction facts (kernel: struct bpf_insn_aux_data). */
export interface InsnAux {
  prunePoint: boolean;
  /** A jump, call or return lands here: every step into it is in the state's history (kernel: jmp_point). */
  jmpPoint: boolean;
  /** Checkpoints must be made here (loop heads of callbacks, kernel: force_checkpoint). */
  forceCheckpoint: boolean;
  /** A helper call that runs a callback (bpf_loop): a loop head (kernel: calls_callback). */
  callsCallback: boolean;
  /** A may_goto instruction (kernel: is_may_goto_insn()). */
  mayGoto: boolean;
  /** Registers live before this instruction, bit i = Ri (kernel: live_regs_before). */
  liveRegsBefore: number;
  seen: boolean;
  /**
   * Spectre v1 masking of pointer arithmetic here, the same on every path (kernel: alu_state,
   * alu_limit; sanitize_ptr_alu()). 0: none recorded yet.
   */
  aluState: number;
  aluLimit: number;
  /**
   * A speculative path failed here: the kernel puts a speculation barrier before this
   * instruction and speculative paths stop at it (kernel: nospec, 6.17+).
   */
  nospec: boolean;
  /** A speculative path stops after this instruction (kernel: nospec_result, 6.17+). */
  nospecResult: boolean;
  /**
   * Pointer type a load/store here first went through, over every path (kernel: ptr_type). The
   * kernel rewrites ctx accesses per instruction, so one instruction may not see ctx on one path
   * and another pointer on another.
   */
  ptrType?: string;
}

export interface VerifierOptions {
  logLevel?: number;
  /** Loaded without CAP_BPF (nor CAP_PERFMON): implies `perfmon: false`. */
  unprivileged?: boolean;
  /**
   * Loaded with CAP_PERFMON (default true, as by root). false: CAP_BPF alone, so no pointer
   * leaks, no reads of uninitialised stack and Spectre v1 sanitation (kernel: allow_ptr_leaks,
   * allow_uninit_stack, bypass_spec_v1 and bypass_spec_v4 all false); src/verifier/privs.ts.
   */
  perfmon?: boolean;
  /** kernel: BPF_COMPLEXITY_LIMIT_INSNS */
  insnLimit?: number;
  /**
   * Verify as this kernel release did ("5.10", or a profile from kernelProfile()): its opcodes,
   * helpers, loop and call rules and processed-insn limit (src/verifier/profile.ts). Unset: 6.18.
   */
  kernel?: string | KernelProfile;
}

export interface VerifierEnv {
  insns: readonly Insn[];
  progType: ProgTypeName;
  /** kernel: prog->sleepable (BPF_F_SLEEPABLE; libbpf sets it for `.s` sections and syscall). */
  sleepable: boolean;
  /** kfunc call imm → the kfunc's name (VerifyProgram.kfuncs). */
  kfuncs: ReadonlyMap<number, string>;
  /** libbpf's expected attach type name ('trace_iter', 'trace_raw_tp', ...), if any. */
  attachType?: string;
  /** What the section names after '/' (iter/bpf_map_elem → 'bpf_map_elem'). */
  attachTo?: string;
  /** The program's own BTF (global function signatures). */
  btf?: Btf;
  /** The BTF kernel object layouts come from: the CO-RE target, else the program's BTF. */
  layoutBtf?: Btf;
  /** The kernel BTF attach points (fentry functions, LSM hooks, tracepoints) are found in. */
  attachBtf?: Btf;
  /** The program's maps, then the inner templates of its maps of maps. */
  maps: readonly MapInfo[];
  /** Per map: index of its inner template in `maps`, or -1. */
  innerMapIndex: readonly number[];
  subprogs: Subprog[];
  /** Per subprogram: global functions (verified on their own), null for static ones. */
  globalFuncs: (GlobalFunc | null)[];
  /** Global functions some verified path calls, to verify after the main program (kernel: aux->called). */
  globalCalled: Set<number>;
  /** Source lines by instruction, sorted (kernel: prog->aux->linfo). */
  lineInfo: readonly LineInfo[];
  /** The program came with BTF func_info (needed for callbacks). */
  hasFuncInfo: boolean;
  aux: InsnAux[];
  /**
   * Stack slots live before each instruction, two words per instruction (stack-liveness.ts);
   * made on first use (liveStackOf()): many short programs never compare two stacks.
   */
  liveStack?: Uint32Array;
  log: VerifierLog;
  opts: Required<Omit<VerifierOptions, 'kernel'>>;
  /** do_check()'s messages for instructions the profiled release lacks (kernel option only). */
  kernelBlocks?: ReadonlyMap<number, string>;
  /**
   * Pointer arithmetic with a variable offset was sanitized: pruning compares scalars exactly,
   * so every path's alu_limit is seen (kernel: explore_alu_limits).
   */
  exploreAluLimits: boolean;
  /** kernel: id_gen */
  idGen: number;
  /** The highest ctx byte any access reaches (kernel: prog->aux->max_ctx_offset). */
  maxCtxOffset: number;
  insnProcessed: number;
  prevInsnProcessed: number;
  jmpsProcessed: number;
  prevJmpsProcessed: number;
  totalStates: number;
  peakStates: number;
  curStates: number;
  maxStatesPerInsn: number;
  /**
   * Checkpoints by instruction index, undefined where none (kernel: explored_states); an array
   * as long as the program: a Map lookup was a tenth of is_state_visited()'s time.
   */
  explored: (Checkpoint[] | undefined)[];
  /** The state being explored (kernel: cur_state). */
  cur: VerifierState | null;
  /** Index of the instruction being checked (for messages). */
  insnIdx: number;
  prevInsnIdx: number;
}

/**
 * A verification failure: the kernel's log lines for it (the first is the main message). Thrown
 * inside checks and caught by doCheck(); never escapes verify().
 */
export class VerifierReject {
  readonly lines: string[];
  constructor(...lines: string[]) {
    this.lines = lines;
  }
  get message(): string {
    return this.lines[0] ?? '';
  }
}

export function reject(...lines: string[]): never {
  throw new VerifierReject(...lines);
}

export const nextId = (env: VerifierEnv): number => ++env.idGen;
