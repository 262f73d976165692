// Compiles a loaded eBPF program to one Wasm module: one function per eBPF function (slot 0,
// bpf-to-bpf call targets, callback entries; R0-R10 are i64 locals), exported wrappers per
// function (`f<slot>` moves registers through a scratch block of the arena, `a<slot>`/`b0` take
// r1..r5 / r1 as i32 arguments), and helpers, region checks and faults as imported JS functions
// (declared only when the program needs them). The module imports the arena's memory, so
// pointers are arena offsets and memory.grow between runs needs nothing from the code.
import { InternalError } from '../errors.ts';
import { MAX_BPF_STACK } from '../isa/opcode.ts';
import { MAX_CALL_FRAMES } from '../vm/machine.ts';
import type { LoadedProgram } from '../vm/program.ts';
import { SLOT_WORDS, X_CALL_LOCAL } from '../vm/program.ts';
import {
  buildCfg,
  type FuncLayout,
  isJump,
  isUncondJump,
  layoutFunction,
  OP_CALL,
  OP_CALLX,
  OP_EXIT,
  OP_LDDW,
  OP_MAY_GOTO,
  type Scope,
} from './cfg.ts';
import { inlineLoopSites, loopHelperIndices } from './inline.ts';
import {
  emitCallSleepCheck,
  emitHelperSleepCheck,
  emitResumePrologue,
  type FrameLocals,
  resumeSplits,
  sleepsAt,
} from './resume.ts';
import { provenAccesses } from './verified.ts';
import { address, loadBigEndian, lowerAlu, lowerCond, lowerMem, memAccess, type Temps } from './lower.ts';
import { FuncBody, type FuncType, ModuleBuilder, type ValType } from './wasm/module.ts';
import { W as OPCODES } from './wasm/opcodes.ts';

const W = OPCODES;

/** kernel: BPF_MAX_LOOPS (may_goto budget per frame), as in the interpreter. */
const BPF_MAX_LOOPS = 8 * 1024 * 1024;

// Scratch block layout (bytes): registers r0..r10, instruction count, budget.
export const SC_REGS = 0;
export const SC_COUNT = 88;
export const SC_BUDGET = 96;
/** Checked mode: the accessible window [start, end) of the region the `chk` import accepted. */
export const SC_WINDOW = 104;
/** Lowest address a callback's stack frames may reach (the VM's stack base; 0 = no limit). */
export const SC_FLOOR = 120;
/**
 * Checked mode: the read and write windows (start, end as i64s) accepted since the last helper
 * call, so a callee (an inlined bpf_loop's callback above all) starts with its caller's.
 */
export const SC_WINCACHE = 128;
export const SCRATCH_SIZE = 160;

/** Fault kinds the `fault` import receives. */
export const FAULT_FELL_OFF = 0;
export const FAULT_BUDGET = 1;
export const FAULT_CALL_DEPTH = 2;
export const FAULT_CALLBACK_DEPTH = 3;

/** kernel: bpf_loop()'s limit and its error returns. */
const BPF_MAX_LOOPS_NR = 1 << 23;
const E2BIG = 7;
const EINVAL = 22;
/** Stack bytes of one callback level (MAX_CALL_FRAMES frames), as the VM lays them out. */
const LEVEL_STACK = MAX_CALL_FRAMES * MAX_BPF_STACK;

export interface CompileOptions {
  /**
   * Check every access that is not a constant r10 offset against the arena's regions: inline
   * against the last accepted window, else through the `chk` import.
   */
  checked: boolean;
  /** Use the br_table dispatcher for every function (for tests and measurements). */
  dispatch?: boolean;
  /**
   * Test the instruction budget after every taken jump, as the interpreter does, so a run that
   * exhausts it stops at the same instruction (default true). False tests it on back edges and
   * calls only: that still bounds every loop, for a few percent on branchy code.
   */
  exactBudget?: boolean;
}

export interface FuncInfo {
  entry: number;
  structured: boolean;
  /** Module offset of the function's instruction stream. */
  codeStart: number;
  /** [code position, insnIdx] pairs, ascending, to map a trap offset to an instruction. */
  marks: Int32Array;
}

