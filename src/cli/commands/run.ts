// tsbpf run: BPF_PROG_TEST_RUN in tsbpf, with the kbpf oracle's options and output keys.
import { UsageError } from '../../errors.ts';
import { linkProgram } from '../../elf/link.ts';
import type { Insn } from '../../isa/insn.ts';
import * as op from '../../isa/opcode.ts';
import { type TestRunProgType, testRun } from '../../runtime/test-run.ts';
import { DEFAULT_BUDGET, Vm } from '../../vm/vm.ts';
import { flag, int, onePositional, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import { json, readInput, toHex } from '../io.ts';
import { type CliMapSpec, createMap, dumpMap, mapSpecFromObject, parseMapSpec } from '../map-spec.ts';
import { loadInput, pickProgram, programFromBytes } from '../program-input.ts';
import { verifyForRun } from '../verify-hook.ts';

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
const PACKET_TYPES: readonly TestRunProgType[] = ['socket_filter', 'sched_cls', 'sched_act', 'xdp'];

function runnableType(t: string, from: string): TestRunProgType {
  if ((RUNNABLE as readonly string[]).includes(t)) return t as TestRunProgType;
  const why = LOAD_ONLY.includes(t) ? 'the kernel has no test run for it' : 'not a runnable type';
  throw new UsageError(`${from}: program type ${t} cannot be test-run: ${why} (use ${RUNNABLE.join(', ')})`);
}

interface Prepared {
  insns: Insn[];
  type: TestRunProgType;
  maps: CliMapSpec[];
  prog?: string;
}

function prepare(
  path: string,
  typeOpt: string | undefined,
  mapOpts: string[],
  progOpt: string | undefined,
): Prepared {
  const input = loadInput(path);
  if (input.spec) {
    if (mapOpts.length) throw new UsageError('--map is for raw programs; an object defines its own maps');
    const p = pickProgram(input.spec, progOpt);
    const linked = linkProgram(input.spec, p.name, { mapIndex: 'used' });
    const type = runnableType(typeOpt ?? linked.progType, typeOpt ? '--type' : `section ${linked.section}`);
    return { insns: linked.insns, type, maps: linked.maps.map(mapSpecFromObject), prog: linked.name };
  }
  if (progOpt !== undefined) throw new UsageError(`${path} is not an ELF object; --prog applies to objects`);
  const maps = mapOpts.map(parseMapSpec);
  const insns = programFromBytes(path, input.bytes, input.kind);
  checkMapRefs(insns, maps.length, path);
  return { insns, type: runnableType(typeOpt ?? 'socket_filter', '--type'), maps };
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

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a program once (or --repeat times) as BPF_PROG_TEST_RUN would',
  usage: `run [options] FILE.bin|FILE.s|FILE.o    ('-' reads raw bytecode from stdin)

  --type T          socket_filter (default) | sched_cls | sched_act | xdp | syscall |
                    raw_tracepoint; for an object, its section decides unless given
  --prog NAME       the program of an object (needed when it has several)
  --map SPEC        raw programs: TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES, repeatable;
                    lddw src=1 (map) / src=2 (value address) imm=i names the i-th map
                    (kbpf's syntax; 'tsbpf obj link' prints them for an object)
  --data FILE       packet / data_in (default: 64 zero bytes, like kbpf)
  --ctx FILE        ctx_in (__sk_buff, xdp_md, or the syscall argument block)
  --repeat N        run N times; duration_ns is the mean per run
  --dump-maps       print every array map element after the run
  --engine E        interp (default) | jit
  --max-insns N     stop a run after N instructions (default ${DEFAULT_BUDGET})
  --verify-limit N  instructions the verifier may process (default 1000000, the kernel's)
  --no-verify       run without the verifier (by default a program it rejects
                    does not run, as the kernel would not load it)
  --json            {"retval", "duration_ns", "data_out", "ctx_out"?, "maps"?, ...}

  Exit code 1 when the program faults, is rejected, or exceeds --max-insns.`,
  run(argv, io) {
    const p = parseCommandArgs('run', argv, {
      type: { type: 'string' },
      prog: { type: 'string' },
      map: { type: 'string', multiple: true },
      data: { type: 'string' },
      ctx: { type: 'string' },
      repeat: { type: 'string' },
      'dump-maps': { type: 'boolean' },
      engine: { type: 'string' },
      'max-insns': { type: 'string' },
      'no-verify': { type: 'boolean' },
      'verify-limit': { type: 'string' },
      json: { type: 'boolean' },
    });
    const engine = str(p, 'engine') ?? 'interp';
    if (engine === 'jit')
      throw new UsageError('--engine jit: the JIT is not implemented yet; use --engine interp');
    if (engine !== 'interp') throw new UsageError(`--engine ${engine}: expected interp or jit`);
    const path = onePositional(p, 'run', 'FILE');
    const repeat = int(p, 'repeat', 1, 0xffffffff);
    const budget = int(p, 'max-insns', DEFAULT_BUDGET);
    if (budget === 0) throw new UsageError('--max-insns must be at least 1');
    const dataPath = str(p, 'data');
    const ctxPath = str(p, 'ctx');
    const prep = prepare(path, str(p, 'type'), strs(p, 'map'), str(p, 'prog'));

    const data = dataPath
      ? readInput(dataPath)
      : PACKET_TYPES.includes(prep.type)
        ? new Uint8Array(64)
        : undefined;
    const ctx = ctxPath ? readInput(ctxPath) : undefined;
    const trace: string[] = [];
    const vm = new Vm({ budget, printk: (line) => trace.push(line) });
    const maps = prep.maps.map((m, i) => createMap(vm.arena, m, i));
    // Maps first, then the verifier: the order of BPF_MAP_CREATE and BPF_PROG_LOAD.
    let verified = false;
    if (!flag(p, 'no-verify')) {
      const v = verifyForRun({
        insns: prep.insns,
        progType: prep.type,
        maps: prep.maps,
        file: path,
        prog: prep.prog,
        insnLimit: int(p, 'verify-limit', 1_000_000),
      });
      if (v.status === 'rejected') throw v.error;
      verified = v.status === 'accepted';
    }

    const r = testRun(prep.insns, { type: prep.type, data, ctx, repeat, maps, vm, name: prep.prog ?? path });

    const dumps = flag(p, 'dump-maps')
      ? maps.map((m, i) => ({ index: i, name: m.name, type: m.typeName, entries: dumpMap(m) }))
      : [];
    if (flag(p, 'json')) {
      io.out(
        json({
          retval: r.retval,
          r0: r.r0,
          duration_ns: r.durationNs,
          data_out: toHex(r.dataOut),
          ...(r.ctxOut ? { ctx_out: toHex(r.ctxOut) } : {}),
          insns_executed: r.insns,
          type: prep.type,
          verified,
          ...(trace.length ? { trace } : {}),
          ...(dumps.length ? { maps: dumps } : {}),
        }),
      );
      return 0;
    }
    const lines = [`retval: ${r.retval}`, `duration_ns: ${r.durationNs}`];
    if (r.dataOut.length) lines.push(`data_out: ${toHex(r.dataOut)}`);
    if (r.ctxOut) lines.push(`ctx_out: ${toHex(r.ctxOut)}`);
    lines.push(`insns_executed: ${r.insns}`);
    for (const t of trace) lines.push(`trace: ${t}`);
    for (const d of dumps) for (const e of d.entries) lines.push(`map${d.index}[${e.key}]: ${e.value}`);
    io.out(lines.join('\n'));
    return 0;
  },
};
