// What the playground does with a program, without the DOM: load an object / assembly / raw
// bytecode, verify a program, run it (recording a step trace through the interpreter's onInsn
// hook), and keep the maps of an object alive between runs. The same modules as the CLI.
import { loadCollectionSpec } from '../elf/collection-spec.ts';
import { linkProgram } from '../elf/link.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import { TsbpfError, UsageError } from '../errors.ts';
import { JitEngine } from '../jit/engine.ts';
import { assembleAuto } from '../isa/asm/index.ts';
import { decodeProgram } from '../isa/decode.ts';
import type { BpfMap } from '../maps/map.ts';
import { type Collection, newCollection } from '../runtime/collection.ts';
import { type TestRunProgType, testRun } from '../runtime/test-run.ts';
import type { MapInfo } from '../verifier/index.ts';
import { objectMapInfo } from '../runtime/map-info.ts';
import type { ProgramView } from './verification.ts';
import type { Machine } from '../vm/machine.ts';
import { Vm } from '../vm/vm.ts';

export type { ProgramView, Verification } from './verification.ts';
export { trimVerification, verifyProgram } from './verification.ts';

export type Source =
  | { kind: 'asm'; name: string; text: string }
  | { kind: 'object'; name: string; bytes: Uint8Array }
  | { kind: 'raw'; name: string; bytes: Uint8Array };

export interface Workspace {
  source: Source;
  spec?: CollectionSpec;
  /** Programs to choose from (one, named after the file, for assembly and raw bytecode). */
  programs: string[];
}

/** An error as one line, with its location (file, insn, line) for tsbpf's own errors. */
export function errorText(e: unknown): string {
  if (e instanceof TsbpfError) return e.format();
  return e instanceof Error ? e.message : String(e);
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** What a dropped file holds: the ELF magic decides first, then the extension. */
export function sourceFromFile(name: string, bytes: Uint8Array): Source {
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) return { kind: 'object', name, bytes };
  if (/\.(s|S|asm|txt|data)$/.test(name)) return { kind: 'asm', name, text: new TextDecoder().decode(bytes) };
  return { kind: 'raw', name, bytes };
}

export function openWorkspace(source: Source): Workspace {
  if (source.kind !== 'object') return { source, programs: [source.name] };
  const spec = loadCollectionSpec(source.bytes, { file: source.name });
  if (spec.programs.length === 0) throw new UsageError(`${source.name}: the object has no programs`);
  return { source, spec, programs: spec.programs.map((p) => p.name) };
}

/** The instructions of one program; `progType` applies to assembly and raw bytecode. */
export function programView(ws: Workspace, name: string, progType: string): ProgramView {
  const src = ws.source;
  if (src.kind === 'asm') {
    const insns = assembleAuto(src.text, src.name);
    return { name, progType, insns, lineInfo: [], funcInfo: [], maps: [] };
  }
  if (src.kind === 'raw') {
    if (src.bytes.length === 0) throw new UsageError(`${src.name}: empty program`);
    return {
      name,
      progType,
      insns: decodeProgram(src.bytes, { file: src.name }),
      lineInfo: [],
      funcInfo: [],
      maps: [],
    };
  }
  const spec = ws.spec!;
  const linked = linkProgram(spec, name, { mapIndex: 'object' });
  // the same map facts as the CLI: BTF timer/lock offsets, inner maps, frozen .rodata bytes
  const maps: MapInfo[] = spec.maps.map((m) => objectMapInfo(spec, m));
  return {
    name: linked.name,
    progType: linked.progType,
    insns: linked.insns,
    lineInfo: linked.lineInfo,
    funcInfo: linked.funcInfo,
    maps,
    object: {
      file: src.name,
      bytes: src.bytes,
      section: linked.section,
      ...(linked.attachType ? { attachType: linked.attachType } : {}),
    },
  };
}

/** Registers and the current stack frame before one instruction runs. */
export interface Step {
  pc: number;
  depth: number;
  /** The program the instruction belongs to (differs inside tail calls). */
  prog: string;
  regs: bigint[];
  /** The 512 bytes below r10 (the frame the instruction sees). */
  stack: Uint8Array;
  stackBase: number;
}

export interface RunInput {
  /** Test-run type for assembly / raw programs. */
  type: string;
  data?: Uint8Array;
  ctx?: Uint8Array;
  /** Record a step trace of at most this many instructions (0: none). */
  record?: number;
}

