// tsbpf verify: the verifier's verdict and kernel-format log, without running anything
// (what kbpf --log prints for the kernel's verifier). With --kernel, first the static feature scan
// for that release (src/kernels/), then the verifier under that release's limits.
import type { Btf } from '../../btf/btf.ts';
import type { CollectionSpec, LinkedProgram } from '../../elf/index.ts';
import { linkProgram } from '../../elf/link.ts';
import type { ProgType } from '../../elf/sections.ts';
import { UsageError } from '../../errors.ts';
import {
  compareVersions,
  firstReason,
  KERNEL_VERSIONS,
  kernelProfile,
  kernelVerdicts,
  type ScanResult,
  scanObject,
  scanProgram,
} from '../../kernels/index.ts';
import { resolveKfuncCalls } from '../../runtime/kfunc-calls.ts';
import { linkedVerifyProgram } from '../../runtime/verify-btf.ts';
import { verify } from '../../verifier/index.ts';
import { flag, int, onePositional, type Parsed, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import type { Io } from '../io.ts';
import { json } from '../io.ts';
import { mapInfo, parseMapSpec } from '../map-spec.ts';
import { loadInput, pickProgram, programFromBytes } from '../program-input.ts';
import { BTF_OPTION, btfUsage, coreTargetOpt } from '../target-btf.ts';
import { VerifierRejection } from '../verify-hook.ts';

type VerifyProgram = Parameters<typeof verify>[0];

/** One program to verify, with the linked form the static scan reads. */
interface Target {
  name: string | undefined;
  req: VerifyProgram;
  linked: LinkedProgram;
}

function objectTarget(
  spec: CollectionSpec,
  name: string,
  typeOpt: ProgType | undefined,
  core: { coreTarget?: Btf },
): Target {
  const linked = linkProgram(resolveKfuncCalls(spec), name, { mapIndex: 'used', ...core });
  return {
    name: linked.name,
    linked,
    req: {
      // the target the offsets were relocated against also types kernel structs and attach points
      ...linkedVerifyProgram(spec, linked, core.coreTarget ? { coreTarget: core.coreTarget } : {}),
      progType: typeOpt ?? linked.progType,
    },
  };
}

/** A raw program viewed as a linked one, so the scan can read its instructions and type. */
function rawLinked(path: string, req: VerifyProgram): LinkedProgram {
  return {
    name: path,
    section: '',
    progType: req.progType as ProgType,
    sleepable: false,
    xdpFrags: false,
    license: 'GPL',
    kernelVersion: 0,
    insns: [...req.insns],
    maps: [],
    objectMapIndex: [],
    mapIndex: 'used',
    functions: [{ name: path, section: '', insnOff: 0 }],
    funcInfo: [],
    lineInfo: [],
    coreRelos: [],
  };
}

/** The programs a command line names, and the scan of what they need. */
function targetsOf(
  path: string,
  p: Parsed,
  all: boolean,
): { targets: Target[]; scan: (v: string[]) => ScanResult } {
  const input = loadInput(path);
  const typeOpt = str(p, 'type') as ProgType | undefined;
  const core = coreTargetOpt(p);
  if (input.spec) {
    const spec = input.spec;
    if (strs(p, 'map').length)
      throw new UsageError('--map is for raw programs; an object defines its own maps');
    const name = str(p, 'prog');
    if (all && name === undefined) {
      // libbpf loads every autoloaded program of the object: the scan and the verifier see them all.
      const names = spec.programs.filter((x) => x.autoload && !x.unknownSection).map((x) => x.name);
      if (names.length === 0) throw new UsageError(`${spec.file}: the object has no programs to load`);
      return {
        targets: names.map((n) => objectTarget(spec, n, typeOpt, core)),
        scan: (v) => scanObject(spec, v),
      };
    }
    const t = objectTarget(spec, pickProgram(spec, name).name, typeOpt, core);
    return { targets: [t], scan: (v) => scanProgram(t.linked, v) };
  }
  if (str(p, 'prog') !== undefined)
    throw new UsageError(`${path} is not an ELF object; --prog applies to objects`);
  const req: VerifyProgram = {
    insns: programFromBytes(path, input.bytes, input.kind),
    progType: typeOpt ?? 'socket_filter',
    maps: strs(p, 'map').map((s) => mapInfo(parseMapSpec(s))),
  };
  const linked = rawLinked(path, req);
  return { targets: [{ name: undefined, req, linked }], scan: (v) => scanProgram(linked, v) };
}

/** "5.10" → ["5.10"], "all" → every profiled release; anything else is a usage error (exit 2). */
function kernelVersions(arg: string): string[] {
  if (arg === 'all') return [...KERNEL_VERSIONS];
  let version: string;
  try {
    version = kernelProfile(arg).version;
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`--kernel: ${e.message} (or "all")`);
    throw e;
  }
  // eBPF (the bpf() syscall's instruction set) starts at 3.15; nothing older can load anything.
  if (compareVersions(version, '3.15') < 0 || compareVersions(version, '99.0') >= 0)
    throw new UsageError(`--kernel: ${arg} is not an eBPF kernel release (3.15 or newer, or "all")`);
  return [version];
}

