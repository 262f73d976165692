// Public API of the verifier: verify(program, options) answers like the Linux 6.18 verifier run
// by root (uninitialised stack reads and pointer leaks allowed, 1M processed-insn limit), with a
// kernel-format log. A rejection is a normal result; only tsbpf's own bugs throw (InternalError).
import type { Btf } from '../btf/btf.ts';
import type { FuncInfo, LineInfo } from '../btf/ext-info.ts';
import { InternalError } from '../errors.ts';
import type { Insn } from '../isa/index.ts';
import { formatKernelInsn, opcode as opNs, VALID_OPCODES } from '../isa/index.ts';
import { findGlobalFuncs } from './check/global-func.ts';
import { withInnerMaps } from './check/map-in-map.ts';
import { checkMaxStackDepth } from './check/stack-depth.ts';
import { checkCfg, checkSubprogs, successorTable } from './cfg.ts';
import { kfuncParamCount, knownKfunc } from './check/kfunc.ts';
import type { MapInfo, ProgTypeName, VerifierEnv, VerifierOptions } from './env.ts';
import { reject, VerifierReject } from './env.ts';
import type { Principle } from './explain.ts';
import { explain } from './explain.ts';
import { doCheck } from './explore.ts';
import { hasFeature } from '../kernels/features.ts';
import { computeLiveRegs } from './liveness.ts';
import { getHelperProto } from './protos.ts';
import { VerifierLog } from './log.ts';
import { checkProgTypeCaps } from './privs.ts';
import { checkKernelLoad, kernelExplain, kernelInsnBlocks, kernelWording, resolveKernel } from './profile.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

export type { MapInfo, ProgTypeName, VerifierOptions } from './env.ts';
export type { Principle } from './explain.ts';
export type { KernelOption } from './profile.ts';

export interface VerifyProgram {
  insns: readonly Insn[];
  progType: ProgTypeName;
  /** Loaded with BPF_F_SLEEPABLE (default: syscall programs, as libbpf loads them). */
  sleepable?: boolean;
  maps?: readonly MapInfo[];
  lineInfo?: readonly LineInfo[];
  funcInfo?: readonly FuncInfo[];
  /**
   * What each kfunc call's imm names (`call` src=BPF_PSEUDO_KFUNC_CALL): the kernel resolves a
   * vmlinux BTF id, tsbpf's loader its own ids (runtime KFUNC_IDS). Calls to other ids are refused.
   */
  kfuncs?: ReadonlyMap<number, string>;
  /** libbpf's expected attach type ('trace_iter', 'trace_raw_tp', ...). */
  attachType?: string;
  /** The attach target named by the section (iter/task → 'task'). */
  attachTo?: string;
  /** The program's BTF: global function signatures, and kernel struct layouts without `kernelBtf`. */
  btf?: Btf;
  /** The BTF CO-RE relocations were resolved against (e.g. vmlinux): kernel struct layouts. */
  kernelBtf?: Btf;
  /**
   * The kernel's BTF (/sys/kernel/btf/vmlinux) that fentry/fexit/fmod_ret/lsm/tp_btf attach
   * points are found in, typing their ctx arguments; default: `kernelBtf`, then `btf`.
   */
  attachBtf?: Btf;
}

export interface VerifyStats {
  insnsProcessed: number;
  maxStatesPerInsn: number;
  totalStates: number;
  peakStates: number;
  /** Stack bytes per function, as the kernel's `stack depth` line. */
  stackDepth: number[];
}

export interface VerifyError {
  insnIdx: number;
  /** The kernel's message (its first line). */
  message: string;
  /** The C source line, when line info came with the program. */
  line?: { file: string; line: number; text: string };
  principle: Principle;
  hint: string;
}

export interface VerifyResult {
  verdict: 'accept' | 'reject';
  insnsProcessed: number;
  stats: VerifyStats;
  log: string[];
  error?: VerifyError;
  /**
   * Accepted programs: per instruction, the pointer type its load or store went through
   * (kernel: insn_aux_data.ptr_type), undefined where none was seen. The JIT drops run-time
   * checks by it.
   */
  ptrTypes?: (string | undefined)[];
  /**
   * Accepted programs: the end of the furthest ctx byte accessed (kernel: max_ctx_offset). A
   * syscall or raw tracepoint test run with a shorter ctx fails with EINVAL, as in the kernel.
   */
  maxCtxOffset?: number;
}

/** kernel: BPF_COMPLEXITY_LIMIT_INSNS, BPF_MAXINSNS */
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;
export const BPF_MAXINSNS = 4096;
/** kernel: BPF_FUNC_tail_call */
const BPF_FUNC_TAIL_CALL = 12;

