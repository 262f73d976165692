// Sleeping: a sleepable helper (bpf_copy_from_user, ...) whose data is not there yet throws a
// SleepRequest. The engine that catches it records where the program stopped (its `point`) and
// rethrows; whoever runs the program (runtime/sleep) saves the VM state, awaits `until`, puts
// the state back and resumes the engine at that point. A resumed program executes the sleeping
// call instruction again, and this time the helper finds its data. See src/runtime/sleep/README.md.
import type { HelperImpl } from './helpers.ts';
import type { LoadedProgram } from './program.ts';

/** Where the interpreter stopped: the call slot, frame depth and its frame bookkeeping. */
export interface InterpPoint {
  readonly engine: 'interp';
  /** The running program (a tail call may have replaced the entry program). */
  readonly prog: LoadedProgram;
  /** Slot of the sleeping call instruction (executed again on resume). */
  readonly pc: number;
  readonly depth: number;
  /** Instructions executed before the call (the call counts when it runs again). */
  readonly n: number;
  /** Return slots, saved r6..r9 and may_goto budgets of the frames (copies). */
  readonly retPc: Int32Array;
  readonly saved: Int32Array;
  readonly mayGoto: Int32Array;
}

/** Where a JIT-compiled program stopped: one record per live frame, copied out of the arena. */
export interface JitPoint {
  readonly engine: 'jit';
  readonly prog: LoadedProgram;
  /** Frames live at the sleeping call (depth + 1). */
  readonly frames: number;
  /** The function the run entered (0, or a callback's entry slot). */
  readonly entry: number;
  /** The frame records (compile.ts resume area layout), innermost at index `frames - 1`. */
  readonly records: Uint8Array;
}

export type SuspendPoint = InterpPoint | JitPoint;

/**
 * A callback that slept (bpf_loop, for_each_map_elem): where it stopped, its registers and its
 * callback level's stack frames, and `cont`, what the helper that ran it needs to go on (its
 * loop position). The helper's call instruction runs again on resume, and the helper takes
 * this back (Vm.takeCallbackResume) instead of starting over.
 */
export interface CallbackPoint {
  readonly point: SuspendPoint;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly stack: Uint8Array;
  readonly cont: number;
}

/** Thrown by a sleepable helper to put the program to sleep until `until` settles. */
export class SleepRequest {
  /** Set by the engine that caught the request. */
  point: SuspendPoint | undefined;
  /** Callbacks the request left on its way out, innermost first (Vm.exec). */
  readonly callbacks: CallbackPoint[] = [];
  constructor(
    readonly until: Promise<unknown>,
    /** What the program waits for, for error messages ("user memory at 0x1000, 64 bytes"). */
    readonly what: string,
  ) {}
}

const sleepable = new WeakSet<HelperImpl>();

/**
 * Marks a helper implementation as one that may throw a SleepRequest: the JIT makes its call
 * sites resume points (kernel: bpf_func_proto.might_sleep).
 */
export function markSleepable<T extends HelperImpl>(impl: T): T {
  sleepable.add(impl);
  return impl;
}

export function isSleepable(impl: HelperImpl | undefined): boolean {
  return impl !== undefined && sleepable.has(impl);
}

const resumesCallbacks = new WeakSet<HelperImpl>();

/**
 * Marks a helper that runs callbacks and can go on after one of them slept (it calls
 * Vm.callFunctionResumable and Vm.takeCallbackResume): in a program that may sleep, the JIT
 * makes its call sites resume points too.
 */
export function markResumesCallbacks<T extends HelperImpl>(impl: T): T {
  resumesCallbacks.add(impl);
  return impl;
}

/** Whether a call to `impl` may come back asleep (kernel: might_sleep, or a callback that may). */
export function mayReturnAsleep(impl: HelperImpl | undefined): boolean {
  return impl !== undefined && (sleepable.has(impl) || resumesCallbacks.has(impl));
}
