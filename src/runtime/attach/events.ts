// Event attach points: perf_event programs fired periodically on the event loop, tracepoint /
// kprobe / raw tracepoint programs fired by host-emitted events with a context buffer the host
// lays out, and syscall programs run on demand (Program.run).
import { UsageError } from '../../errors.ts';
import type { ScheduledEvent } from '../event-loop.ts';
import type { Program } from '../collection.ts';
import type { ProgramRunResult } from '../run.ts';

/** An attachment; close() detaches it. */
export interface Link {
  readonly program: Program;
  close(): void;
}

/**
 * kernel: struct bpf_perf_event_data { struct pt_regs regs (x86-64: 21 u64); u64 sample_period;
 * u64 addr; }
 */
export const PERF_EVENT_DATA_SIZE = 21 * 8 + 16;

export interface PerfEventOptions {
  /** Period in ns on the collection's event loop. */
  periodNs: number;
  /** pt_regs bytes to hand the program (default zeros). */
  regs?: Uint8Array;
  /** Called with every run's result. */
  onRun?: (r: ProgramRunResult) => void;
}

/** Fires a perf_event program every periodNs (kernel: a sampling event with sample_period). */
export function attachPerfEvent(prog: Program, opts: PerfEventOptions): Link {
  if (prog.type !== 'perf_event')
    throw new UsageError(`program ${prog.name} is ${prog.type}, not perf_event`);
  if (!(opts.periodNs > 0)) throw new UsageError('perf event: periodNs must be positive');
  const loop = prog.collection.loop;
  const ctx = new Uint8Array(PERF_EVENT_DATA_SIZE);
  if (opts.regs) ctx.set(opts.regs.subarray(0, 21 * 8));
  new DataView(ctx.buffer).setBigUint64(21 * 8, BigInt(Math.round(opts.periodNs)), true);
  let ev: ScheduledEvent | undefined;
  let closed = false;
  const fire = () => {
    if (closed) return;
    ev = loop.schedule(loop.now() + opts.periodNs, fire);
    const r = prog.run({ ctx });
    opts.onRun?.(r);
  };
  ev = loop.schedule(loop.now() + opts.periodNs, fire);
  return {
    program: prog,
    close() {
      closed = true;
      if (ev) loop.cancel(ev);
    },
  };
}

const EVENT_TYPES = new Set(['tracepoint', 'kprobe', 'raw_tracepoint', 'tracing']);

/**
 * Host-emitted events: programs attach to an event name (by default their section's target:
 * `tp/syscalls/sys_enter_openat` → "syscalls/sys_enter_openat", `kprobe/do_nanosleep` →
 * "do_nanosleep"); emit() runs every attached program with the given context bytes.
 */
export class HostEvents {
  private readonly links = new Map<string, Set<Program>>();

  attach(prog: Program, event = attachTarget(prog)): Link {
    if (!EVENT_TYPES.has(prog.type))
      throw new UsageError(
        `program ${prog.name} is ${prog.type}; events take tracepoint, kprobe, raw_tracepoint or tracing programs`,
      );
    if (!event) throw new UsageError(`program ${prog.name}: no event name in section ${prog.section}`);
    let set = this.links.get(event);
    if (!set) {
      set = new Set();
      this.links.set(event, set);
    }
    set.add(prog);
    const links = this.links;
    return {
      program: prog,
      close() {
        set.delete(prog);
        if (set.size === 0) links.delete(event);
      },
    };
  }

  /** Runs the programs attached to `event` with r1 = a read-only copy of `ctx`. */
  emit(event: string, ctx: Uint8Array = new Uint8Array(0)): ProgramRunResult[] {
    return [...(this.links.get(event) ?? [])].map((p) => p.run({ ctx }));
  }
}

/** What follows the section's prefix: the tracepoint or function a program attaches to. */
export function attachTarget(prog: Program): string {
  const s = prog.section;
  const i = s.indexOf('/');
  return i < 0 ? '' : s.slice(i + 1);
}