// kernel: resolve_pseudo_ldimm64() and the opcode check done while resolving
/**
 * Map types a sleepable program may use (kernel: check_map_prog_compatibility(); checked with
 * kobj on 6.18: queue, stack, the per-CPU hashes and maps of maps load, bloom filter, LPM trie,
 * perf event array and prog array do not). Local storage, user ringbuf and arena are there too.
 */
const SLEEPABLE_MAP_TYPES = new Set([
  'hash',
  'lru_hash',
  'array',
  'percpu_hash',
  'percpu_array',
  'lru_percpu_hash',
  'array_of_maps',
  'hash_of_maps',
  'ringbuf',
  'user_ringbuf',
  'inode_storage',
  'sk_storage',
  'task_storage',
  'cgrp_storage',
  'queue',
  'stack',
  'arena',
]);

// kernel: is_tracing_prog_type()
const TRACING_PROG_TYPES = new Set([
  'kprobe',
  'tracepoint',
  'perf_event',
  'raw_tracepoint',
  'raw_tracepoint_writable',
]);

// kernel: check_map_prog_compatibility(): maps holding a lock or a timer, by program type
function checkMapProgCompatibility(map: MapInfo, progType: string): void {
  if (map.spinLockOff !== undefined) {
    if (progType === 'socket_filter') reject('socket filter progs cannot use bpf_spin_lock yet');
    if (TRACING_PROG_TYPES.has(progType)) reject('tracing progs cannot use bpf_spin_lock yet');
  }
  if (map.timerOff !== undefined && TRACING_PROG_TYPES.has(progType))
    reject('tracing progs cannot use bpf_timer yet');
}

function resolvePseudoLdimm64(
  insns: readonly Insn[],
  maps: readonly MapInfo[],
  sleepable: boolean,
  progType: string,
): void {
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const c = op.cls(insn.code);
    if (
      c === op.CLASS_LDX &&
      ((op.mode(insn.code) !== op.MODE_MEM && op.mode(insn.code) !== op.MODE_MEMSX) || insn.imm !== 0)
    ) {
      reject('BPF_LDX uses reserved fields');
    }
    if (insn.code === op.OP_LDDW) {
      const next = insns[i + 1];
      if (next?.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0)
        reject('invalid bpf_ld_imm64 insn');
      const src = insn.src;
      if (src === 0 || src === op.PSEUDO_FUNC) {
        i++;
        continue;
      }
      const isValue = src === op.PSEUDO_MAP_VALUE || src === op.PSEUDO_MAP_IDX_VALUE;
      const isFd = src === op.PSEUDO_MAP_FD || src === op.PSEUDO_MAP_IDX;
      if (!isValue && !(isFd && (insn.imm64Hi ?? 0) === 0)) reject('unrecognized bpf_ld_imm64 insn');
      const map = maps[insn.imm];
      if (!map) reject(`fd ${insn.imm} is not pointing to valid bpf_map`);
      checkMapProgCompatibility(map, progType);
      if (sleepable && !SLEEPABLE_MAP_TYPES.has(map.type))
        reject('Sleepable programs can only use array, hash, ringbuf and local storage maps');
      if (isValue) {
        const off = (insn.imm64Hi ?? 0) >>> 0;
        if (off >= 1 << 29) reject(`direct value offset of ${off} is not allowed`);
        if (map.type !== 'array') reject('no direct value access support for this map type');
        if (map.maxEntries !== 1 || off >= map.valueSize) {
          reject(`invalid access to map value pointer, value_size=${map.valueSize} off=${off}`);
        }
      }
      i++;
      continue;
    }
    if (!VALID_OPCODES.has(insn.code)) reject(`unknown opcode ${insn.code.toString(16).padStart(2, '0')}`);
  }
}

// kernel: check_abnormal_return(), from check_btf_info() when neither func_info nor line_info
// came: BTF says whether a function returns int, which LD_ABS and tail calls in it rely on
// kernel: get_call_summary(): the argument registers a helper or kfunc call reads
function callParams(env: VerifierEnv, insn: Insn): number | undefined {
  if (insn.src === opNs.PSEUDO_KFUNC_CALL) return kfuncParamCount(env.kfuncs.get(insn.imm));
  if (insn.src !== 0) return undefined;
  const fn = getHelperProto(insn.imm, env.progType, env.attachType, env.opts.unprivileged, env.opts.perfmon);
  if (!fn) return undefined;
  const n = fn.args.findIndex((a) => a.type === 'ARG_DONTCARE');
  return n < 0 ? Math.min(fn.args.length, 5) : n;
}

