// The JIT as an engine with the interpreter's signature: pass `new JitEngine().run` as
// VmOptions.engine. Registers go in and out through a small scratch block of the arena;
// helpers, region checks and faults are imported JS functions bound to a per-instance state.
//
// Safety follows the VM's mode, as in the interpreter. Checked (the default, and what runs
// without the verifier should use): every access that is not a constant r10 offset is checked
// against the region table, and the instruction budget stops loops (tested where the
// interpreter tests it: after taken jumps and calls). Unchecked: Wasm's bounds check against the arena still keeps the host safe, but an
// unverified program may then scribble anywhere in the arena, the JIT's scratch block included.
// Programs the JIT cannot compile (e.g. a function past V8's body size limit) and entries it has
// no function for run on the interpreter instead (counted in stats.interpreted).
import { RuntimeFault } from '../errors.ts';
import { type Arena, GRANULE, REGION_STRIDE } from '../vm/arena.ts';
import { interpret } from '../vm/interp.ts';
import {
  budgetFault,
  callHelper,
  fault,
  type Machine,
  MAX_CALL_FRAMES,
  memFault,
  negativeLoadAddr,
} from '../vm/machine.ts';
import type { LoadedProgram } from '../vm/program.ts';
import { CALLBACK_LEVELS } from '../vm/vm.ts';
import { SLOT_WORDS } from '../vm/program.ts';
import type { SuspendPoint } from '../vm/sleep.ts';
import { type CacheStats, JitCache } from './cache.ts';
import {
  type CompiledProgram,
  FAULT_BUDGET,
  FAULT_CALL_DEPTH,
  FAULT_CALLBACK_DEPTH,
  FAULT_FELL_OFF,
  SC_BUDGET,
  SC_COUNT,
  SC_FLOOR,
  SC_REGS,
  SC_WINDOW,
  SCRATCH_SIZE,
} from './compile.ts';
import { linkResumable, type ResumeState, resumeRun, SLEEPING, sleptAt } from './engine-resume.ts';

export interface JitOptions {
  /** Compile every function as a br_table dispatcher (tests, measurements). */
  dispatch?: boolean;
  /** Test the budget after every taken jump, as the interpreter (default true; compile.ts). */
  exactBudget?: boolean;
}

export interface JitStats extends CacheStats {
  /** Runs that started at a slot the JIT has no function for, run by the interpreter instead. */
  interpreted: number;
}

/** What the imported functions of one instance see: the run in progress. */
export interface RunState {
  m: Machine;
  prog: LoadedProgram;
  lo: Int32Array;
  hi: Int32Array;
  /** A tail call's target, or SLEEPING when a sleepable helper suspended the run (engine-resume.ts). */
  tailTarget: LoadedProgram | undefined;
  /** Runs of this instance in progress (a helper's callback may run the same program). */
  active: number;
  /** Resumable modules only. */
  resume?: ResumeState;
}

type ArgsEntry = (...regs: number[]) => number;

export interface Linked {
  compiled: CompiledProgram;
  /** i32-argument wrappers (see compile.ts argsEntry). */
  argEntries: Map<number, ArgsEntry>;
  mainArgs: ArgsEntry;
  /** The same with only r1 (r2..r5 zero): one context pointer, the common case. */
  mainArg1: ArgsEntry;
  /** What the scratch block holds, shared by every instance in one arena. */
  scratch: { budget: number; floor: number };
  /** The module compiles bpf_loop in place and needs the stack floor (SC_FLOOR). */
  needsFloor: boolean;
  /** Exported wrapper per function entry slot; `main` is slot 0's. */
  entries: Map<number, () => void>;
  main: () => void;
  /** Address of the scratch block registers travel through. */
  sc: number;
  st: RunState;
}

// Word offsets in the scratch block, copied into module constants: tsx turns imported bindings
// into getter calls, which the per-run path cannot afford.
const REGS_W = SC_REGS / 4;
const COUNT_W = SC_COUNT / 4;
const BUDGET_W = SC_BUDGET / 4;
const WINDOW_W = SC_WINDOW / 4;
const FLOOR_W = SC_FLOOR / 4;
const GRANULE_SHIFT = Math.log2(GRANULE);
const callHelperFn = callHelper;

