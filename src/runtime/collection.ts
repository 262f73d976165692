// A live collection (cilium/ebpf's Collection, libbpf's loaded bpf_object): every map created
// from its MapSpec, every program linked, resolved and loaded into one VM, prog arrays and
// maps of maps filled from their `.maps` initialisers.
import type { Btf } from '../btf/btf.ts';
import { linkProgram, type LinkedProgram } from '../elf/link.ts';
import type { CollectionSpec, MapSpec } from '../elf/spec.ts';
import { InputError, UsageError } from '../errors.ts';
import { JitEngine } from '../jit/engine.ts';
import { markVerified } from '../jit/verified.ts';
import { helperName } from '../isa/helper-names.ts';
import type { Insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import { createMap } from '../maps/create.ts';
import { MapInMap } from '../maps/map-in-map.ts';
import type { BpfMap } from '../maps/map.ts';
import { MapError } from '../maps/errno.ts';
import { ProgArrayMap } from '../maps/fd-array.ts';
import type { LddwResolver, LoadedProgram } from '../vm/program.ts';
import { Vm, type VmOptions } from '../vm/vm.ts';
import { specialFieldOffset } from './btf-fields.ts';
import { EventLoop } from './event-loop.ts';
import { applyGlobals, type GlobalValue, kconfigData } from './globals.ts';
import type { HostInfo, RuntimeEnv } from './helpers/env.ts';
import { FuncRegistry } from './helpers/func-ptr.ts';
import { registerRuntimeHelpers } from './helpers/index.ts';
import { registerKfuncs } from './helpers/kfuncs.ts';
import { registerObjKfuncs, type LiveObjects } from './helpers/obj-kfuncs.ts';
import { registerTaskKfuncs, type TaskRefs } from './helpers/task-kfuncs.ts';
import { resolveKfuncCalls } from './kfunc-calls.ts';
import { TimerTable } from './helpers/timers.ts';
import { runProgram, type ProgramRunOptions, type ProgramRunResult } from './run.ts';
import { verifyBeforeLoad } from './verify-hook.ts';
import { registerSleepHelpers } from './sleep/helpers.ts';
import { runSleepable, type SleepableRunResult } from './sleep/run.ts';
import { UserMemory, type UserMemoryOptions } from './sleep/user-memory.ts';

export type Engine = 'interp' | 'jit';

export interface CollectionOptions {
  /** `const volatile` (and other global) variables by name, written before load. */
  rodata?: Readonly<Record<string, GlobalValue>>;
  /** Values of `extern ... __kconfig` variables (LINUX_KERNEL_VERSION defaults to 6.18). */
  kconfig?: Readonly<Record<string, GlobalValue>>;
  /** Default 'interp'; 'jit' compiles programs to WebAssembly (src/jit) on first run. */
  engine?: Engine;
  /** Possible CPUs for per-CPU maps (default 1). */
  nrCpus?: number;
  /** The event loop timers fire on and bpf_ktime_get_ns reads (default: a new virtual-time loop). */
  loop?: EventLoop;
  /** Clock mode of the loop created when `loop` is not given (default 'virtual'). */
  clock?: 'virtual' | 'real';
  /** Process facts and memory for the task and probe_read helpers. */
  host?: HostInfo;
  /** Run the verifier before loading (default true). */
  verify?: boolean;
  /** Load only these programs (default: all; a prog array initialiser naming others fails). */
  programs?: readonly string[];
  /** bpf_trace_printk lines (also kept in `tracePipe`). */
  onTrace?: (line: string) => void;
  /** Passed to the VM: budget, checked, seed, cpu. */
  vm?: Pick<VmOptions, 'budget' | 'checked' | 'seed' | 'cpu'>;
  /** Target BTF for CO-RE relocations (default: left as compiled). */
  coreTarget?: Btf;
  /** What bpf_copy_from_user and the other sleepable helpers read (runtime/sleep). */
  userMemory?: UserMemory | UserMemoryOptions;
}

/** A loaded program. */
export class Program {
  constructor(
    readonly collection: Collection,
    readonly name: string,
    /** libbpf program type ('xdp', 'sched_cls', 'syscall', ...). */
    readonly type: string,
    readonly section: string,
    readonly linked: LinkedProgram,
    readonly loaded: LoadedProgram,
  ) {}

  /** BPF_PROG_TEST_RUN: data in/out, ctx in/out, repeat, duration. */
  run(opts: ProgramRunOptions = {}): ProgramRunResult {
    return runProgram(this.collection, this, opts);
  }

  /**
   * The same test run for a program that may sleep (runtime/sleep): each time a sleepable
   * helper waits for user memory the run suspends, the promise settles, and the run resumes.
   */
  runSleepable(opts: ProgramRunOptions = {}): Promise<SleepableRunResult> {
    return runSleepable(this.collection, this, opts);
  }
}

export class Collection {
  readonly programs = new Map<string, Program>();
  readonly maps = new Map<string, BpfMap>();
  readonly vm: Vm;
  readonly loop: EventLoop;
  readonly timers: TimerTable;
  /** References programs hold on the runtime's task objects (the task kfuncs). */
  readonly taskRefs: TaskRefs;
  /** Objects of bpf_obj_new() not yet dropped. */
  readonly objects: LiveObjects;
  readonly env: RuntimeEnv;
  readonly engine: Engine;
  /** The user address space sleepable helpers read (runtime/sleep/user-memory.ts). */
  readonly userMemory: UserMemory;
  /** bpf_trace_printk output, oldest first (the kernel's trace_pipe). */
  readonly tracePipe: string[] = [];
  private readonly ownLoop: boolean;
  private closed = false;

  /** Use newCollection(). */
  constructor(
    readonly spec: CollectionSpec,
    opts: CollectionOptions,
  ) {
    this.engine = opts.engine ?? 'interp';
    if (this.engine !== 'interp' && this.engine !== 'jit')
      throw new UsageError(`unknown engine "${String(this.engine)}" (interp, jit)`);
    this.ownLoop = !opts.loop;
    this.loop = opts.loop ?? new EventLoop({ mode: opts.clock ?? 'virtual' });
    const trace = (line: string) => {
      this.tracePipe.push(line);
      opts.onTrace?.(line);
    };
    this.vm = new Vm({
      ...opts.vm,
      clock: this.loop.clock,
      printk: trace,
      ...(this.engine === 'jit' ? { engine: new JitEngine().run } : {}),
    });
    const funcs = new FuncRegistry();
    const env: RuntimeEnv = {
      vm: this.vm,
      loop: this.loop,
      funcs,
      host: opts.host ?? {},
      ...(opts.coreTarget || spec.btf ? { layoutBtf: opts.coreTarget ?? spec.btf } : {}),
      ...(spec.btf ? { progBtf: spec.btf } : {}),
      progType: '',
      redirect: undefined,
      trace,
    };
    this.env = env;
    this.timers = new TimerTable(env);
    registerRuntimeHelpers(this.vm.helpers, env, this.timers);
    registerKfuncs(this.vm.kfuncs, (c) => this.vm.packetCtx.get(c));
    this.taskRefs = registerTaskKfuncs(this.vm.kfuncs, env);
    this.objects = registerObjKfuncs(this.vm.kfuncs, env);
    this.userMemory =
      opts.userMemory instanceof UserMemory ? opts.userMemory : new UserMemory(opts.userMemory ?? {});
    registerSleepHelpers(this.vm.helpers, this.vm.kfuncs, this.userMemory);
  }

  /** Program.runSleepable: `await coll.runSleepable(prog, { ctx })`. */
  runSleepable(prog: Program | string, opts: ProgramRunOptions = {}): Promise<SleepableRunResult> {
    return runSleepable(this, typeof prog === 'string' ? this.program(prog) : prog, opts);
  }

  /** The program named `name`, or a UsageError listing the ones there are. */
  program(name: string): Program {
    const p = this.programs.get(name);
    if (!p) throw new UsageError(`no program "${name}" (loaded: ${[...this.programs.keys()].join(', ')})`);
    return p;
  }

  map(name: string): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new UsageError(`no map "${name}" (maps: ${[...this.maps.keys()].join(', ')})`);
    return m;
  }

  /** Cancels every timer, then frees every map (kernel: the last reference goes away). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clear();
    if (this.ownLoop) this.loop.close();
    for (const m of this.maps.values()) m.close();
  }
}

/** Creates the maps and loads the programs of `spec`. */
export function newCollection(spec: CollectionSpec, opts: CollectionOptions = {}): Collection {
  const first = spec.unsupported?.[0];
  if (first)
    throw new InputError('ELF', `unsupported: ${first.reason}`, {
      where: { file: spec.file, section: first.section },
    });
  spec = resolveKfuncCalls(spec);
  const coll = new Collection(spec, opts);
  try {
    createMaps(coll, spec, opts);
    loadPrograms(coll, spec, opts);
    fillInitialValues(coll, spec);
  } catch (e) {
    coll.close();
    throw e;
  }
  return coll;
}

function createMaps(coll: Collection, spec: CollectionSpec, opts: CollectionOptions): void {
  const specs = applyGlobals(spec.btf, spec.maps, opts.rodata ?? {}, spec.file);
  for (const ms of specs) {
    const data =
      ms.origin === 'kconfig' ? kconfigData(ms, spec.externs, opts.kconfig ?? {}, spec.file) : ms.data;
    let m: BpfMap;
    try {
      m = createMap(
        coll.vm.arena,
        { ...ms, data, spinLockOff: specialFieldOffset(spec.btf, ms.valueTypeId, 'bpf_spin_lock') },
        { nrCpus: opts.nrCpus ?? 1, ...(spec.btf ? { btf: spec.btf } : {}) },
      );
    } catch (e) {
      // The object asks for a map tsbpf cannot make (arena, struct_ops, a bad size): bad input.
      if (!(e instanceof MapError)) throw e;
      throw new InputError('MAP', e.message, {
        where: { file: spec.file, section: ms.section },
      });
    }
    coll.maps.set(ms.name, m);
    coll.vm.registerMap(m);
  }
}

/** Names helper calls the VM does not implement, before the VM's generic id error. */
function checkHelpers(
  coll: Collection,
  insns: readonly Insn[],
  where: { file: string; section: string; prog: string },
) {
  for (let i = 0; i < insns.length; i++) {
    const ins = insns[i]!;
    if (ins.code !== op.OP_CALL) continue;
    if (ins.src === op.PSEUDO_CALL_HELPER && !coll.vm.helpers.has(ins.imm)) {
      const name = helperName(ins.imm) ?? 'unknown';
      throw new InputError('PROG', `helper ${name} (id ${ins.imm}) is not supported by tsbpf`, {
        where: { ...where, insnIdx: i },
      });
    }
    if (ins.src === op.PSEUDO_KFUNC_CALL && !coll.vm.kfuncs.has(ins.imm))
      throw new InputError('PROG', `kfunc call (id ${ins.imm}) is not supported by tsbpf`, {
        where: { ...where, insnIdx: i },
      });
  }
}

function loadPrograms(coll: Collection, spec: CollectionSpec, opts: CollectionOptions): void {
  const wanted = opts.programs ? new Set(opts.programs) : undefined;
  for (const name of wanted ?? []) {
    if (!spec.programs.some((p) => p.name === name))
      throw new UsageError(
        `${spec.file}: no program "${name}" (programs: ${spec.programs.map((p) => p.name).join(', ')})`,
      );
  }
  const maps = spec.maps.map((m) => coll.map(m.name));
  for (const ps of spec.programs) {
    if (wanted && !wanted.has(ps.name)) continue;
    const linked = linkProgram(spec, ps.name, {
      mapIndex: 'object',
      ...(opts.coreTarget ? { coreTarget: opts.coreTarget } : {}),
    });
    const where = { file: spec.file, section: ps.section, prog: ps.name };
    checkHelpers(coll, linked.insns, where);
    const proof =
      (opts.verify ?? true) ? verifyBeforeLoad(linked, spec, maps, where, opts.coreTarget) : undefined;
    const slot = coll.env.funcs.reserve();
    const resolve: LddwResolver = (i, insnIdx, hiImm) => {
      const w = { ...where, insnIdx };
      if (i.src === op.PSEUDO_FUNC) return coll.env.funcs.token(slot, insnIdx + 1 + i.imm, insnIdx);
      const m = maps[i.imm];
      if (!m)
        throw new InputError('PROG', `lddw refers to map ${i.imm}, the object has ${maps.length}`, {
          where: w,
        });
      if (i.src === op.PSEUDO_MAP_FD || i.src === op.PSEUDO_MAP_IDX) return { lo: m.ptr, hi: 0 };
      if (i.src === op.PSEUDO_MAP_VALUE || i.src === op.PSEUDO_MAP_IDX_VALUE) {
        const a = m.directValueAddr(hiImm);
        if (a === undefined)
          throw new InputError('PROG', `map ${m.name}: no direct value access at offset ${hiImm}`, {
            where: w,
          });
        return { lo: a, hi: 0 };
      }
      throw new InputError('PROG', `lddw pseudo source ${i.src} is not supported`, { where: w });
    };
    const loaded = coll.vm.load(linked.insns, { name: ps.name, resolveLddw: resolve, where });
    // The JIT drops region checks the verifier proved unnecessary (src/jit/verified.ts).
    if (proof) markVerified(loaded, proof.ptrTypes, proof.maxCtxOffset);
    coll.env.funcs.set(slot, loaded);
    coll.programs.set(ps.name, new Program(coll, ps.name, ps.progType, ps.section, linked, loaded));
  }
}

function u32Key(i: number): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, i, true);
  return k;
}

/** libbpf: bpf_object__init_prog_arrays() and the map-in-map slot initialisers. */
function fillInitialValues(coll: Collection, spec: CollectionSpec): void {
  for (const ms of spec.maps as MapSpec[]) {
    const m = coll.map(ms.name);
    for (const v of ms.initialValues ?? []) {
      if (v.kind === 'prog') {
        const p = coll.programs.get(v.name);
        if (!p)
          throw new UsageError(
            `${spec.file}: map ${ms.name} slot ${v.index} names program "${v.name}", which is not loaded`,
          );
        if (!(m instanceof ProgArrayMap))
          throw new UsageError(`${spec.file}: map ${ms.name} is not a prog array`);
        m.setProg(v.index, p);
      } else {
        if (!(m instanceof MapInMap))
          throw new UsageError(`${spec.file}: map ${ms.name} is not a map of maps`);
        m.setInner(u32Key(v.index), coll.map(v.name));
      }
    }
  }
}