function checkAbnormalReturn(env: VerifierEnv): void {
  for (let k = 1; k < env.subprogs.length; k++) {
    const end = env.subprogs[k + 1]?.start ?? env.insns.length;
    let ldAbs = false;
    let tailCall = false;
    for (let i = env.subprogs[k]!.start; i < end; i++) {
      const insn = env.insns[i]!;
      const m = op.mode(insn.code);
      if (op.cls(insn.code) === op.CLASS_LD && (m === op.MODE_ABS || m === op.MODE_IND)) ldAbs = true;
      if (insn.code === op.OP_CALL && insn.src === 0 && insn.imm === BPF_FUNC_TAIL_CALL) tailCall = true;
      if (insn.code === op.OP_LDDW) i++;
    }
    if (ldAbs) reject('LD_ABS is not allowed in subprogs without BTF');
    if (tailCall) reject('tail_call is not allowed in subprogs without BTF');
  }
}

/** Line info by instruction; loaders give it sorted, so usually the caller's array as it is. */
function sortedLineInfo(lineInfo: readonly LineInfo[]): readonly LineInfo[] {
  for (let i = 1; i < lineInfo.length; i++)
    if (lineInfo[i]!.insnIdx < lineInfo[i - 1]!.insnIdx)
      return [...lineInfo].sort((a, b) => a.insnIdx - b.insnIdx);
  return lineInfo;
}

function sourceLine(lineInfo: readonly LineInfo[], idx: number): VerifyError['line'] {
  let best: LineInfo | undefined;
  for (const li of lineInfo) if (li.insnIdx <= idx) best = li;
  return best ? { file: best.fileName, line: best.line, text: best.lineText.trim() } : undefined;
}

/** Verifies one program as the kernel would when root loads it. */
export function verify(prog: VerifyProgram, opts: VerifierOptions = {}): VerifyResult {
  // Level 1 keeps only the path that failed, but formatting every path's states costs more than
  // exploring them: explore without a log first, and only for a rejection explore again with
  // the log on (exploration is deterministic, so the second run fails the same way).
  if ((opts.logLevel ?? 1) === 1) {
    const quick = verifyOnce(prog, { ...opts, logLevel: 0 });
    if (quick.verdict === 'accept') {
      quick.log = [statsLine(quick.stats)];
      return quick;
    }
  }
  return verifyOnce(prog, opts);
}

function statsLine(stats: VerifyStats): string {
  return `processed ${stats.insnsProcessed} insns (limit ${BPF_COMPLEXITY_LIMIT_INSNS}) max_states_per_insn ${stats.maxStatesPerInsn} total_states ${stats.totalStates} peak_states ${stats.peakStates} mark_read 0`;
}