/** Thrown by the ldabs import when an out-of-bounds LD_ABS/LD_IND in a subprogram ends the run. */
class ProgramExit {}

const dummyState = (): RunState => ({
  m: undefined as unknown as Machine,
  prog: undefined as unknown as LoadedProgram,
  lo: new Int32Array(0),
  hi: new Int32Array(0),
  tailTarget: undefined,
  active: 0,
});

export class JitEngine {
  /** Checked mode (region checks on every access that is not a constant r10 offset) follows the VM. */
  private readonly caches: { checked: JitCache; unchecked: JitCache };
  private readonly scratchOf = new WeakMap<Arena, number>();
  private readonly scratchState = new WeakMap<Arena, { budget: number; floor: number }>();
  private readonly linkedOf = new WeakMap<Arena, WeakMap<CompiledProgram, Linked>>();
  private interpreted = 0;
  // One-entry memo for the common case of running the same program again.
  private lastProg: LoadedProgram | undefined;
  private lastArena: Arena | undefined;
  private lastChecked = false;
  private lastLinked: Linked | undefined;

  constructor(opts: JitOptions = {}) {
    this.caches = {
      checked: new JitCache({ checked: true, dispatch: opts.dispatch, exactBudget: opts.exactBudget }),
      unchecked: new JitCache({ checked: false, dispatch: opts.dispatch, exactBudget: opts.exactBudget }),
    };
    // Engine.prepare (src/vm/vm.ts): test runs compile before they start timing.
    Object.assign(this.run, { prepare: this.prepare });
  }

  /** Compiles and instantiates `prog` for the machine's arena and mode now, not at its first run. */
  readonly prepare = (m: Machine, prog: LoadedProgram): void => {
    this.tryLink(m.arena, prog, m.checked);
  };

  get stats(): JitStats {
    const a = this.caches.checked.stats;
    const b = this.caches.unchecked.stats;
    return {
      compiles: a.compiles + b.compiles,
      hits: a.hits + b.hits,
      compileMs: a.compileMs + b.compileMs,
      interpreted: this.interpreted,
    };
  }

  /** Compiles (or finds in the cache) without running. */
  compile(prog: LoadedProgram, checked = true): CompiledProgram {
    return (checked ? this.caches.checked : this.caches.unchecked).get(prog);
  }

  /**
   * Same contract as interpret(): r0 ends in lo[0]/hi[0]; returns the instruction count. Like
   * the interpreter it trusts the arena's views to be current (Vm.run syncs them).
   */
  readonly run = (
    m: Machine,
    prog: LoadedProgram,
    lo: Int32Array,
    hi: Int32Array,
    entry = 0,
    resume?: SuspendPoint,
  ): number => {
    if (resume !== undefined) return resumeRun(this, m, prog, lo, hi, resume);
    const arena = m.arena;
    const checked = m.checked;
    const linked =
      prog === this.lastProg && arena === this.lastArena && checked === this.lastChecked
        ? this.lastLinked!
        : this.tryLink(arena, prog, checked);
    if (linked === undefined) {
      this.interpreted++;
      return interpret(m, prog, lo, hi, entry);
    }
    const st = linked.st;
    const i32 = arena.i32;
    // The fast path: entry 0, not nested, and r0, r6..r9 zero (as in every Vm run), so the
    // registers travel as i32 arguments.
    if (
      entry !== 0 ||
      st.active !== 0 ||
      i32.length === 0 ||
      (lo[0]! | hi[0]! | lo[6]! | hi[6]! | lo[7]! | hi[7]! | lo[8]! | hi[8]! | lo[9]! | hi[9]! | hi[10]!) !==
        0
    )
      return this.runGeneral(m, prog, lo, hi, entry, linked);
    this.setBudget(linked, m, i32);
    // m.regLo/regHi are set by the helper imports, before each helper call.
    st.active = 1;
    st.m = m;
    st.prog = prog;
    st.lo = lo;
    st.hi = hi;
    st.tailTarget = undefined;
    try {
      if ((lo[2]! | hi[2]! | lo[3]! | hi[3]! | lo[4]! | hi[4]! | lo[5]! | hi[5]!) === 0)
        linked.mainArg1(lo[1]!, hi[1]!, lo[10]!);
      else
        linked.mainArgs(
          lo[1]!,
          hi[1]!,
          lo[2]!,
          hi[2]!,
          lo[3]!,
          hi[3]!,
          lo[4]!,
          hi[4]!,
          lo[5]!,
          hi[5]!,
          lo[10]!,
        );
    } catch (e) {
      st.active = 0;
      return this.caught(e, linked, prog, lo, hi);
    }
    st.active = 0;
    if (st.tailTarget !== undefined) {
      if (st.tailTarget === SLEEPING) throw sleptAt(linked, arena, 0);
      // The argument entry left r10 out of the scratch block; the target's entry reads it there.
      const k = (linked.sc >> 2) + REGS_W + 20;
      arena.i32[k] = lo[10]!;
      arena.i32[k + 1] = 0;
      return this.runLoop(m, st.tailTarget, lo, hi, linked, undefined);
    }
    return this.finish(linked.sc, arena, lo, hi);
  };