export interface CompiledProgram {
  module: WebAssembly.Module;
  /** Entry slot → exported wrapper name. */
  exports: Map<number, string>;
  funcs: FuncInfo[];
  /** Which imports the module declares. */
  imports: Set<ImportName>;
  /** bpf_loop calls compiled in place (slot → callback entry); the engine then sets SC_FLOOR. */
  inlinedLoops: Map<number, number>;
  /** Loads and stores compiled with a region check (checked mode; the rest were proven). */
  checkedAccesses: number;
  /** Per slot, for the `chk` import: size | write << 4. */
  memInfo: Int8Array;
  wasmBytes: number;
  /** Total compile time: our code generation plus WebAssembly.Module (validation, V8's baseline). */
  compileMs: number;
  /** Our part: CFG, structuring, lowering, encoding. */
  codegenMs: number;
  insns: number;
  /** Compiled with resume points (the program calls a sleepable helper; resume.ts). */
  resumable: boolean;
}

export type ImportName = 'fault' | 'helper' | 'callx' | 'ldabs' | 'chk';

const I64x6: ValType[] = [W.I64, W.I64, W.I64, W.I64, W.I64, W.I64];
/** r0..r10 and the call depth in, r0..r5 out (r6..r9 are callee-saved, r10 is fixed). */
const FN_TYPE: FuncType = { params: [...I64x6, ...I64x6.slice(1), W.I32], results: I64x6 };
const IMPORT_TYPES: Record<ImportName, FuncType> = {
  fault: { params: [W.I32, W.I32], results: [] },
  helper: { params: [W.I32, W.I32, W.I32], results: [W.I32] },
  callx: { params: [W.I32, W.I32, W.I32, W.I32], results: [W.I32] },
  ldabs: { params: [W.I32, W.I32, W.I32, W.I32], results: [W.I32] },
  chk: { params: [W.I32, W.I32, W.I32], results: [] },
};
/** An inlined bpf_loop's callback: the same parameters, r0 alone out. */
const CB_TYPE: FuncType = { params: FN_TYPE.params, results: [W.I64] };
const DEPTH = 11;
const NPARAMS = 12;

export function compile(prog: LoadedProgram, opts: CompileOptions): CompiledProgram {
  const t0 = performance.now();
  const { code, len } = prog;
  const splits = resumeSplits(prog);
  const cfg = buildCfg(prog, splits);
  // Resumable programs keep bpf_loop a helper call: an inlined callback has no frame to resume.
  const inlinedLoops = splits
    ? new Map<number, number>()
    : inlineLoopSites(prog, cfg, loopHelperIndices(prog));
  const mb = new ModuleBuilder();
  mb.importMemory('m', 'mem');
  mb.importGlobal('m', 'sc', W.I32);
  if (splits) mb.importGlobal('m', 'rs', W.I32);

  // Imports first (defined functions are numbered after them).
  const memInfo = new Int8Array(len);
  // Checked mode: the accesses that keep a region check (not those the verifier proved).
  const proven = opts.checked ? provenAccesses(prog) : undefined;
  const checkAt = new Uint8Array(len);
  const need = new Set<ImportName>(['fault']);
  for (let i = 0; i < len; i++) {
    const p = i * SLOT_WORDS;
    const w = code[p]!;
    const xop = w & 0x3ff;
    if (xop === OP_CALL && !inlinedLoops.has(i)) need.add('helper');
    else if (xop === OP_CALLX) need.add('callx');
    else if (xop >= 0x20 && xop <= 0x50 && (xop & 7) === 0 && xop !== OP_LDDW) need.add('ldabs');
    const m = memAccess(xop, (w >> 12) & 15, (w >> 16) & 15);
    if (m) {
      memInfo[i] = m.size | (m.write ? 16 : 0);
      if (opts.checked && !proven?.[i]) {
        checkAt[i] = 1;
        need.add('chk');
      }
    }
    if (xop === OP_LDDW) i++;
  }
  const importIdx = new Map<ImportName, number>();
  for (const name of ['fault', 'helper', 'callx', 'ldabs', 'chk'] as const)
    if (need.has(name)) importIdx.set(name, mb.importFunc('e', name, IMPORT_TYPES[name]));

  const fnIndex = new Map<number, number>();
  cfg.entries.forEach((e, k) => {
    fnIndex.set(e, mb.funcIndex(k));
  });
  // Lean callback variants (below) follow the entries' functions.
  const cbIndex = new Map<number, number>();
  [...new Set(inlinedLoops.values())].forEach((cb, k) => {
    cbIndex.set(cb, mb.funcIndex(cfg.entries.length + k));
  });
  const checks = need.has('chk') ? checkAt : undefined;
  const funcs: FuncInfo[] = [];
  for (const entry of cfg.entries) {
    const layout = layoutFunction(cfg, entry, opts.dispatch || splits !== undefined);
    const em = new FnEmitter(
      prog,
      layout,
      opts,
      importIdx,
      fnIndex,
      inlinedLoops,
      cbIndex,
      checks,
      false,
      splits !== undefined,
    );
    em.emit();
    mb.addFunc(FN_TYPE, em.f);
    funcs.push({
      entry,
      structured: layout.scopes !== undefined,
      codeStart: 0,
      marks: Int32Array.from(em.marks),
    });
  }
  // Callbacks of inlined bpf_loops also get a lean variant: r0 is the only result, and the
  // count starts at zero without a round trip through the scratch block (it is discarded).
  for (const cb of cbIndex.keys()) {
    const layout = layoutFunction(cfg, cb, opts.dispatch);
    const em = new FnEmitter(prog, layout, opts, importIdx, fnIndex, inlinedLoops, cbIndex, checks, true);
    em.emit();
    mb.addFunc(CB_TYPE, em.f);
    funcs.push({
      entry: cb,
      structured: layout.scopes !== undefined,
      codeStart: 0,
      marks: Int32Array.from(em.marks),
    });
  }
  const exports = new Map<number, string>();
  for (const entry of cfg.entries) {
    const f = new FuncBody(0);
    if (need.has('chk')) forgetCachedWindows(f);
    f.op(W.GLOBAL_GET);
    f.code.uleb(0);
    for (let r = 0; r <= 10; r++) {
      f.op(W.GLOBAL_GET);
      f.code.uleb(0);
      f.mem(W.I64_LOAD, SC_REGS + 8 * r);
    }
    f.i32(0);
    f.call(fnIndex.get(entry)!);
    for (let r = 0; r < 5; r++) f.op(W.DROP);
    f.mem(W.I64_STORE, SC_REGS);
    f.op(W.END);
    const name = `f${entry}`;
    mb.exportFunc(name, mb.addFunc({ params: [], results: [] }, f));
    exports.set(entry, name);
    mb.exportFunc(
      `a${entry}`,
      mb.addFunc(argsEntryType(5), argsEntry(fnIndex.get(entry)!, 5, need.has('chk'))),
    );
    if (entry === 0)
      mb.exportFunc('b0', mb.addFunc(argsEntryType(1), argsEntry(fnIndex.get(0)!, 1, need.has('chk'))));
  }
  const built = mb.finish();
  funcs.forEach((fi, k) => {
    fi.codeStart = built.codeStarts[k]!;
  });
  const t1 = performance.now();
  const module = new WebAssembly.Module(built.bytes as Uint8Array<ArrayBuffer>);
  return {
    module,
    exports,
    funcs,
    imports: need,
    inlinedLoops,
    checkedAccesses: checks ? checkAt.reduce((a, b) => a + b, 0) : 0,
    memInfo,
    wasmBytes: built.bytes.length,
    compileMs: performance.now() - t0,
    codegenMs: t1 - t0,
    insns: len,
    resumable: splits !== undefined,
  };
}

