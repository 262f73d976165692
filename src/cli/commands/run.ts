// tsbpf run: BPF_PROG_TEST_RUN in tsbpf, with the kbpf oracle's options and output keys.
// Raw programs (.bin/.s) get the maps of --map and run through testRun; objects load as a live
// collection (maps with their initial data, helpers, timers, callbacks) and run one program.
import { UsageError } from '../../errors.ts';
import { sharedJitEngine } from '../../jit/engine.ts';
import type { CollectionSpec } from '../../elf/spec.ts';
import type { Insn } from '../../isa/insn.ts';
import * as op from '../../isa/opcode.ts';
import type { BpfMap } from '../../maps/index.ts';
import { type Collection, newCollection } from '../../runtime/collection.ts';
import { type TestRunProgType, testRun } from '../../runtime/test-run.ts';
import type { ProgramRunResult } from '../../runtime/run.ts';
import { DEFAULT_BUDGET, Vm } from '../../vm/vm.ts';
import { flag, int, onePositional, type Parsed, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import { type Io, json, readInput, toHex } from '../io.ts';
import { createMap, dumpMap, mapInfo, parseMapSpec } from '../map-spec.ts';
import { loadInput, pickProgram, programFromBytes } from '../program-input.ts';
import { parseGlobals, verifyLoaded } from '../loaded-object.ts';
import { BTF_OPTION, btfUsage, coreTargetOpt } from '../target-btf.ts';
import { verifyForRun } from '../verify-hook.ts';
import { reusePins, type SavedPins, savePins } from '../object-pins.ts';
import { BPFFS_OPTION, bpffsDir } from '../pins.ts';
import { type FollowedRecord, type FollowReport, followTimers } from '../follow.ts';

const RUNNABLE: readonly TestRunProgType[] = [
  'socket_filter',
  'sched_cls',
  'sched_act',
  'xdp',
  'syscall',
  'raw_tracepoint',
];
/** Types kbpf loads but the kernel cannot test-run. */
const LOAD_ONLY = ['tracepoint', 'kprobe', 'perf_event'];
/** Types whose data_in is a packet: kbpf's default is 64 zero bytes. */
const PACKET_TYPES = [
  'socket_filter',
  'sched_cls',
  'sched_act',
  'xdp',
  'cgroup_skb',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
];

function runnableType(t: string): TestRunProgType {
  if ((RUNNABLE as readonly string[]).includes(t)) return t as TestRunProgType;
  const why = LOAD_ONLY.includes(t) ? 'the kernel has no test run for it' : 'not a runnable type';
  throw new UsageError(`--type ${t}: cannot be test-run: ${why} (use ${RUNNABLE.join(', ')})`);
}

interface Outcome {
  type: string;
  prog?: string;
  retval: number;
  r0: bigint;
  durationNs: number;
  compileNs: number;
  setupNs: number;
  dataOut: Uint8Array;
  ctxOut?: Uint8Array;
  insns: number;
  /** Sleepable programs: times the run slept waiting for --user memory. */
  sleeps?: number;
  verified: boolean;
  trace: string[];
  /** --dump-maps: maps in lddw imm order (objects: the order 'tsbpf obj link' prints). */
  dumps: MapDump[];
  /** --follow: what the event loop did after the run. */
  follow?: FollowReport;
  /** Objects: pins reused before the run and written after it. */
  pins?: { reused: string[] } & SavedPins;
}

interface MapDump {
  index: number;
  name: string;
  type: string;
  entries: { key: string; value: string }[];
}

/** Read before the maps are freed. */
const dumpAll = (maps: readonly BpfMap[], want: boolean): MapDump[] =>
  want ? maps.map((m, i) => ({ index: i, name: m.name, type: m.typeName, entries: dumpMap(m) })) : [];

interface Common {
  path: string;
  data?: Uint8Array;
  ctx?: Uint8Array;
  repeat: number;
  budget: number;
  verify: boolean;
  verifyLimit: number;
  dumpMaps: boolean;
  engine: 'interp' | 'jit';
}

/** kbpf refuses an lddw naming a map that no --map created before it loads anything. */
function checkMapRefs(insns: readonly Insn[], count: number, file: string): void {
  for (let i = 0; i < insns.length; i++) {
    const x = insns[i]!;
    if (x.code !== op.OP_LDDW) continue;
    if ((x.src === op.PSEUDO_MAP_FD || x.src === op.PSEUDO_MAP_VALUE) && (x.imm < 0 || x.imm >= count))
      throw new UsageError(
        `lddw names map ${x.imm}, but ${count} --map option${count === 1 ? '' : 's'} given`,
        {
          where: { file, insnIdx: i },
        },
      );
    i++;
  }
}

function runRaw(c: Common, bytes: Uint8Array, kind: 'asm' | 'raw', p: Parsed): Outcome {
  if (str(p, 'prog') !== undefined)
    throw new UsageError(`${c.path} is not an ELF object; --prog applies to objects`);
  if (strs(p, 'set').length) throw new UsageError(`${c.path} is not an ELF object; --set applies to objects`);
  const type = runnableType(str(p, 'type') ?? 'socket_filter');
  const specs = strs(p, 'map').map(parseMapSpec);
  const insns = programFromBytes(c.path, bytes, kind);
  checkMapRefs(insns, specs.length, c.path);
  const trace: string[] = [];
  const vm = new Vm({
    budget: c.budget,
    printk: (line) => trace.push(line),
    // The WebAssembly JIT compiles on first run and falls back to the interpreter where it must.
    ...(c.engine === 'jit' ? { engine: sharedJitEngine().run } : {}),
  });
  // Maps first, then the verifier: the order of BPF_MAP_CREATE and BPF_PROG_LOAD.
  const maps = specs.map((m, i) => createMap(vm.arena, m, i));
  if (c.verify) {
    const v = verifyForRun({
      insns,
      progType: type,
      maps: specs.map(mapInfo),
      file: c.path,
      insnLimit: c.verifyLimit,
    });
    if (v.status === 'rejected') throw v.error;
  }
  const data = c.data ?? (PACKET_TYPES.includes(type) ? new Uint8Array(64) : undefined);
  const r = testRun(insns, { type, data, ctx: c.ctx, repeat: c.repeat, maps, vm, name: c.path });
  return {
    type,
    retval: r.retval,
    r0: r.r0,
    durationNs: r.durationNs,
    compileNs: r.compileNs,
    setupNs: r.setupNs,
    dataOut: r.dataOut,
    ...(r.ctxOut ? { ctxOut: r.ctxOut } : {}),
    insns: r.insns,
    verified: c.verify,
    trace,
    dumps: dumpAll(maps, c.dumpMaps),
  };
}

/** The program plus every program a prog array initialiser names (tail-call targets). */
function programsToLoad(spec: CollectionSpec, name: string): string[] {
  const names = new Set([name]);
  for (const m of spec.maps) for (const v of m.initialValues ?? []) if (v.kind === 'prog') names.add(v.name);
  return [...names];
}

/** --user ADDR=HEX (repeatable): user memory for sleepable programs, at 64-bit addresses. */
export function parseUserMemory(specs: readonly string[]): { addr: bigint; bytes: Uint8Array }[] {
  return specs.map((s) => {
    const m = /^(0x[0-9a-fA-F]+|\d+)=((?:[0-9a-fA-F]{2})*)$/.exec(s);
    if (!m) throw new UsageError(`--user ${s}: expected ADDR=HEX (e.g. 0x7f0000001000=48656c6c6f)`);
    return { addr: BigInt(m[1]!), bytes: Uint8Array.from(Buffer.from(m[2]!, 'hex')) };
  });
}

/** --user and --user-delay MS: the user memory sleepable helpers read, there at once or later. */
export function provideUserMemory(coll: Collection, p: Parsed): void {
  const delay = int(p, 'user-delay', 0, 60_000);
  for (const u of parseUserMemory(strs(p, 'user'))) {
    if (delay === 0) coll.userMemory.provide(u.addr, u.bytes);
    else
      coll.userMemory.provideLater(
        u.addr,
        u.bytes.length,
        new Promise((res) => setTimeout(() => res(u.bytes), delay)),
      );
  }
}

/** --follow: each record printed at once (the run's summary comes after them). */
function followEmitter(p: Parsed, io: Io): ((r: FollowedRecord) => void) | undefined {
  if (!flag(p, 'follow')) return undefined;
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0'));
  return (r) =>
    io.out(
      flag(p, 'json')
        ? json({
            at_ns: r.atNs,
            map: r.map,
            kind: r.kind,
            ...(r.cpu !== undefined ? { cpu: r.cpu } : {}),
            data: hex(r.data).join(''),
          })
        : `[+${r.atNs} ns] ${r.kind} ${r.map}${r.cpu !== undefined ? ` cpu ${r.cpu}` : ''}: ${hex(r.data).join(' ')}`,
    );
}

async function runObject(
  c: Common,
  spec: CollectionSpec,
  p: Parsed,
  emit?: (r: FollowedRecord) => void,
): Promise<Outcome> {
  if (strs(p, 'map').length)
    throw new UsageError('--map is for raw programs; an object defines its own maps');
  const ps = pickProgram(spec, str(p, 'prog'));
  if (ps.isSubprog) throw new UsageError(`${ps.name} is a .text function, not a program`);
  const typeOpt = str(p, 'type');
  if (typeOpt !== undefined && typeOpt !== ps.progType)
    throw new UsageError(
      `--type ${typeOpt}: section ${ps.section} makes ${ps.name} a ${ps.progType} program`,
    );
  const trace: string[] = [];
  const coll = newCollection(spec, {
    programs: programsToLoad(spec, ps.name),
    // Verified below, with --verify-limit and a rejection's exit code 1.
    verify: false,
    rodata: parseGlobals(strs(p, 'set')),
    vm: { budget: c.budget },
    engine: c.engine,
    onTrace: (line) => trace.push(line),
    ...coreTargetOpt(p),
  });
  try {
    const dir = bpffsDir(p);
    const reused = reusePins(coll, dir);
    if (c.verify) for (const prog of coll.programs.values()) verifyLoaded(c.path, coll, prog, c.verifyLimit);
    const prog = coll.program(ps.name);
    const data = c.data ?? (PACKET_TYPES.includes(prog.type) ? new Uint8Array(64) : undefined);
    // Sleepable programs read --user memory, delivered after --user-delay ms, and are awaited.
    provideUserMemory(coll, p);
    const r: ProgramRunResult & { sleeps?: number } = ps.sleepable
      ? await prog.runSleepable({ ctx: c.ctx, repeat: c.repeat })
      : prog.run({ data, ctx: c.ctx, repeat: c.repeat });
    const follow = emit
      ? await followTimers(coll, int(p, 'follow-ns', 1e9), int(p, 'follow-events', 100_000), emit)
      : undefined;
    const saved = savePins(coll, dir, c.path, flag(p, 'pin-maps'));
    const pinned = reused.length || saved.pinned.length || saved.skipped.length;
    return {
      ...(pinned ? { pins: { reused, ...saved } } : {}),
      ...(follow ? { follow } : {}),
      type: prog.type,
      prog: prog.name,
      retval: r.retval,
      r0: r.r0,
      durationNs: r.durationNs,
      compileNs: r.compileNs,
      setupNs: r.setupNs,
      dataOut: r.dataOut,
      ...(r.ctxOut ? { ctxOut: r.ctxOut } : {}),
      insns: r.insns,
      ...(r.sleeps !== undefined ? { sleeps: r.sleeps } : {}),
      verified: c.verify,
      trace,
      dumps: dumpAll(
        prog.linked.maps.map((m) => coll.map(m.name)),
        c.dumpMaps,
      ),
    };
  } finally {
    coll.close();
  }
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a program once (or --repeat times) as BPF_PROG_TEST_RUN would',
  usage: `run [options] FILE.bin|FILE.s|FILE.o    ('-' reads raw bytecode from stdin)

  --type T          raw programs: socket_filter (default) | sched_cls | sched_act |
                    xdp | syscall | raw_tracepoint; an object's section decides
  --prog NAME       the program of an object (needed when it has several)
  --set NAME=VAL    objects: set a global (const volatile) variable before loading
  --map SPEC        raw programs: TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES, repeatable;
                    lddw src=1 (map) / src=2 (value address) imm=i names the i-th map
                    (kbpf's syntax; 'tsbpf obj link' prints them for an object)
  --data FILE       packet / data_in (default: 64 zero bytes, like kbpf)
  --ctx FILE        ctx_in (__sk_buff, xdp_md, or the syscall argument block)
  --repeat N        run N times on the same packet and context, as the kernel does;
                    duration_ns is the mean time of one run (compiling, context setup
                    and copies are outside it: --json has them as compile_ns, setup_ns)
  --dump-maps       print every map element after the run
  --engine E        jit (default: eBPF compiled to WebAssembly) | interp
  --max-insns N     stop a run after N instructions (default ${DEFAULT_BUDGET})
  --verify-limit N  instructions the verifier may process (default 1000000, the kernel's)
  --user ADDR=HEX   sleepable programs: user memory bpf_copy_from_user reads, repeatable
  --user-delay MS   deliver the --user memory after MS ms (the program sleeps meanwhile)
${btfUsage(20)}
  --follow          objects: after the run, let armed timers fire (virtual time, up to
                    --follow-ns N, default 1e9, and --follow-events N, default 100000)
                    and print each ring/perf buffer record as its event ends
                    ('[+NS ns] ringbuf MAP: hex'; with --json one object per line)
  --pin-maps        objects: after the run, pin every map whose state is its
                    elements under the bpffs directory ('tsbpf map dump pinned NAME')
  --bpffs DIR       where pins live (default $TSBPF_BPFFS or ./.tsbpf/bpffs); maps
                    with pinning LIBBPF_PIN_BY_NAME reuse DIR/NAME and are pinned there
  --no-verify       run without the verifier (by default a program it rejects
                    does not run, as the kernel would not load it)
  --json            {"retval", "duration_ns", "compile_ns", "setup_ns", "data_out",
                    "ctx_out"?, "maps"?, ...}

  Exit code 1 when the verifier rejects the program, or it faults or exceeds --max-insns.`,
  async run(argv, io) {
    const p = parseCommandArgs('run', argv, {
      type: { type: 'string' },
      prog: { type: 'string' },
      set: { type: 'string', multiple: true },
      map: { type: 'string', multiple: true },
      data: { type: 'string' },
      ctx: { type: 'string' },
      repeat: { type: 'string' },
      'dump-maps': { type: 'boolean' },
      engine: { type: 'string' },
      'max-insns': { type: 'string' },
      'no-verify': { type: 'boolean' },
      'verify-limit': { type: 'string' },
      user: { type: 'string', multiple: true },
      'user-delay': { type: 'string' },
      'pin-maps': { type: 'boolean' },
      follow: { type: 'boolean' },
      'follow-ns': { type: 'string' },
      'follow-events': { type: 'string' },
      ...BPFFS_OPTION,
      json: { type: 'boolean' },
      ...BTF_OPTION,
    });
    const engine = str(p, 'engine') ?? 'jit';
    if (engine !== 'interp' && engine !== 'jit')
      throw new UsageError(`--engine ${engine}: expected interp or jit`);
    const path = onePositional(p, 'run', 'FILE');
    const budget = int(p, 'max-insns', DEFAULT_BUDGET);
    if (budget === 0) throw new UsageError('--max-insns must be at least 1');
    const dataPath = str(p, 'data');
    const ctxPath = str(p, 'ctx');
    const c: Common = {
      path,
      repeat: int(p, 'repeat', 1, 0xffffffff),
      budget,
      verify: !flag(p, 'no-verify'),
      verifyLimit: int(p, 'verify-limit', 1_000_000),
      dumpMaps: flag(p, 'dump-maps'),
      engine,
      ...(dataPath ? { data: readInput(dataPath) } : {}),
      ...(ctxPath ? { ctx: readInput(ctxPath) } : {}),
    };
    const input = loadInput(path);
    const r = input.spec
      ? await runObject(c, input.spec, p, followEmitter(p, io))
      : runRaw(c, input.bytes, input.kind as 'asm' | 'raw', p);

    const dumps = r.dumps;
    if (flag(p, 'json')) {
      io.out(
        json({
          retval: r.retval,
          r0: r.r0,
          duration_ns: r.durationNs,
          compile_ns: r.compileNs,
          setup_ns: r.setupNs,
          data_out: toHex(r.dataOut),
          ...(r.ctxOut ? { ctx_out: toHex(r.ctxOut) } : {}),
          insns_executed: r.insns,
          ...(r.sleeps !== undefined ? { sleeps: r.sleeps } : {}),
          type: r.type,
          ...(r.prog ? { prog: r.prog } : {}),
          verified: r.verified,
          ...(r.trace.length ? { trace: r.trace } : {}),
          ...(dumps.length ? { maps: dumps } : {}),
          ...(r.pins ? { pins: r.pins } : {}),
          ...(r.follow
            ? {
                follow: {
                  events: r.follow.events,
                  records: r.follow.records,
                  ringbuf_lost: r.follow.ringbufLost,
                  perf_lost: r.follow.perfLost,
                  cut: r.follow.cut,
                },
              }
            : {}),
        }),
      );
      return 0;
    }
    const lines = [`retval: ${r.retval}`, `duration_ns: ${r.durationNs}`];
    if (r.dataOut.length) lines.push(`data_out: ${toHex(r.dataOut)}`);
    if (r.ctxOut) lines.push(`ctx_out: ${toHex(r.ctxOut)}`);
    if (r.follow)
      lines.push(
        `follow: ${r.follow.events} events, ${r.follow.records} records, lost ${r.follow.ringbufLost} ringbuf / ${r.follow.perfLost} perf${r.follow.cut ? ' (stopped at --follow-events)' : ''}`,
      );
    for (const path of r.pins?.reused ?? []) lines.push(`reused pin: ${path}`);
    for (const x of r.pins?.pinned ?? []) lines.push(`pinned: ${x.map} at ${x.path}`);
    for (const x of r.pins?.skipped ?? []) lines.push(`not pinned: ${x.map}: ${x.why}`);
    lines.push(`insns_executed: ${r.insns}`);
    if (r.sleeps !== undefined) lines.push(`sleeps: ${r.sleeps}`);
    for (const t of r.trace) lines.push(`trace: ${t}`);
    for (const d of dumps) for (const e of d.entries) lines.push(`map${d.index}[${e.key}]: ${e.value}`);
    io.out(lines.join('\n'));
    return 0;
  },
};
