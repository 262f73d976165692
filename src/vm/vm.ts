// The VM: an arena, a stack, a helper table and the interpreter, plus the HelperCtx helpers see.
import type { Where } from '../errors.ts';
import { RuntimeFault, UsageError } from '../errors.ts';
import { type Insn, insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import { Arena } from './arena.ts';
import { baseHelpers, HelperTable } from './helpers.ts';
import { registerMapHelpers, type VmMap } from './maps.ts';
import { interpret, MAX_CALL_FRAMES, type Machine, type PacketWindow } from './interp.ts';
import { type InsnHook, MAX_TAIL_CALL_CNT } from './machine.ts';
import { type PacketCtx, registerPacketHelpers } from './packet-helpers.ts';
import { type LddwResolver, type LoadedProgram, loadProgram } from './program.ts';
import { type CallbackPoint, SleepRequest, type SuspendPoint } from './sleep.ts';

/**
 * Nested runs a VM allows: a program, a callback it starts (bpf_loop, bpf_for_each_map_elem),
 * a callback that callback starts, ... The kernel counts callbacks as call frames, so at most
 * MAX_CALL_FRAMES levels can be live.
 */
export const CALLBACK_LEVELS = MAX_CALL_FRAMES;
/** Frames the stack region holds: MAX_CALL_FRAMES per nesting level. */
export const STACK_FRAMES = MAX_CALL_FRAMES * CALLBACK_LEVELS;
export const DEFAULT_BUDGET = 1e9;
/**
 * Stack bytes one nesting level owns. A module constant: tsx turns imported bindings into
 * getter calls, which a per-run path cannot afford.
 */
const LEVEL_STACK = MAX_CALL_FRAMES * op.MAX_BPF_STACK;

/**
 * Runs a loaded program; the interpreter's signature, so a JIT can stand in for it. `resume`
 * goes on from where a SleepRequest stopped the program (vm/sleep.ts) instead of `entry`.
 */
export interface Engine {
  (
    m: Machine,
    prog: LoadedProgram,
    lo: Int32Array,
    hi: Int32Array,
    entry: number,
    resume?: SuspendPoint,
  ): number;
  /**
   * Does the first-run work (a JIT's compilation and instantiation) ahead of a run, so that
   * timed runs time the program only.
   */
  prepare?: (m: Machine, prog: LoadedProgram) => void;
}

/** A program stopped by a SleepRequest: its point plus the registers and stack it left. */
export interface SleepSnapshot {
  readonly point: SuspendPoint;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** The outermost level's stack frames (MAX_CALL_FRAMES of them). */
  readonly stack: Uint8Array;
  readonly packet: PacketWindow | undefined;
  /** Callbacks that slept inside the program's helper call, innermost first. */
  readonly callbacks: readonly CallbackPoint[];
}

export interface VmOptions {
  /** What runs programs (default: the interpreter; src/jit's JitEngine.run compiles to Wasm). */
  engine?: Engine;
  arena?: Arena;
  helpers?: HelperTable;
  /** Check every memory access against the region table (default true). */
  checked?: boolean;
  /** Instruction budget per run (default 1e9). */
  budget?: number;
  /** Seed of bpf_get_prandom_u32 (default: random). */
  seed?: number;
  /** Clock for bpf_ktime_get_*_ns, in nanoseconds (default: performance.now()). */
  clock?: () => number;
  /** Sink for bpf_trace_printk lines (default: dropped). */
  printk?: (line: string) => void;
  /** What bpf_get_smp_processor_id returns (default 0). */
  cpu?: number;
}

export interface RunOptions {
  /** r1..r5 at entry (numbers are taken as u64 when non-negative, sign-extended otherwise). */
  args?: readonly (number | bigint)[];
  /** Packet for LD_ABS/LD_IND. */
  packet?: PacketWindow;
  /** Slot to start at (default 0). */
  entry?: number;
}

/** r0 at exit, as halves, plus the instruction count. */
export class RunResult {
  constructor(
    readonly lo: number,
    readonly hi: number,
    /** Instructions executed. */
    readonly insns: number,
  ) {}

  /** r0 as an unsigned 64-bit BigInt. */
  get value(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  /** Low 32 bits of r0, unsigned (what BPF_PROG_TEST_RUN reports as retval). */
  get u32(): number {
    return this.lo >>> 0;
  }
}

export class Vm implements Machine {
  readonly arena: Arena;
  readonly helpers: HelperTable;
  /** kfuncs by id (empty unless a runtime registers some; ids are the runtime's choice). */
  readonly kfuncs = new HelperTable();
  readonly checked: boolean;
  readonly budget: number;
  readonly cpu: number;
  readonly engine: Engine;
  packet: PacketWindow | undefined;
  /** Sees every instruction the interpreter runs (step traces); the JIT ignores it. */
  onInsn: InsnHook | undefined = undefined;
  tailCallTarget: LoadedProgram | undefined;
  private tailCallCount = 0;
  regLo = new Int32Array(16);
  regHi = new Int32Array(16);
  /** Address one past the stack region: r10 of the outermost frame. */
  readonly stackTop: number;
  readonly stackBase: number;

  private readonly clock: () => number;
  private readonly sink: (line: string) => void;
  private rngState: number;
  private running = 0;
  /** Registers of nested runs, one pair per level, reused so callbacks allocate nothing. */
  private readonly levelLo: Int32Array[] = [];
  private readonly levelHi: Int32Array[] = [];
  private readonly maps = new Map<number, VmMap>();
  /** Programs whose engine work prepare() has done. */
  private readonly prepared = new WeakSet<LoadedProgram>();
  /**
   * Set by runtime/sleep while it runs a program: a SleepRequest may then leave run(). Otherwise
   * (a synchronous run, or a callback) sleeping is a RuntimeFault.
   */
  sleepAllowed = false;
  /** Callbacks still to resume, outermost last: the resumed helper calls take them (vm/sleep.ts). */
  private pendingCallbacks: CallbackPoint[] = [];
  /** Context pointer → packet bookkeeping, for the packet helpers (filled by test runs). */
  readonly packetCtx = new Map<number, PacketCtx>();

  constructor(opts: VmOptions = {}) {
    this.arena = opts.arena ?? new Arena();
    this.helpers =
      opts.helpers ??
      defaultHelpers(
        (ptr) => this.maps.get(ptr),
        (ctx) => this.packetCtx.get(ctx),
      );
    this.checked = opts.checked ?? true;
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.cpu = opts.cpu ?? 0;
    this.engine = opts.engine ?? interpret;
    this.clock = opts.clock ?? defaultClock;
    this.sink = opts.printk ?? (() => {});
    this.rngState = (opts.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    const size = STACK_FRAMES * op.MAX_BPF_STACK;
    this.stackBase = this.arena.alloc(size, 16, { kind: 'stack', writable: true, name: 'stack' });
    this.stackTop = this.stackBase + size;
  }

  /** Makes a map reachable from the map helpers through its pointer. */
  registerMap(m: VmMap): void {
    this.maps.set(m.ptr, m);
  }

  mapAt(ptr: number): VmMap | undefined {
    return this.maps.get(ptr);
  }

  /** Validates and pre-decodes a program for this VM's helper table. */
  load(insns: readonly Insn[], opts: { name?: string; resolveLddw?: LddwResolver; where?: Where } = {}) {
    return loadProgram(insns, { ...opts, helpers: this.helpers, kfuncs: this.kfuncs });
  }

  /**
   * The engine's first-run work for `prog` (compiling it), done now rather than in a run.
   * Returns false when there was nothing to do (no such work, or done before).
   */
  prepare(prog: LoadedProgram): boolean {
    if (this.prepared.has(prog)) return false;
    this.prepared.add(prog);
    const warmed = this.warmUp();
    if (!this.engine.prepare) return warmed;
    this.engine.prepare(this, prog);
    return true;
  }

  /**
   * The first interpreted run in a process paid for V8 compiling the interpreter's big switch
   * (milliseconds), which is not the program's time: a two-instruction program (no memory, no
   * helpers) takes it first. Engines with prepare() warm themselves up there.
   */
  private warmUp(): boolean {
    if (this.engine !== interpret || interpreterWarm) return false;
    interpreterWarm = true;
    const warmUp = this.load([insn(op.CLASS_ALU64 | op.ALU_MOV | op.SRC_K), insn(op.OP_EXIT)], {
      name: 'warm-up',
    });
    // A step recorder must not see the warm-up.
    const hook = this.onInsn;
    this.onInsn = undefined;
    try {
      this.runRepeated(warmUp, 0, 1);
    } finally {
      this.onInsn = hook;
    }
    return true;
  }

  /**
   * Runs a program. A helper may call run() again while a program runs (callbacks such as
   * bpf_loop): the nested run gets fresh registers and its own CALLBACK_LEVELS-th of the stack.
   */
  run(prog: LoadedProgram, opts: RunOptions = {}): RunResult {
    const args = opts.args ?? [];
    if (args.length > 5) throw new UsageError('vm: at most 5 arguments (r1..r5)');
    const { lo, hi } = this.enter();
    for (let i = 0; i < args.length; i++) {
      const v = args[i]!;
      // Pointers and small values skip BigInt, whose conversions cost more than a short run.
      if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) {
        lo[i + 1] = v | 0;
        hi[i + 1] = v < 0 ? -1 : 0;
        continue;
      }
      const b = BigInt.asUintN(64, BigInt(v));
      lo[i + 1] = Number(BigInt.asIntN(32, b));
      hi[i + 1] = Number(BigInt.asIntN(32, b >> 32n));
    }
    return this.exec(prog, lo, hi, opts.entry ?? 0, opts.packet);
  }

  /** What a SleepRequest that left run() or resume() stopped: copies, so other runs may follow. */
  snapshotSleep(req: SleepRequest): SleepSnapshot {
    if (req.point === undefined) throw new UsageError('vm: the sleep request was not caught by an engine');
    const top = this.stackTop;
    return {
      point: req.point,
      lo: this.regLo.slice(),
      hi: this.regHi.slice(),
      stack: this.arena.u8.slice(top - LEVEL_STACK, top),
      packet: this.packet,
      callbacks: req.callbacks.slice(),
    };
  }

  /** Goes on with a program stopped by a SleepRequest, from its snapshot (see runtime/sleep). */
  resume(snap: SleepSnapshot): RunResult {
    const { lo, hi } = this.enter();
    if (this.running !== 0) throw new UsageError('vm: resume inside a run');
    lo.set(snap.lo);
    hi.set(snap.hi);
    this.arena.u8.set(snap.stack, this.stackTop - LEVEL_STACK);
    this.pendingCallbacks = snap.callbacks.slice();
    return this.exec(snap.point.prog, lo, hi, 0, snap.packet, snap.point);
  }

  /**
   * For a helper that runs callbacks, at the start of its call: the callback to go on with when
   * this call is the one a resumed program runs again (its `cont` says where the helper was),
   * else undefined.
   */
  takeCallbackResume(): CallbackPoint | undefined {
    return this.pendingCallbacks.pop();
  }

  /** Goes on with a callback that slept (from takeCallbackResume), on the next callback level. */
  resumeCallback(cb: CallbackPoint): RunResult {
    const level = this.running;
    const { lo, hi } = this.enter();
    lo.set(cb.lo);
    hi.set(cb.hi);
    this.arena.u8.set(cb.stack, this.stackTop - (level + 1) * LEVEL_STACK);
    return this.exec(cb.point.prog, lo, hi, 0, undefined, cb.point, cb.cont);
  }

  /**
   * Calls the function at slot `pc` of `prog` with r1..r5 = the given u32 values (pointers,
   * indexes) on fresh registers and stack frames: what bpf_loop, bpf_for_each_map_elem and
   * bpf_timer callbacks need. May be called from a helper while a program runs.
   */
  callFunction(prog: LoadedProgram, pc: number, r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0): RunResult {
    return this.callFunctionResumable(-1, prog, pc, r1, r2, r3, r4, r5);
  }

  /**
   * callFunction for a helper that can go on after the callback slept: the callback's state
   * and `cont` (>= 0, the helper's position) leave with the SleepRequest, and come back through
   * takeCallbackResume() when the program's call to the helper runs again. With cont < 0 a
   * callback that would sleep is a RuntimeFault.
   */
  callFunctionResumable(
    cont: number,
    prog: LoadedProgram,
    pc: number,
    r1 = 0,
    r2 = 0,
    r3 = 0,
    r4 = 0,
    r5 = 0,
  ): RunResult {
    const { lo, hi } = this.enter();
    lo[1] = r1 | 0;
    lo[2] = r2 | 0;
    lo[3] = r3 | 0;
    lo[4] = r4 | 0;
    lo[5] = r5 | 0;
    return this.exec(prog, lo, hi, pc, undefined, undefined, cont);
  }

  /**
   * BPF_PROG_TEST_RUN's loop: runs `prog` `repeat` times with r1 = `r1` (a context pointer, or
   * 0), each run on fresh registers, and returns the last run's result. As in the kernel
   * nothing else is reset between runs: the context, the packet and the stack keep what the
   * previous run left. Everything that is the same for every run is done once, outside the loop.
   * kernel: bpf_test_run()
   */
  runRepeated(prog: LoadedProgram, r1: number, repeat: number, packet?: PacketWindow): RunResult {
    if (!Number.isInteger(r1) || r1 < 0 || r1 > 0xffffffff) throw new UsageError(`vm: r1 ${r1} is not a u32`);
    const { lo, hi } = this.enter();
    const fp = lo[10]!;
    const ctx = r1 | 0;
    const nested = this.running > 0;
    const outerLo = this.regLo;
    const outerHi = this.regHi;
    const outerPacket = this.packet;
    this.packet = packet ?? (nested ? outerPacket : undefined);
    this.syncViews();
    const engine = this.engine;
    this.running++;
    let n = 0;
    try {
      for (let i = 0; i < repeat; i++) {
        freshRegs(lo, hi, fp);
        lo[1] = ctx;
        this.tailCallTarget = undefined;
        if (!nested) this.tailCallCount = 0;
        n = engine(this, prog, lo, hi, 0);
      }
      return new RunResult(lo[0]!, hi[0]!, n);
    } catch (e) {
      // Test runs are synchronous: a program that would sleep needs runSleepable().
      if (e instanceof SleepRequest) throw this.sleepFault(e, nested, prog, true);
      throw e;
    } finally {
      this.running--;
      this.regLo = outerLo;
      this.regHi = outerHi;
      this.packet = outerPacket;
    }
  }

  /**
   * Arena.sync() for the run path: only Wasm code growing the memory behind the arena's back
   * leaves stale views, and that detaches the old buffer, so an empty view is the whole test
   * (cheaper than reading memory.buffer on every run).
   */
  private syncViews(): void {
    if (this.arena.u8.byteLength === 0) this.arena.sync();
  }

  /** Zeroed registers for the next nesting level, r10 at the top of its stack frames. */
  private enter(): { lo: Int32Array; hi: Int32Array } {
    const level = this.running;
    if (level >= CALLBACK_LEVELS)
      throw new RuntimeFault('call', `callbacks nested more than ${CALLBACK_LEVELS} levels deep`);
    let lo: Int32Array = this.regLo;
    let hi: Int32Array = this.regHi;
    if (level > 0) {
      lo = this.levelLo[level] ??= new Int32Array(16);
      hi = this.levelHi[level] ??= new Int32Array(16);
    }
    // Level k owns frames k*8 .. k*8+7, counted down from the top of the stack region.
    freshRegs(lo, hi, this.stackTop - level * LEVEL_STACK);
    return { lo, hi };
  }

  private exec(
    prog: LoadedProgram,
    lo: Int32Array,
    hi: Int32Array,
    entry: number,
    packet: PacketWindow | undefined,
    resume?: SuspendPoint,
    cont = -1,
  ): RunResult {
    const level = this.running;
    const nested = level > 0;
    const outerLo = this.regLo;
    const outerHi = this.regHi;
    const outerPacket = this.packet;
    this.packet = packet ?? (nested ? outerPacket : undefined);
    this.syncViews();
    this.tailCallTarget = undefined;
    if (!nested) this.tailCallCount = 0;
    this.running++;
    try {
      const n = this.engine(this, prog, lo, hi, entry, resume);
      return new RunResult(lo[0]!, hi[0]!, n);
    } catch (e) {
      if (e instanceof SleepRequest) {
        if (!this.sleepAllowed || e.point === undefined || (nested && cont < 0))
          throw this.sleepFault(e, nested, prog, !this.sleepAllowed);
        if (nested) {
          // The helper that ran this callback goes to sleep with it; the engine below records
          // where that helper was called.
          const top = this.stackTop - level * LEVEL_STACK;
          e.callbacks.push({
            point: e.point,
            lo: lo.slice(),
            hi: hi.slice(),
            stack: this.arena.u8.slice(top - LEVEL_STACK, top),
            cont,
          });
          e.point = undefined;
        }
      }
      throw e;
    } finally {
      this.running--;
      this.regLo = outerLo;
      this.regHi = outerHi;
      this.packet = outerPacket;
      if (!nested) this.pendingCallbacks.length = 0;
    }
  }

  /** Why a SleepRequest cannot leave this run, as a RuntimeFault. */
  private sleepFault(e: SleepRequest, nested: boolean, prog: LoadedProgram, sync: boolean): RuntimeFault {
    const waiting = `waiting for ${e.what}`;
    const msg = nested
      ? `a sleepable helper would sleep (${waiting}) inside a callback of a helper that cannot resume it`
      : sync
        ? `the program would sleep (${waiting}); run it with runSleepable()`
        : `a sleepable helper would sleep (${waiting}) where the engine cannot resume (callx in the JIT)`;
    return new RuntimeFault('sleep', msg, {
      where: { prog: prog.name, ...(e.point?.engine === 'interp' ? { insnIdx: e.point.pc } : {}) },
    });
  }

  /**
   * For a bpf_tail_call helper: once the helper returns, the running program is replaced by
   * `target` (same frame, registers kept). Returns false when the run already made
   * MAX_TAIL_CALL_CNT tail calls; the kernel then falls through to the next instruction.
   */
  tailCall(target: LoadedProgram): boolean {
    if (this.running === 0) throw new UsageError('vm: tailCall outside a run');
    if (this.tailCallCount >= MAX_TAIL_CALL_CNT) return false;
    this.tailCallCount++;
    this.tailCallTarget = target;
    return true;
  }

  /** Zeroes the stack (the kernel does not, but tests want repeatable runs). */
  clearStack(): void {
    this.arena.u8.fill(0, this.stackBase, this.stackTop);
  }

  // ---- HelperCtx ----
  argLo(n: number): number {
    return this.regLo[n]!;
  }
  argHi(n: number): number {
    return this.regHi[n]!;
  }
  arg64(n: number): bigint {
    return (BigInt(this.regHi[n]! >>> 0) << 32n) | BigInt(this.regLo[n]! >>> 0);
  }
  prandomU32(): number {
    // mulberry32: small, fast, and good enough for bpf_get_prandom_u32.
    this.rngState = (this.rngState + 0x6d2b79f5) | 0;
    let t = this.rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  nowNs(): number {
    return this.clock();
  }
  printk(line: string): void {
    this.sink(line);
  }
  fault(kind: string, message: string): never {
    throw new RuntimeFault(kind, message);
  }
}

/**
 * r0..r9 zero, r10 = `fp`. Written out: V8 runs 21 stores several times faster than fill()
 * (a builtin call) or a loop, and this is most of a short run's overhead. r11..r15 are never
 * written (programs name r0..r10 only), so they stay zero.
 */
function freshRegs(lo: Int32Array, hi: Int32Array, fp: number): void {
  lo[0] = 0;
  lo[1] = 0;
  lo[2] = 0;
  lo[3] = 0;
  lo[4] = 0;
  lo[5] = 0;
  lo[6] = 0;
  lo[7] = 0;
  lo[8] = 0;
  lo[9] = 0;
  lo[10] = fp;
  hi[0] = 0;
  hi[1] = 0;
  hi[2] = 0;
  hi[3] = 0;
  hi[4] = 0;
  hi[5] = 0;
  hi[6] = 0;
  hi[7] = 0;
  hi[8] = 0;
  hi[9] = 0;
  hi[10] = 0;
}

/** Base helpers plus the map and packet helpers, bound to one VM's registries. */
function defaultHelpers(
  mapAt: (ptr: number) => VmMap | undefined,
  packetAt: (ctx: number) => PacketCtx | undefined,
): HelperTable {
  const t = baseHelpers();
  registerMapHelpers(t, mapAt);
  registerPacketHelpers(t, packetAt);
  return t;
}

/** Whether the interpreter has run once in this process (Vm.warmUp). */
let interpreterWarm = false;

const t0 = performance.now();
function defaultClock(): number {
  // Monotonic, never 0 (programs test "ktime != 0"), nanosecond units.
  return Math.floor((performance.now() - t0) * 1e6) + 1_000_000;
}