/** r1..rN as (lo, hi) i32 pairs and r10; returns r0's low half (all of r0 is in the scratch block). */
const argsEntryType = (n: number): FuncType => ({ params: Array(2 * n + 1).fill(W.I32), results: [W.I32] });

/**
 * The cheap way in: JS→Wasm calls with i32 arguments need no memory writes, and r0 and r6..r9
 * start at zero, as in every Vm run.
 */
function argsEntry(fn: number, n: number, checked: boolean): FuncBody {
  const f = new FuncBody(2 * n + 1);
  const t = f.local(W.I64);
  if (checked) forgetCachedWindows(f);
  f.op(W.GLOBAL_GET);
  f.code.uleb(0);
  f.i64(0, 0);
  f.mem(W.I64_STORE, SC_COUNT);
  f.i64(0, 0);
  for (let r = 1; r <= 5; r++) {
    if (r > n) {
      f.i64(0, 0);
      continue;
    }
    f.get(2 * r - 2);
    f.op(W.I64_EXTEND_I32_U);
    f.get(2 * r - 1);
    f.op(W.I64_EXTEND_I32_U);
    f.i64(32, 0);
    f.op(W.I64_SHL);
    f.op(W.I64_OR);
  }
  for (let r = 6; r <= 9; r++) f.i64(0, 0);
  f.get(2 * n);
  f.op(W.I64_EXTEND_I32_U);
  f.i32(0);
  f.call(fn);
  for (let r = 0; r < 5; r++) f.op(W.DROP);
  f.set(t);
  f.op(W.GLOBAL_GET);
  f.code.uleb(0);
  f.get(t);
  f.mem(W.I64_STORE, SC_REGS);
  f.get(t);
  f.op(W.I32_WRAP_I64);
  f.op(W.END);
  return f;
}

