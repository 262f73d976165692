// Program.run(): BPF_PROG_TEST_RUN for every program type a collection can hold. Packet and
// syscall-like types go through test-run.ts; tracing types (kprobe, tracepoint, perf_event,
// tracing), which the kernel cannot test-run, get r1 = a read-only copy of the given context.
import { UsageError } from '../errors.ts';
import { testRun, type TestRunProgType, timedRuns } from './test-run.ts';
import type { Collection, Program } from './collection.ts';
import type { RedirectAction } from './helpers/env.ts';

export interface ProgramRunOptions {
  /** data_in: the packet, Ethernet header included. */
  data?: Uint8Array;
  /** ctx_in. */
  ctx?: Uint8Array;
  /** Runs this many times (0 = 1); retval is the last run's. */
  repeat?: number;
}

export interface ProgramRunResult {
  retval: number;
  r0: bigint;
  dataOut: Uint8Array;
  ctxOut?: Uint8Array;
  /** Mean wall time of one run, ns: the timed loop holds the runs only (the kernel's duration). */
  durationNs: number;
  /** Compiling before the first run (the JIT), ns; not part of durationNs. */
  compileNs: number;
  /** Building the context and packet and copying them out, ns; not part of durationNs. */
  setupNs: number;
  insns: number;
  /** What bpf_redirect / bpf_redirect_map asked for in the last run. */
  redirect?: RedirectAction;
}

const TEST_RUN_TYPE: Record<string, TestRunProgType> = {
  xdp: 'xdp',
  sched_cls: 'sched_cls',
  sched_act: 'sched_act',
  socket_filter: 'socket_filter',
  // kernel: bpf_prog_test_run_skb() treats these like socket filters (no Ethernet header).
  cgroup_skb: 'socket_filter',
  lwt_in: 'socket_filter',
  lwt_out: 'socket_filter',
  lwt_xmit: 'socket_filter',
  syscall: 'syscall',
  raw_tracepoint: 'raw_tracepoint',
};
const CTX_ONLY = new Set(['kprobe', 'tracepoint', 'perf_event', 'tracing', 'raw_tracepoint_writable']);

export function runProgram(coll: Collection, prog: Program, opts: ProgramRunOptions): ProgramRunResult {
  const env = coll.env;
  env.progType = prog.type;
  env.redirect = undefined;
  const t = TEST_RUN_TYPE[prog.type];
  if (t) {
    const r = testRun(prog.loaded, {
      type: t,
      data: opts.data,
      ctx: opts.ctx,
      repeat: opts.repeat,
      vm: coll.vm,
    });
    return {
      retval: r.retval,
      r0: r.r0,
      dataOut: r.dataOut,
      ...(r.ctxOut ? { ctxOut: r.ctxOut } : {}),
      durationNs: r.durationNs,
      compileNs: r.compileNs,
      setupNs: r.setupNs,
      insns: r.insns,
      ...(env.redirect ? { redirect: env.redirect } : {}),
    };
  }
  if (CTX_ONLY.has(prog.type)) return runWithCtx(coll, prog, opts);
  throw new UsageError(`program ${prog.name}: running ${prog.type} programs is not supported`);
}

function runWithCtx(coll: Collection, prog: Program, opts: ProgramRunOptions): ProgramRunResult {
  if (opts.data) throw new UsageError(`${prog.type} programs take no data_in`);
  const vm = coll.vm;
  const a = vm.arena;
  const t0 = performance.now();
  const t1 = vm.prepare(prog.loaded) ? performance.now() : t0;
  const c = opts.ctx ?? new Uint8Array(0);
  const ctx =
    c.length > 0 ? a.alloc(c.length, 8, { kind: 'ctx', writable: false, name: `${prog.type} ctx` }) : 0;
  try {
    if (ctx) a.write(ctx, c);
    const loop = { ns: 0 };
    const { r, durationNs } = timedRuns(vm, prog.loaded, ctx, Math.max(1, opts.repeat ?? 1), loop);
    return {
      retval: r.u32,
      r0: r.value,
      dataOut: new Uint8Array(0),
      durationNs,
      compileNs: Math.round((t1 - t0) * 1e6),
      setupNs: Math.max(0, Math.round((performance.now() - t1) * 1e6 - loop.ns)),
      insns: r.insns,
    };
  } finally {
    if (ctx) a.freeBlock(ctx);
  }
}