  setBudget(linked: Linked, m: Machine, i32: Int32Array): void {
    if (linked.needsFloor) this.setFloor(linked, m, i32);
    const budget = m.budget;
    if (budget === linked.scratch.budget) return;
    const b = (linked.sc >> 2) + BUDGET_W;
    i32[b] = budget < 2147483648 ? budget : -1;
    i32[b + 1] = budget < 2147483648 ? 0 : 0x7fffffff;
    linked.scratch.budget = budget;
  }

  /** Inlined bpf_loop callbacks must stop where the VM's callback levels end (vm.ts enter()). */
  private setFloor(linked: Linked, m: Machine, i32: Int32Array): void {
    const floor = (m as Partial<{ stackBase: number }>).stackBase ?? 0;
    if (floor === linked.scratch.floor) return;
    i32[(linked.sc >> 2) + FLOOR_W] = floor;
    linked.scratch.floor = floor;
  }

  private finish(sc: number, arena: Arena, lo: Int32Array, hi: Int32Array): number {
    const j = arena.i32;
    const base = sc >> 2;
    lo[0] = j[base + REGS_W]!;
    hi[0] = j[base + REGS_W + 1]!;
    return (j[base + COUNT_W]! >>> 0) + j[base + COUNT_W + 1]! * 4294967296;
  }

  private caught(e: unknown, linked: Linked, prog: LoadedProgram, lo: Int32Array, hi: Int32Array): number {
    if (e instanceof ProgramExit) {
      lo[0] = 0;
      hi[0] = 0;
      return readCount(linked.st.m.arena, linked.sc);
    }
    throw translate(e, linked, prog);
  }

  /** Any entry, any registers, nested runs: registers go through the scratch block. */
  private runGeneral(
    m: Machine,
    prog: LoadedProgram,
    lo: Int32Array,
    hi: Int32Array,
    entry: number,
    linked: Linked,
  ): number {
    const fn = linked.entries.get(entry);
    if (fn === undefined) {
      this.interpreted++;
      return interpret(m, prog, lo, hi, entry);
    }
    const arena = m.arena;
    if (arena.i32.length === 0) arena.sync();
    const i32 = arena.i32;
    const base = linked.sc >> 2;
    this.setBudget(linked, m, i32);
    for (let r = 0; r <= 10; r++) {
      i32[base + 2 * r] = lo[r]!;
      i32[base + 2 * r + 1] = hi[r]!;
    }
    i32[base + COUNT_W] = 0;
    i32[base + COUNT_W + 1] = 0;
    m.regLo = lo;
    m.regHi = hi;
    return this.runLoop(m, prog, lo, hi, linked, fn, entry);
  }