/** Every run entered from JS starts with no window: regions may have changed since the last. */
function forgetCachedWindows(f: FuncBody): void {
  for (let k = 0; k < 2; k++) {
    f.op(W.GLOBAL_GET);
    f.code.uleb(0);
    f.i64(-1, -1);
    f.mem(W.I64_STORE, SC_WINCACHE + 16 * k);
    f.op(W.GLOBAL_GET);
    f.code.uleb(0);
    f.i64(0, 0);
    f.mem(W.I64_STORE, SC_WINCACHE + 16 * k + 8);
  }
}

interface Ctl {
  kind: 'block' | 'loop' | 'dispatch';
  /** Position a branch to this label reaches. */
  target: number;
}

class FnEmitter {
  readonly f = new FuncBody(NPARAMS);
  readonly marks: number[] = [];
  private readonly n: number;
  private readonly budget: number;
  private readonly mg: number;
  private readonly pc: number;
  private readonly tmp: Temps;
  private readonly ctl: Ctl[] = [];
  private readonly exactBudget: boolean;
  /** Checked mode: cached read and write windows (start, end as i64 locals). */
  private readonly win: { rS: number; rE: number; wS: number; wE: number } | undefined;
  /** Resumable programs (resume.ts): the locals a frame record holds, and the block being emitted. */
  private readonly frame: FrameLocals | undefined;
  private blockPos = 0;

  constructor(
    private readonly prog: LoadedProgram,
    private readonly layout: FuncLayout,
    opts: CompileOptions,
    private readonly imports: Map<ImportName, number>,
    private readonly fnIndex: Map<number, number>,
    private readonly inlinedLoops: Map<number, number>,
    private readonly cbIndex: Map<number, number>,
    /** Checked mode: 1 for each slot whose access keeps its region check; undefined: none do. */
    private readonly checkAt: Uint8Array | undefined,
    private readonly asCallback: boolean,
    resumable = false,
  ) {
    this.n = this.f.local(W.I64);
    this.budget = this.f.local(W.I64);
    this.mg = this.f.local(W.I32);
    this.pc = this.f.local(W.I32);
    this.tmp = { a: this.f.local(W.I32), t: this.f.local(W.I64) };
    this.exactBudget = opts.exactBudget !== false;
    if (checkAt) {
      const l = () => this.f.local(W.I64);
      this.win = { rS: l(), rE: l(), wS: l(), wE: l() };
    }
    if (resumable) this.frame = { n: this.n, mg: this.mg, pc: this.pc, a: this.tmp.a };
  }

  /** Forgets the cached windows: helpers may move, free or allocate regions. */
  private invalidateWindows(): void {
    if (!this.win) return;
    const f = this.f;
    for (const [s, e] of [
      [this.win.rS, this.win.rE],
      [this.win.wS, this.win.wE],
    ] as const) {
      // start = 2^64-1, end = 0: no address passes start <= a && a + size <= end
      f.i64(-1, -1);
      f.set(s);
      f.i64(0, 0);
      f.set(e);
    }
    forgetCachedWindows(f);
  }

  /** Takes the windows from the scratch block (at entry, and after a call into compiled code). */
  private loadWindows(): void {
    if (!this.win) return;
    const w = this.win;
    [w.rS, w.rE, w.wS, w.wE].forEach((l, k) => {
      this.scratch();
      this.f.mem(W.I64_LOAD, SC_WINCACHE + 8 * k);
      this.f.set(l);
    });
  }

  /**
   * Checked mode: a = base + off must satisfy start <= a && a + size <= end for the last window
   * the `chk` import accepted (reads and writes separately); otherwise `chk` checks the access
   * like the interpreter (faulting, or returning the new window through the scratch block).
   * The comparisons are on wrapped u64s: an address that wraps past 2^64 and slips through
   * still lies beyond the 2 GiB memory and traps.
   */
  private regionCheck(base: number, off: number, size: number, write: boolean, slot: number): void {
    const f = this.f;
    const w = this.win!;
    const [s, e] = write ? [w.wS, w.wE] : [w.rS, w.rE];
    const t = this.tmp.t;
    f.get(base);
    f.i64(off, off >> 31);
    f.op(W.I64_ADD);
    f.tee(t);
    f.get(s);
    f.op(W.I64_LT_U);
    f.get(t);
    f.i64(size, 0);
    f.op(W.I64_ADD);
    f.get(e);
    f.op(W.I64_GT_U);
    f.op(W.I32_OR);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    f.get(base);
    f.op(W.I32_WRAP_I64);
    f.get(base);
    f.i64(32, 0);
    f.op(W.I64_SHR_U);
    f.op(W.I32_WRAP_I64);
    f.i32(slot);
    this.callImport('chk');
    for (const [l, k] of [
      [s, 0],
      [e, 8],
    ] as const) {
      this.scratch();
      this.scratch();
      f.mem(W.I64_LOAD, SC_WINDOW + k);
      f.tee(l);
      f.mem(W.I64_STORE, SC_WINCACHE + (write ? 16 : 0) + k);
    }
    f.op(W.END);
  }

