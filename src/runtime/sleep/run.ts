// Test runs of programs that may sleep: run, and each time a sleepable helper throws a
// SleepRequest, snapshot the VM (registers, frames, stack), await the request, put the
// snapshot back and resume. Other programs may run on the collection meanwhile.
import { UsageError } from '../../errors.ts';
import type { RunResult } from '../../vm/vm.ts';
import { SleepRequest } from '../../vm/sleep.ts';
import type { Collection, Program } from '../collection.ts';
import type { ProgramRunOptions, ProgramRunResult } from '../run.ts';
import { checkCtxCoversAccesses } from '../test-run.ts';

export interface SleepableRunResult extends ProgramRunResult {
  /** Times the program went to sleep and resumed. */
  sleeps: number;
}

/**
 * Program types tsbpf runs with a context block (kernel: sleepable programs are syscall,
 * tracing, lsm, kprobe (uprobe.s) and iter); only syscall programs get ctx_out.
 */
const CTX_TYPES = new Set([
  'syscall',
  'kprobe',
  'tracing',
  'lsm',
  'tracepoint',
  'raw_tracepoint',
  'perf_event',
]);

export async function runSleepable(
  coll: Collection,
  prog: Program,
  opts: ProgramRunOptions,
): Promise<SleepableRunResult> {
  if (!CTX_TYPES.has(prog.type))
    throw new UsageError(
      `program ${prog.name}: ${prog.type} programs cannot sleep (no sleepable ${prog.type} programs)`,
    );
  if (opts.data) throw new UsageError(`${prog.type} programs take no data_in`);
  if ((opts.repeat ?? 0) > 1) throw new UsageError(`${prog.type} programs do not support repeat`);
  const c = opts.ctx ?? new Uint8Array(0);
  const syscall = prog.type === 'syscall';
  if (syscall && c.length > 0xffff)
    throw new UsageError('test run: syscall ctx larger than U16_MAX (the kernel returns EINVAL)');
  if (syscall) checkCtxCoversAccesses(prog.loaded, c.length);
  const vm = coll.vm;
  const a = vm.arena;
  const tc = performance.now();
  vm.prepare(prog.loaded);
  const compileNs = Math.round((performance.now() - tc) * 1e6);
  const ts = performance.now();
  const ctx =
    c.length > 0 ? a.alloc(c.length, 8, { kind: 'ctx', writable: syscall, name: `${prog.type} ctx` }) : 0;
  let sleeps = 0;
  let runMs = 0;
  try {
    if (ctx) a.write(ctx, c);
    let setupMs = performance.now() - ts;
    let step = (): RunResult => vm.run(prog.loaded, { args: [ctx] });
    for (;;) {
      coll.env.progType = prog.type;
      coll.env.redirect = undefined;
      let r: RunResult | undefined;
      let req: SleepRequest | undefined;
      const t0 = performance.now();
      vm.sleepAllowed = true;
      try {
        r = step();
      } catch (e) {
        if (!(e instanceof SleepRequest)) throw e;
        req = e;
      } finally {
        vm.sleepAllowed = false;
        runMs += performance.now() - t0;
      }
      if (r !== undefined) {
        const te = performance.now();
        const ctxOut = ctx && syscall ? a.read(ctx, c.length) : undefined;
        setupMs += performance.now() - te;
        return {
          retval: r.u32,
          r0: r.value,
          dataOut: new Uint8Array(0),
          ...(ctxOut ? { ctxOut } : {}),
          // the program's own running time, without the waits
          durationNs: Math.round(runMs * 1e6),
          compileNs,
          setupNs: Math.round(setupMs * 1e6),
          insns: r.insns,
          sleeps,
        };
      }
      const snap = vm.snapshotSleep(req!);
      sleeps++;
      // A failed fetch is the helper's business when the call runs again (-EFAULT).
      await req!.until.then(
        () => {},
        () => {},
      );
      step = () => vm.resume(snap);
    }
  } finally {
    if (ctx) a.freeBlock(ctx);
  }
}