  /**
   * Runs `fn` of `linked` (or, with fn undefined, starts `prog` as a tail-call target) with the
   * registers already in the scratch block, then follows tail calls.
   */
  runLoop(
    m: Machine,
    prog: LoadedProgram,
    lo: Int32Array,
    hi: Int32Array,
    linked: Linked,
    fn: (() => void) | undefined,
    /** The slot `fn` enters (a callback's, or 0), for a suspend point. */
    entry = 0,
  ): number {
    const arena = m.arena;
    const checked = m.checked;
    for (;;) {
      if (fn === undefined) {
        // kernel: bpf_tail_call() — the target starts over in the same frame, registers kept
        // (they are in the scratch block, as is the instruction count).
        const next = this.tryLink(arena, prog, checked);
        if (next === undefined) {
          // Continue on the interpreter from the registers and count in the scratch block.
          const j = arena.i32;
          const base = linked.sc >> 2;
          for (let r = 0; r <= 10; r++) {
            lo[r] = j[base + REGS_W + 2 * r]!;
            hi[r] = j[base + REGS_W + 2 * r + 1]!;
          }
          const n = readCount(arena, linked.sc);
          this.interpreted++;
          return n + interpret(m, prog, lo, hi, 0);
        }
        linked = next;
        fn = linked.main;
        this.setBudget(linked, m, arena.i32);
      }
      const st = linked.st;
      const saved = st.active > 0 ? { ...st } : undefined;
      st.active++;
      st.m = m;
      st.prog = prog;
      st.lo = lo;
      st.hi = hi;
      st.tailTarget = undefined;
      let asleep = false;
      try {
        fn();
        // Seen before a nested run's finally puts the outer run's state back.
        asleep = st.tailTarget === SLEEPING;
      } catch (e) {
        return this.caught(e, linked, prog, lo, hi);
      } finally {
        if (saved) Object.assign(st, saved);
        else st.active--;
      }
      const target = asleep ? SLEEPING : st.tailTarget;
      if (target === undefined) break;
      if (target === SLEEPING) throw sleptAt(linked, arena, entry);
      prog = target;
      fn = undefined;
      entry = 0;
    }
    return this.finish(linked.sc, arena, lo, hi);
  }

  private readonly uncompilable = new WeakSet<LoadedProgram>();

  /** link(), or undefined when the program cannot be compiled (it then runs interpreted). */
  tryLink(arena: Arena, prog: LoadedProgram, checked: boolean): Linked | undefined {
    if (this.uncompilable.has(prog)) return undefined;
    try {
      return this.link(arena, prog, checked);
    } catch (e) {
      if (!(e instanceof WebAssembly.CompileError)) throw e;
      this.uncompilable.add(prog);
      return undefined;
    }
  }

  private link(arena: Arena, prog: LoadedProgram, checked: boolean): Linked {
    const compiled = this.compile(prog, checked);
    let byArena = this.linkedOf.get(arena);
    if (!byArena) {
      byArena = new WeakMap();
      this.linkedOf.set(arena, byArena);
      const sc = arena.alloc(SCRATCH_SIZE, 8, { kind: 'scratch', writable: false, name: 'jit scratch' });
      // An empty window: checked programs can never reach the scratch block.
      arena.setWindow(sc, sc, sc);
      this.scratchOf.set(arena, sc);
      this.scratchState.set(arena, { budget: -1, floor: -1 });
    }
    let linked = byArena.get(compiled);
    if (!linked) {
      linked = compiled.resumable
        ? linkResumable(compiled, arena, (rs) =>
            instantiate(compiled, arena, this.scratchOf.get(arena)!, this.scratchState.get(arena)!, rs),
          )
        : instantiate(compiled, arena, this.scratchOf.get(arena)!, this.scratchState.get(arena)!);
      byArena.set(compiled, linked);
    }
    this.lastProg = prog;
    this.lastArena = arena;
    this.lastChecked = checked;
    this.lastLinked = linked;
    return linked;
  }
}

let shared: JitEngine | undefined;

/** One engine per process, so VMs share compiled modules (testRun, collections, the CLI). */
export function sharedJitEngine(): JitEngine {
  shared ??= new JitEngine();
  return shared;
}