  private scratch(): void {
    this.f.op(W.GLOBAL_GET);
    this.f.code.uleb(0);
  }

  private callImport(name: ImportName): void {
    this.f.call(this.imports.get(name)!);
  }

  emit(): void {
    const f = this.f;
    if (!this.asCallback) {
      this.scratch();
      f.mem(W.I64_LOAD, SC_COUNT);
      f.set(this.n);
    }
    this.scratch();
    f.mem(W.I64_LOAD, SC_BUDGET);
    f.set(this.budget);
    f.i32(BPF_MAX_LOOPS);
    f.set(this.mg);
    this.loadWindows();
    if (this.frame) {
      emitResumePrologue(f, this.frame);
      // A resumed frame may find the cached windows' regions freed meanwhile.
      this.invalidateWindows();
    }
    if (this.layout.scopes) this.emitStructured(this.layout.scopes);
    else this.emitDispatch();
    f.op(W.UNREACHABLE);
    f.op(W.END);
  }

  private emitStructured(scopes: Scope[]): void {
    const { order } = this.layout;
    const sorted = [...scopes].sort((a, b) => a.from - b.from || b.to - a.to);
    let k = 0;
    const open: Scope[] = [];
    for (let p = 0; p <= order.length; p++) {
      while (open.length > 0 && open[open.length - 1]!.to === p) {
        open.pop();
        this.ctl.pop();
        this.f.op(W.END);
      }
      if (open.some((s) => s.to === p)) throw new InternalError('jit: scopes do not nest');
      while (k < sorted.length && sorted[k]!.from === p) {
        const s = sorted[k++]!;
        open.push(s);
        this.ctl.push({ kind: s.kind, target: s.target });
        this.f.op(s.kind === 'loop' ? W.LOOP : W.BLOCK);
        this.f.op(W.BLOCK_VOID);
      }
      if (p < order.length) this.emitBlock(p);
    }
    if (open.length > 0) throw new InternalError('jit: unclosed scopes');
  }

  private emitDispatch(): void {
    const { order } = this.layout;
    const f = this.f;
    const m = order.length;
    f.op(W.LOOP);
    f.op(W.BLOCK_VOID);
    this.ctl.push({ kind: 'dispatch', target: -1 });
    for (let i = m - 1; i >= 0; i--) {
      f.op(W.BLOCK);
      f.op(W.BLOCK_VOID);
      this.ctl.push({ kind: 'block', target: i });
    }
    f.get(this.pc);
    f.op(W.BR_TABLE);
    f.code.uleb(m);
    for (let i = 0; i < m; i++) f.code.uleb(i);
    f.code.uleb(0);
    for (let i = 0; i < m; i++) {
      f.op(W.END);
      this.ctl.pop();
      this.emitBlock(i);
    }
    f.op(W.END);
    this.ctl.pop();
  }

  /** Depth of the label that reaches position t from position `from`, plus `extra` open ifs. */
  private branch(from: number, t: number, extra: number): void {
    const f = this.f;
    if (!this.layout.scopes) {
      f.i32(t);
      f.set(this.pc);
      f.br(W.BR, this.ctl.length - 1 + extra);
      return;
    }
    const want = t <= from ? 'loop' : 'block';
    for (let i = this.ctl.length - 1; i >= 0; i--) {
      const c = this.ctl[i]!;
      if (c.kind === want && c.target === t) {
        f.br(W.BR, this.ctl.length - 1 - i + extra);
        return;
      }
    }
    throw new InternalError(`jit: no label for a branch from position ${from} to ${t}`);
  }

  /** Jumps to block position t; on back edges first checks the instruction budget. */
  /**
   * Jumps to block position t. A taken eBPF jump (`taken`) first checks the instruction budget
   * when it goes backwards, or always with exactBudget; a fall-through edge never does.
   */
  private jump(from: number, t: number, cond: boolean, targetSlot: number, taken: boolean): void {
    const f = this.f;
    taken &&= this.exactBudget || t <= from;
    if (!cond) {
      if (taken) this.budgetCheck(targetSlot);
      if (t === from + 1) return;
      this.branch(from, t, 0);
      return;
    }
    if (!taken && t > from && this.layout.scopes) {
      // Forward conditional without a check: a plain br_if.
      let want = this.ctl.length - 1;
      while (want >= 0 && !(this.ctl[want]!.kind === 'block' && this.ctl[want]!.target === t)) want--;
      if (want < 0) throw new InternalError(`jit: no label for a branch from position ${from} to ${t}`);
      f.br(W.BR_IF, this.ctl.length - 1 - want);
      return;
    }
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    if (taken) this.budgetCheck(targetSlot);
    this.branch(from, t, 1);
    f.op(W.END);
  }