function runKernel(path: string, p: Parsed, io: Io): number {
  if (str(p, 'limit') !== undefined)
    throw new UsageError('--limit and --kernel both set the processed-insn limit; give one');
  const versions = kernelVersions(str(p, 'kernel') ?? '');
  const all = versions.length > 1;
  const { targets, scan } = targetsOf(path, p, true);
  const scanned = scan(versions);
  const outcomes = kernelVerdicts(targets, scanned, versions, {
    logLevel: int(p, 'log', 1, 2),
    unprivileged: flag(p, 'unprivileged'),
  });
  if (flag(p, 'json')) {
    io.out(
      json({
        file: path,
        min_version: scanned.minVersion,
        kernels: outcomes.map((o) => ({
          version: o.version,
          verdict: o.verdict,
          max_processed_insns: o.maxProcessedInsns,
          reasons: o.reasons.map(({ insnIdx, ...r }) => ({
            ...r,
            ...(insnIdx !== undefined ? { insn_idx: insnIdx } : {}),
          })),
          programs: o.programs.map((x) => ({
            name: x.name ?? path,
            verdict: x.res.verdict,
            insns_processed: x.res.insnsProcessed,
            ...(all ? {} : { log: x.res.log }),
          })),
        })),
      }),
    );
  } else if (all) {
    const rows = outcomes.map((o) =>
      `${o.version.padEnd(6)} ${o.verdict.padEnd(8)} ${firstReason(o)}`.trimEnd(),
    );
    io.out(
      [`min_version: ${scanned.minVersion} (static scan)`, 'kernel verdict  first reason', ...rows].join(
        '\n',
      ),
    );
  } else {
    const o = outcomes[0]!;
    const lines = [`kernel ${o.version}: ${o.verdict} (max processed insns ${o.maxProcessedInsns})`];
    lines.push(...o.reasons.map((r) => `  ${r.from === 'scan' ? 'missing' : 'kernel'}: ${r.text}`));
    for (const x of o.programs) {
      lines.push(`program ${x.name ?? path}: ${x.res.verdict}, insns_processed: ${x.res.insnsProcessed}`);
      if (x.res.verdict !== 'accept') lines.push(...x.res.log);
    }
    io.out(lines.join('\n'));
  }
  const decisive = outcomes[outcomes.length - 1]!; // the newest release asked about
  if (decisive.verdict === 'ok') return 0;
  if (!all)
    io.err(`tsbpf verify: ${path}: ${decisive.verdict} on ${decisive.version}: ${firstReason(decisive)}`);
  else io.err(`tsbpf verify: ${path}: does not load on ${decisive.version}: ${firstReason(decisive)}`);
  return 1;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Verify a program as the kernel would when root loads it, and print the log',
  usage: `verify [options] FILE.bin|FILE.s|FILE.o

  --type T        raw programs: the program type (default socket_filter)
  --prog NAME     the program of an object (needed when it has several, except with --kernel)
  --map SPEC      raw programs: TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES (as for run)
  --log N         log level: 0 none, 1 (default) errors and statistics, 2 every state
  --limit N       instructions the verifier may process (default 1000000)
  --unprivileged  verify as a loader without CAP_BPF would be (implies --no-perfmon)
  --no-perfmon    verify as a loader with CAP_BPF but without CAP_PERFMON: no pointer leaks, no
                  reads of uninitialised stack, Spectre v1 paths explored ("speculative execution")
${btfUsage(18)}
  --kernel V      will it load on Linux V ("5.10")? The verifier as V ran it (its opcodes, helpers,
                  loop, call and tail-call rules, processed-insn limit; V's messages, "kernel:")
                  and the static feature scan for V (a missing helper, map type, context field...:
                  "missing:"). Verdict "blocked" when V lacks a feature, "rejected" when only V's
                  verifier refuses. Without --prog, every program of the object.
                  "all": verdict and first reason for ${KERNEL_VERSIONS.join(', ')}.
  --json          {"verdict", "insns_processed", "stats", "log", "error"?}; with --kernel
                  {"file", "min_version", "kernels": [{"version", "verdict", "max_processed_insns",
                  "reasons", "programs"}]}

  Exit code 0 when the program is accepted, 1 when it is rejected; with --kernel, 0 when it loads
  on V (for "all", on the newest release, ${KERNEL_VERSIONS[KERNEL_VERSIONS.length - 1]}), 1 otherwise. 2 for bad usage.`,
  run(argv, io) {
    const p = parseCommandArgs('verify', argv, {
      type: { type: 'string' },
      prog: { type: 'string' },
      map: { type: 'string', multiple: true },
      log: { type: 'string' },
      limit: { type: 'string' },
      unprivileged: { type: 'boolean' },
      'no-perfmon': { type: 'boolean' },
      kernel: { type: 'string' },
      json: { type: 'boolean' },
      ...BTF_OPTION,
    });
    const path = onePositional(p, 'verify', 'FILE');
    if (str(p, 'kernel') !== undefined) return runKernel(path, p, io);
    const logLevel = int(p, 'log', 1, 2);
    const insnLimit = int(p, 'limit', 1_000_000);
    const [target] = targetsOf(path, p, false).targets;
    const prog = target!.name;
    const res = verify(target!.req, {
      logLevel,
      insnLimit,
      unprivileged: flag(p, 'unprivileged'),
      perfmon: !flag(p, 'no-perfmon'),
    });
    const e = res.error;
    if (flag(p, 'json')) {
      io.out(
        json({
          verdict: res.verdict,
          insns_processed: res.insnsProcessed,
          stats: res.stats,
          log: res.log,
          ...(e ? { error: e } : {}),
        }),
      );
    } else {
      io.out([`verdict: ${res.verdict}`, `insns_processed: ${res.insnsProcessed}`, ...res.log].join('\n'));
    }
    if (res.verdict === 'accept') return 0;
    const where = { file: path, ...(prog ? { prog } : {}), ...(e ? { insnIdx: e.insnIdx } : {}) };
    const err = new VerifierRejection(
      `verifier rejected the program: ${e?.message ?? 'rejected'}`,
      where,
      res.log,
    );
    io.err(`tsbpf verify: ${err.format()}`);
    return 1;
  },
};