function readCount(arena: Arena, sc: number): number {
  const j = arena.i32;
  const k = (sc >> 2) + COUNT_W;
  return (j[k]! >>> 0) + j[k + 1]! * 4294967296;
}

export function instantiate(
  compiled: CompiledProgram,
  arena: Arena,
  sc: number,
  scratch: { budget: number; floor: number },
  resume?: ResumeState,
): Linked {
  const st = dummyState();
  if (resume) st.resume = resume;
  const base = sc >> 2;
  const e: Record<string, (...a: number[]) => number | undefined> = {};
  const imp = compiled.imports;
  e.fault = (kind, slot) => {
    if (kind === FAULT_FELL_OFF) throw fault(st.prog, slot!, 'pc', 'fell off the end of the program');
    if (kind === FAULT_BUDGET) throw budgetFault(st.prog, slot!, st.m.budget);
    if (kind === FAULT_CALL_DEPTH)
      throw fault(st.prog, slot!, 'call', `call stack too deep (more than ${MAX_CALL_FRAMES} frames)`);
    // As Vm.callFunction throws it from inside bpf_loop, and callHelper places it at the call.
    if (kind === FAULT_CALLBACK_DEPTH)
      throw new RuntimeFault('call', `callbacks nested more than ${CALLBACK_LEVELS} levels deep`, {
        where: { prog: st.prog.name, insnIdx: slot! },
      });
    throw fault(st.prog, slot!, 'jit', `unknown fault kind ${kind}`);
  };
  const views = (): Int32Array => {
    // A grown memory detaches the old buffer; the arena refreshes its views when it grows, but
    // someone else might have grown it.
    if (arena.i32.length === 0) arena.sync();
    return arena.i32;
  };
  const afterCall = (): void => {
    const i32 = views();
    i32[base] = st.lo[0]!;
    i32[base + 1] = st.hi[0]!;
  };
  const argsIn = (): void => {
    const i32 = views();
    const { lo, hi, m } = st;
    for (let r = 1; r <= 5; r++) {
      lo[r] = i32[base + 2 * r]!;
      hi[r] = i32[base + 2 * r + 1]!;
    }
    m.regLo = lo;
    m.regHi = hi;
  };
  if (imp.has('helper') && resume) e.helper = resume.helperImport(st, argsIn, afterCall);
  else if (imp.has('helper'))
    // The hot import: unrolled, no destructuring, no imported bindings (module constants).
    e.helper = (k, slot, depth) => {
      let i32 = arena.i32;
      if (i32.length === 0) i32 = views();
      const lo = st.lo;
      const hi = st.hi;
      const m = st.m;
      const prog = st.prog;
      lo[1] = i32[base + 2]!;
      hi[1] = i32[base + 3]!;
      lo[2] = i32[base + 4]!;
      hi[2] = i32[base + 5]!;
      lo[3] = i32[base + 6]!;
      hi[3] = i32[base + 7]!;
      lo[4] = i32[base + 8]!;
      hi[4] = i32[base + 9]!;
      lo[5] = i32[base + 10]!;
      hi[5] = i32[base + 11]!;
      m.regLo = lo;
      m.regHi = hi;
      callHelperFn(m, prog, slot!, prog.helperFns[k!]!, lo, hi);
      // The helper may have grown the memory.
      i32 = arena.i32;
      if (i32.length === 0) i32 = views();
      i32[base] = lo[0]!;
      i32[base + 1] = hi[0]!;
      if (m.tailCallTarget === undefined) return 0;
      const target = m.tailCallTarget;
      m.tailCallTarget = undefined;
      if (depth !== 0) throw fault(prog, slot!, 'call', 'tail call from a subprogram is not supported');
      st.tailTarget = target;
      return 1;
    };
  if (imp.has('callx'))
    e.callx = (idLo, idHi, slot) => {
      argsIn();
      const { m, prog } = st;
      const h = idHi === 0 ? m.helpers.get(idLo!) : undefined;
      const d = (prog.code[slot! * SLOT_WORDS]! >> 12) & 15;
      if (!h) throw fault(prog, slot!, 'call', `callx to unknown helper id ${idLo} (in r${d})`);
      callHelper(m, prog, slot!, h.impl, st.lo, st.hi);
      afterCall();
      // As in the interpreter, a tail call requested through callx waits for the next helper call.
      return 0;
    };
  if (imp.has('ldabs'))
    e.ldabs = (off, size, slot, depth) => {
      const pk = st.m.packet;
      if (!pk) throw fault(st.prog, slot!, 'ld_abs', 'LD_ABS/LD_IND needs a packet context');
      const o = off!;
      const a = o >= 0 ? (o + size! <= pk.len ? pk.start + o : -1) : negativeLoadAddr(pk, o, size!);
      if (a < 0 && depth !== 0) throw new ProgramExit();
      return a;
    };
  if (imp.has('chk'))
    e.chk = (lo, hi, slot) => {
      const info = compiled.memInfo[slot!]!;
      const size = info & 15;
      const write = info >= 16;
      const a = (lo! >>> 0) + st.prog.code[slot! * SLOT_WORDS + 1]!;
      const arena = st.m.arena;
      if (hi !== 0 || !arena.check(a, size, write)) throw memFault(st.m, st.prog, slot!, a, hi!, size, write);
      // Hand the region's window back, so the next accesses to it skip this call.
      const k = arena.gran[a >>> GRANULE_SHIFT]! * REGION_STRIDE;
      const i32 = views();
      i32[base + WINDOW_W] = arena.regTable[k]!;
      i32[base + WINDOW_W + 1] = 0;
      i32[base + WINDOW_W + 2] = arena.regTable[k + 1]!;
      i32[base + WINDOW_W + 3] = 0;
      return undefined;
    };
  const instance = new WebAssembly.Instance(compiled.module, {
    m: {
      mem: arena.memory,
      sc: new WebAssembly.Global({ value: 'i32', mutable: false }, sc),
      ...(resume ? { rs: new WebAssembly.Global({ value: 'i32', mutable: false }, resume.rs) } : {}),
    },
    e,
  });
  const fns = instance.exports as unknown as Record<string, () => void>;
  const entries = new Map<number, () => void>();
  const argEntries = new Map<number, ArgsEntry>();
  for (const [slot, name] of compiled.exports) {
    entries.set(slot, fns[name]!);
    argEntries.set(slot, fns[`a${slot}`] as unknown as ArgsEntry);
  }
  return {
    compiled,
    entries,
    main: entries.get(0)!,
    argEntries,
    mainArgs: argEntries.get(0)!,
    mainArg1: fns.b0 as unknown as ArgsEntry,
    scratch,
    needsFloor: compiled.inlinedLoops.size > 0,
    sc,
    st,
  };
}

/** Wasm traps become RuntimeFaults naming the instruction (found from the trap's code offset). */
function translate(e: unknown, linked: Linked, prog: LoadedProgram): unknown {
  if (e instanceof RuntimeFault) return e;
  if (e instanceof WebAssembly.RuntimeError) {
    const slot = trapSlot(e, linked.compiled);
    const at = slot ?? 0;
    const what = /out of bounds/.test(e.message) ? 'memory access outside the arena' : 'trap';
    const f = fault(prog, at, 'mem', `${what} (${e.message})`);
    if (slot === undefined) delete f.where.insnIdx;
    return f;
  }
  return e;
}

function trapSlot(e: Error, c: CompiledProgram): number | undefined {
  const m = /wasm-function\[(\d+)\]:0x([0-9a-f]+)/.exec(e.stack ?? '');
  if (!m) return undefined;
  const k = Number(m[1]) - c.imports.size;
  const fi = c.funcs[k];
  if (!fi) return undefined;
  const pos = Number.parseInt(m[2]!, 16) - fi.codeStart;
  let slot: number | undefined;
  for (let i = 0; i < fi.marks.length; i += 2) {
    if (fi.marks[i]! > pos) break;
    slot = fi.marks[i + 1];
  }
  return slot;
}