  private budgetCheck(targetSlot: number): void {
    const f = this.f;
    f.get(this.n);
    f.get(this.budget);
    f.op(W.I64_GT_S);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    this.fault(FAULT_BUDGET, targetSlot);
    f.op(W.END);
  }

  private fault(kind: number, slot: number): void {
    this.f.i32(kind);
    this.f.i32(slot);
    this.callImport('fault');
  }

  /** Stores the exact instruction count (n minus the block's instructions not yet run). */
  private storeCount(unrun: number): void {
    const f = this.f;
    this.scratch();
    f.get(this.n);
    if (unrun !== 0) {
      f.i64(-unrun, -1);
      f.op(W.I64_ADD);
    }
    f.mem(W.I64_STORE, SC_COUNT);
  }

  private returnRegs(): void {
    for (let r = 0; r <= (this.asCallback ? 0 : 5); r++) this.f.get(r);
    this.f.op(W.RETURN);
  }

  private emitBlock(p: number): void {
    const f = this.f;
    const b = this.layout.order[p]!;
    const { code, len } = this.prog;
    this.blockPos = p;
    if (b.start === len) {
      this.marks.push(f.pos, len);
      this.fault(FAULT_FELL_OFF, len);
      f.op(W.UNREACHABLE);
      return;
    }
    // Instruction count of the block (lddw counts once).
    let count = 0;
    for (let i = b.start; i < b.end; i += (code[i * SLOT_WORDS]! & 0x3ff) === OP_LDDW ? 2 : 1) count++;
    f.get(this.n);
    f.i64(count, 0);
    f.op(W.I64_ADD);
    f.set(this.n);

    let done = 0;
    let lastXop = -1;
    for (let i = b.start; i < b.end; i++) {
      const q = i * SLOT_WORDS;
      const w = code[q]!;
      const xop = w & 0x3ff;
      const d = (w >> 12) & 15;
      const s = (w >> 16) & 15;
      const off = code[q + 1]!;
      const imm = code[q + 2]!;
      done++;
      lastXop = xop;
      const unrun = count - done;
      this.marks.push(f.pos, i);
      if (lowerAlu(f, this.tmp, xop, d, s, imm)) continue;
      const ma = memAccess(xop, d, s);
      if (ma) {
        if (this.checkAt?.[i] && !(ma.base === 10 && off >= -MAX_BPF_STACK && off + ma.size <= 0))
          this.regionCheck(ma.base, off, ma.size, ma.write, i);
        if (!lowerMem(f, this.tmp, xop, d, s, off, imm))
          throw new InternalError(`jit: memory op 0x${xop.toString(16)}`);
        continue;
      }
      if (xop === OP_LDDW) {
        f.i64(imm, code[q + 3]!);
        f.set(d);
        i++;
        continue;
      }
      if (isJump(xop)) {
        this.emitJump(p, xop, d, s, imm, b.jumpTo);
        continue;
      }
      switch (xop) {
        case OP_EXIT:
          if (!this.asCallback) this.storeCount(0);
          this.returnRegs();
          break;
        case OP_CALL:
          if (this.inlinedLoops.has(i)) this.emitInlineLoop(i, this.inlinedLoops.get(i)!);
          else this.emitHelperCall(i, 'helper', code[q + 3]!, 0, unrun);
          break;
        case OP_CALLX:
          this.emitHelperCall(i, 'callx', 0, d, unrun);
          break;
        case X_CALL_LOCAL:
          this.emitLocalCall(i, i + 1 + off, unrun);
          break;
        case 0x20:
        case 0x28:
        case 0x30:
        case 0x40:
        case 0x48:
        case 0x50:
          this.emitLdAbs(i, xop, s, imm, unrun);
          break;
        default:
          throw new InternalError(`jit: cannot compile opcode 0x${xop.toString(16)} at insn ${i}`);
      }
    }
    // Fall through into the next block (leader after a non-jump instruction).
    if (!isJump(lastXop) && b.fallTo >= 0)
      this.jump(p, this.layout.pos.get(b.fallTo)!, false, b.fallTo, false);
  }