function verifyOnce(prog: VerifyProgram, opts: VerifierOptions): VerifyResult {
  const insns = prog.insns;
  const logLevel = opts.logLevel ?? 1;
  const log = new VerifierLog(logLevel);
  const kernel = opts.kernel !== undefined ? resolveKernel(opts.kernel) : undefined;
  const lineInfo = sortedLineInfo(prog.lineInfo ?? []);
  const withInner = withInnerMaps(prog.maps ?? []);
  const env: VerifierEnv = {
    insns,
    progType: prog.progType,
    sleepable: prog.sleepable ?? prog.progType === 'syscall',
    kfuncs: prog.kfuncs ?? new Map(),
    maps: withInner.maps,
    innerMapIndex: withInner.innerIndex,
    // every field present, unset ones undefined: one object shape for every program, so the
    // checks' reads of env stay monomorphic (spreads of optional fields made a shape per mix)
    attachType: prog.attachType,
    attachTo: prog.attachTo,
    btf: prog.btf,
    layoutBtf: prog.kernelBtf ?? prog.btf,
    attachBtf: prog.attachBtf,
    subprogs: [{ start: 0, stackDepth: 0 }],
    globalFuncs: [],
    globalCalled: new Set(),
    lineInfo,
    hasFuncInfo: (prog.funcInfo?.length ?? 0) > 0,
    aux: insns.map(() => ({
      prunePoint: false,
      jmpPoint: false,
      forceCheckpoint: false,
      callsCallback: false,
      mayGoto: false,
      liveRegsBefore: 0x7ff,
      seen: false,
      aluState: 0,
      aluLimit: 0,
      nospec: false,
      nospecResult: false,
      ptrType: undefined,
    })),
    liveStack: undefined,
    log,
    opts: {
      logLevel,
      unprivileged: opts.unprivileged ?? false,
      perfmon: (opts.perfmon ?? true) && !opts.unprivileged,
      insnLimit: opts.insnLimit ?? kernel?.maxProcessedInsns ?? BPF_COMPLEXITY_LIMIT_INSNS,
    },
    exploreAluLimits: false,
    idGen: 0,
    maxCtxOffset: 0,
    insnProcessed: 0,
    prevInsnProcessed: 0,
    jmpsProcessed: 0,
    prevJmpsProcessed: 0,
    totalStates: 0,
    peakStates: 0,
    curStates: 0,
    maxStatesPerInsn: 0,
    kernelBlocks: undefined,
    explored: new Array(insns.length).fill(undefined),
    cur: null,
    insnIdx: 0,
    prevInsnIdx: -1,
  };
  log.btf = env.layoutBtf;
  log.progBtf = env.btf;
  let failure: VerifierReject | null = null;
  try {
    if (insns.length === 0) reject('empty program');
    checkProgTypeCaps(env);
    if (env.opts.unprivileged && insns.length > BPF_MAXINSNS) {
      reject(
        `program of ${insns.length} insns is too large for an unprivileged load (limit ${BPF_MAXINSNS})`,
      );
    }
    if (kernel) checkKernelLoad(env, kernel);
    resolvePseudoLdimm64(insns, prog.maps ?? [], env.sleepable, prog.progType);
    env.subprogs = checkSubprogs(insns, (imm) => knownKfunc(env.kfuncs.get(imm)));
    const noBtfInfo = (prog.funcInfo?.length ?? 0) === 0 && lineInfo.length === 0;
    if (noBtfInfo && (kernel?.tailCallsInSubprogs ?? true)) checkAbnormalReturn(env);
    // before 5.6 (51c39bb1d5d1) libbpf makes global functions static: verified in every caller's context
    env.globalFuncs =
      kernel && !kernel.globalFunctions
        ? env.subprogs.map(() => null)
        : findGlobalFuncs(env, prog.funcInfo ?? []);
    checkCfg(insns, env.subprogs, env.aux);
    if (kernel) env.kernelBlocks = kernelInsnBlocks(insns, prog.progType, env.subprogs, kernel);
    // stack slot liveness waits until pruning first compares a stack (liveStackOf())
    const live = computeLiveRegs(insns, successorTable(insns, true), (insn) => callParams(env, insn));
    for (let i = 0; i < insns.length; i++) env.aux[i]!.liveRegsBefore = live[i]!;
    if (logLevel >= 2) {
      for (let i = 0; i < env.subprogs.length; i++) log.add(`func#${i} @${env.subprogs[i]!.start}`);
      // kernel: print_insn_live_regs() after compute_live_registers()
      log.add('Live regs before insn:');
      for (let i = 0; i < insns.length; i++) {
        let regs = '';
        for (let r = 0; r < 10; r++) regs += live[i]! & (1 << r) ? String(r) : '.';
        log.add(`${String(i).padStart(7)}: ${regs} ${formatKernelInsn(insns, i)}`);
        if (insns[i]!.code === op.OP_LDDW) i++;
      }
    }
    doCheck(env);
    // kernel: on success at level 1 only the statistics remain
    if (logLevel < 2) log.truncate({ lines: 0, lastLen: 0 });
    checkMaxStackDepth(env, {
      tailCallRule: kernel?.tailCallsInSubprogs ?? true,
      privStack: kernel ? hasFeature(kernel.version, '6.13') : true,
    });
  } catch (e) {
    if (!(e instanceof VerifierReject)) {
      if (e instanceof InternalError) throw e;
      throw new InternalError(`verifier crashed at insn ${env.insnIdx}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    failure = kernel ? new VerifierReject(kernelWording(e.message, kernel), ...e.lines.slice(1)) : e;
    // before exploration the message names the instruction (unreachable insn 7, jump ... from insn 3)
    const named = /\binsn (\d+)/.exec(e.message);
    if (env.insnProcessed === 0 && named)
      env.insnIdx = Math.min(Number(named[1]), Math.max(0, insns.length - 1));
    for (const line of failure.lines) log.add(line);
    const ex =
      (kernel && kernelExplain(failure.message, insns[env.insnIdx], kernel)) ??
      explain(failure.message, insns[env.insnIdx], prog.progType);
    log.add(`tsbpf: ${ex.principle}: ${ex.hint}`);
  }
  const stats: VerifyStats = {
    insnsProcessed: env.insnProcessed,
    maxStatesPerInsn: env.maxStatesPerInsn,
    totalStates: env.totalStates,
    peakStates: env.peakStates,
    stackDepth: env.subprogs.map((s) => s.stackDepth),
  };
  if (logLevel > 0) log.add(statsLine(stats));
  const result: VerifyResult = {
    verdict: failure ? 'reject' : 'accept',
    insnsProcessed: env.insnProcessed,
    stats,
    log: log.toLines(),
  };
  if (!failure) {
    result.ptrTypes = env.aux.map((a) => a.ptrType);
    result.maxCtxOffset = env.maxCtxOffset;
  }
  if (failure) {
    const insnIdx = env.insnIdx;
    const ex =
      (kernel && kernelExplain(failure.message, insns[insnIdx], kernel)) ??
      explain(failure.message, insns[insnIdx], prog.progType);
    const line = sourceLine(lineInfo, insnIdx);
    result.error = { insnIdx, message: failure.message, principle: ex.principle, hint: ex.hint };
    if (line) result.error.line = line;
  }
  return result;
}