export interface RunOutput {
  retval?: number;
  r0?: bigint;
  insns?: number;
  dataOut?: Uint8Array;
  /** What went wrong, when the run faulted. */
  error?: string;
  steps: Step[];
  /** The trace stopped recording before the run ended. */
  truncated: boolean;
  /** Why there is no trace, when one was asked for. */
  note?: string;
  printk: string[];
  ms: number;
}

const STACK = 512;
/** Instructions per run (the VM's default is 1e9, seconds of a frozen page). */
export const RUN_BUDGET = 50_000_000;
const TEST_RUN_TYPES: readonly string[] = [
  'socket_filter',
  'sched_cls',
  'sched_act',
  'xdp',
  'syscall',
  'raw_tracepoint',
];

function regs64(lo: Int32Array, hi: Int32Array): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i <= 10; i++) out.push((BigInt(hi[i]! >>> 0) << 32n) | BigInt(lo[i]! >>> 0));
  return out;
}

/**
 * Keeps what outlives one run: for objects, a Collection (every map, timers, ring buffers);
 * for assembly, a VM per run (such programs have no maps).
 */
export class Runner {
  coll: Collection | undefined;
  private printk: string[] = [];
  /** An error creating the collection (e.g. a helper tsbpf lacks), reported on run. */
  loadError: string | undefined;

  constructor(
    readonly ws: Workspace,
    readonly engine: 'interp' | 'jit' = 'interp',
  ) {
    if (ws.spec) {
      try {
        this.coll = newCollection(ws.spec, {
          verify: false,
          engine,
          // Runs happen on the page's thread: stop a runaway loop within a fraction of a second.
          vm: { budget: RUN_BUDGET },
          onTrace: (l) => this.printk.push(l),
        });
      } catch (e) {
        this.loadError = errorText(e);
      }
    }
  }

  get maps(): Map<string, BpfMap> {
    return this.coll?.maps ?? new Map();
  }

  close(): void {
    this.coll?.close();
  }

  run(p: ProgramView, input: RunInput): RunOutput {
    const steps: Step[] = [];
    let truncated = false;
    this.printk = [];
    const limit = input.record ?? 0;
    const hook = (vm: Machine) => (pc: number, depth: number, prog: { name: string }) => {
      if (steps.length >= limit) {
        truncated = true;
        return;
      }
      const r10 = vm.regLo[10]! >>> 0;
      const base = Math.max(0, r10 - STACK);
      steps.push({
        pc,
        depth,
        prog: prog.name,
        regs: regs64(vm.regLo, vm.regHi),
        stack: vm.arena.u8.slice(base, r10),
        stackBase: base,
      });
    };
    const t0 = performance.now();
    const out: RunOutput = { steps, truncated: false, printk: this.printk, ms: 0 };
    let machine: Machine | undefined;
    try {
      if (this.ws.spec) {
        if (!this.coll) throw new UsageError(`cannot run: ${this.loadError ?? 'the object did not load'}`);
        const prog = this.coll.program(p.name);
        if (limit > 0 && this.engine === 'jit') out.note = 'step traces need the interpreter engine';
        machine = this.coll.vm;
        if (limit > 0) machine.onInsn = hook(machine);
        const r = prog.run({ data: input.data, ctx: input.ctx });
        Object.assign(out, { retval: r.retval, r0: r.r0, insns: r.insns, dataOut: r.dataOut });
      } else {
        if (!TEST_RUN_TYPES.includes(input.type))
          throw new UsageError(`cannot test-run a ${input.type} program`);
        const type = input.type as TestRunProgType;
        const packet = type !== 'syscall' && type !== 'raw_tracepoint';
        const vm = new Vm({
          printk: (l) => this.printk.push(l),
          budget: RUN_BUDGET,
          // The JIT has no per-instruction hook: step traces always come from the interpreter.
          ...(this.engine === 'jit' && limit === 0 ? { engine: new JitEngine().run } : {}),
        });
        machine = vm;
        if (limit > 0) machine.onInsn = hook(vm);
        const r = testRun(p.insns, {
          type,
          data: packet ? (input.data ?? new Uint8Array(64)) : undefined,
          ctx: input.ctx,
          vm,
          name: p.name,
        });
        Object.assign(out, { retval: r.retval, r0: r.r0, insns: r.insns, dataOut: r.dataOut });
      }
    } catch (e) {
      out.error = errorText(e);
    } finally {
      if (machine) machine.onInsn = undefined;
    }
    out.truncated = truncated;
    out.ms = performance.now() - t0;
    return out;
  }
}