  private emitJump(p: number, xop: number, d: number, s: number, imm: number, jumpTo: number): void {
    const f = this.f;
    const b = this.layout.order[p]!;
    const pos = this.layout.pos;
    const tJump = pos.get(jumpTo)!;
    if (isUncondJump(xop)) {
      this.jump(p, tJump, false, jumpTo, true);
      return;
    }
    const tFall = pos.get(b.fallTo)!;
    if (xop === OP_MAY_GOTO) {
      // Taken once the frame's budget is used up; otherwise counts down.
      f.get(this.mg);
      f.op(W.I32_EQZ);
      f.get(this.mg);
      f.get(this.mg);
      f.op(W.I32_EQZ);
      f.op(W.I32_EQZ);
      f.op(W.I32_SUB);
      f.set(this.mg);
    } else lowerCond(f, xop, d, s, imm);
    if (tJump === tFall) {
      // Both edges go to the same place (a jump by +0): only the budget check depends on it.
      if (this.exactBudget) {
        f.op(W.IF);
        f.op(W.BLOCK_VOID);
        this.budgetCheck(jumpTo);
        f.op(W.END);
      } else f.op(W.DROP);
      this.jump(p, tFall, false, b.fallTo, false);
      return;
    }
    if (tJump === p + 1) {
      // The taken edge is the next block: branch on the inverted condition instead.
      f.op(W.I32_EQZ);
      this.jump(p, tFall, true, b.fallTo, false);
      if (this.exactBudget) this.budgetCheck(jumpTo);
      return;
    }
    this.jump(p, tJump, true, jumpTo, true);
    this.jump(p, tFall, false, b.fallTo, false);
  }

  private emitHelperCall(i: number, kind: 'helper' | 'callx', k: number, d: number, unrun: number): void {
    const f = this.f;
    for (let r = 1; r <= 5; r++) {
      this.scratch();
      f.get(r);
      f.mem(W.I64_STORE, SC_REGS + 8 * r);
    }
    if (kind === 'helper') f.i32(k);
    else {
      f.get(d);
      f.op(W.I32_WRAP_I64);
      f.get(d);
      f.i64(32, 0);
      f.op(W.I64_SHR_U);
      f.op(W.I32_WRAP_I64);
    }
    f.i32(i);
    f.get(DEPTH);
    this.callImport(kind);
    if (this.frame && kind === 'helper' && sleepsAt(this.prog, i))
      emitHelperSleepCheck(f, this.frame, this.blockPos);
    this.invalidateWindows();
    this.scratch();
    f.mem(W.I64_LOAD, SC_REGS);
    f.set(0);
    // Non-zero: a tail call was requested; hand r0..r9 and the count to the host and leave.
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    for (let r = 6; r <= 9; r++) {
      this.scratch();
      f.get(r);
      f.mem(W.I64_STORE, SC_REGS + 8 * r);
    }
    this.storeCount(unrun);
    this.returnRegs();
    f.op(W.END);
  }

  /**
   * bpf_loop(nr_loops, callback, ctx, flags) in place: the runtime's semantics (flags != 0:
   * -EINVAL; nr_loops > 1<<23: -E2BIG; r0 = iterations run, stopping after the callback that
   * returns non-zero), each callback run as the VM's callFunction would: fresh registers
   * (r1 = index, r2 = ctx's low half), its own instruction count, call depth 0, and the next
   * level's stack frames. r1..r5 keep their values, as after a helper call here.
   */
  private emitInlineLoop(i: number, cb: number): void {
    const f = this.f;
    const l = this.loopLocals();
    f.get(4);
    f.op(W.I64_EQZ);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    f.get(1);
    f.op(W.I32_WRAP_I64);
    f.tee(l.nr);
    f.i32(BPF_MAX_LOOPS_NR);
    f.op(W.I32_GT_U);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    f.i64(-E2BIG, -1);
    f.set(0);
    f.op(W.ELSE);
    // The callback's frames: one level below the top of this run's level (r10 + depth frames).
    f.get(10);
    f.op(W.I32_WRAP_I64);
    f.get(DEPTH);
    f.i32(MAX_BPF_STACK);
    f.op(W.I32_MUL);
    f.op(W.I32_ADD);
    f.i32(LEVEL_STACK);
    f.op(W.I32_SUB);
    f.tee(l.top);
    f.i32(LEVEL_STACK);
    f.op(W.I32_SUB);
    this.scratch();
    f.mem(W.I32_LOAD, SC_FLOOR);
    f.op(W.I32_LT_S);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    this.fault(FAULT_CALLBACK_DEPTH, i);
    f.op(W.END);
    f.get(3);
    f.op(W.I32_WRAP_I64);
    f.op(W.I64_EXTEND_I32_U);
    f.set(l.ctx);
    f.i32(0);
    f.set(l.ix);
    // r0 = nr_loops unless a callback stops the loop early.
    f.get(l.nr);
    f.op(W.I64_EXTEND_I32_U);
    f.set(0);
    f.op(W.BLOCK);
    f.op(W.BLOCK_VOID);
    f.op(W.LOOP);
    f.op(W.BLOCK_VOID);
    f.get(l.ix);
    f.get(l.nr);
    f.op(W.I32_GE_U);
    f.br(W.BR_IF, 1);
    f.i64(0, 0);
    f.get(l.ix);
    f.op(W.I64_EXTEND_I32_U);
    f.get(l.ctx);
    for (let r = 3; r <= 9; r++) f.i64(0, 0);
    f.get(l.top);
    f.op(W.I64_EXTEND_I32_U);
    f.i32(0);
    f.call(this.cbIndex.get(cb)!);
    f.get(l.ix);
    f.i32(1);
    f.op(W.I32_ADD);
    f.set(l.ix);
    f.op(W.I64_EQZ);
    f.br(W.BR_IF, 0);
    f.get(l.ix);
    f.op(W.I64_EXTEND_I32_U);
    f.set(0);
    f.op(W.END);
    f.op(W.END);
    f.op(W.END);
    f.op(W.ELSE);
    f.i64(-EINVAL, -1);
    f.set(0);
    f.op(W.END);
    this.loadWindows();
  }

  private loopVars: { nr: number; ix: number; top: number; ctx: number } | undefined;

  private loopLocals(): { nr: number; ix: number; top: number; ctx: number } {
    this.loopVars ??= {
      nr: this.f.local(W.I32),
      ix: this.f.local(W.I32),
      top: this.f.local(W.I32),
      ctx: this.f.local(W.I64),
    };
    return this.loopVars;
  }

  private emitLocalCall(i: number, target: number, unrun: number): void {
    const f = this.f;
    f.get(DEPTH);
    f.i32(MAX_CALL_FRAMES - 1);
    f.op(W.I32_GE_S);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    this.fault(FAULT_CALL_DEPTH, i);
    f.op(W.END);
    // The interpreter checks the budget after jumping into the callee, counting the call.
    f.get(this.n);
    if (unrun !== 0) {
      f.i64(-unrun, -1);
      f.op(W.I64_ADD);
    }
    f.get(this.budget);
    f.op(W.I64_GT_S);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    this.fault(FAULT_BUDGET, target);
    f.op(W.END);
    this.storeCount(unrun);
    for (let r = 0; r <= 9; r++) f.get(r);
    f.get(10);
    f.i64(-MAX_BPF_STACK, -1);
    f.op(W.I64_ADD);
    f.get(DEPTH);
    f.i32(1);
    f.op(W.I32_ADD);
    f.call(this.fnIndex.get(target)!);
    this.loadWindows();
    for (let r = 5; r >= 0; r--) f.set(r);
    this.scratch();
    f.mem(W.I64_LOAD, SC_COUNT);
    if (unrun !== 0) {
      f.i64(unrun, 0);
      f.op(W.I64_ADD);
    }
    f.set(this.n);
    if (this.frame) emitCallSleepCheck(f, this.frame, this.blockPos);
  }

  private emitLdAbs(i: number, xop: number, s: number, imm: number, unrun: number): void {
    const f = this.f;
    // In a subprogram an out-of-bounds load ends the run from inside the import: the count
    // must already be in the scratch block.
    this.storeCount(unrun);
    const size = (xop & 0x18) === 0 ? 4 : (xop & 0x18) === 0x08 ? 2 : 1;
    if ((xop & 0xe0) === 0x20) f.i32(imm);
    else {
      address(f, s, 0);
      f.i32(imm);
      f.op(W.I32_ADD);
    }
    f.i32(size);
    f.i32(i);
    f.get(DEPTH);
    this.callImport('ldabs');
    f.tee(this.tmp.a);
    f.i32(0);
    f.op(W.I32_LT_S);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    // kernel: an out-of-bounds legacy load ends the program with r0 = 0 (in a subprogram the
    // import throws instead, and the engine ends the run)
    f.i64(0, 0);
    f.set(0);
    this.storeCount(unrun);
    this.returnRegs();
    f.op(W.END);
    loadBigEndian(f, this.tmp.a, size);
    f.set(0);
  }
}
