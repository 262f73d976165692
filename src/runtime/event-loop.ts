// The host event loop bpf_timer callbacks (and periodic attach points) fire on. Deadlines are
// absolute nanoseconds on the loop's clock, which is also what bpf_ktime_get_ns reads.
//
// Two clocks:
// - 'virtual': nothing happens until the host calls runUntil / runSteps / runUntilIdle; the
//   clock jumps to each event's deadline, so runs are deterministic and take no wall time.
// - 'real': events run from setTimeout / setImmediate against a monotonic nanosecond clock.
//
// Pending events sit in a binary min-heap keyed by (deadline, sequence number); every event
// knows its heap slot, so cancelling is O(log n) and a timer re-armed forever from its own
// callback keeps exactly one entry alive: memory stays constant.
import { UsageError } from '../errors.ts';

export type ClockMode = 'virtual' | 'real';

export interface EventLoopOptions {
  /** Default 'virtual'. */
  mode?: ClockMode;
  /** Virtual clock start in ns (default 1e9: programs test "ktime != 0"). */
  startNs?: number;
  /** Real mode: called with errors thrown by events (default: kept in `errors`). */
  onError?: (e: unknown) => void;
}

/** A scheduled event; keep it to cancel the event. */
export interface ScheduledEvent {
  readonly deadline: number;
  /** Heap slot, -1 once fired or cancelled. */
  readonly index: number;
}

interface Entry extends ScheduledEvent {
  deadline: number;
  index: number;
  seq: number;
  fn: () => void;
}

// Node's process.hrtime where there is one; browsers (the playground) have performance.now().
const monoNs: () => bigint =
  typeof process !== 'undefined' && typeof process.hrtime?.bigint === 'function'
    ? () => process.hrtime.bigint()
    : () => BigInt(Math.round(performance.now() * 1e6));
const hrStart = monoNs();

export class EventLoop {
  readonly mode: ClockMode;
  /** Errors thrown by events in real mode when no onError was given. */
  readonly errors: unknown[] = [];
  private readonly heap: Entry[] = [];
  private seq = 0;
  private virtualNs: number;
  private readonly onError: ((e: unknown) => void) | undefined;
  private hostTimer: ReturnType<typeof setTimeout> | undefined;
  private hostImmediate: ReturnType<typeof setImmediate> | undefined;
  private hostDeadline = Number.POSITIVE_INFINITY;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Events run so far. */
  eventsRun = 0;

  constructor(opts: EventLoopOptions = {}) {
    this.mode = opts.mode ?? 'virtual';
    if (this.mode !== 'virtual' && this.mode !== 'real')
      throw new UsageError(`event loop: unknown clock mode "${String(this.mode)}"`);
    this.virtualNs = opts.startNs ?? 1e9;
    this.onError = opts.onError;
  }

  /** Current time in nanoseconds (monotonic). */
  now(): number {
    if (this.mode === 'virtual') return this.virtualNs;
    return Number(monoNs() - hrStart) + 1e9;
  }

  /** A clock function for the VM (bpf_ktime_get_*). */
  readonly clock = (): number => this.now();

  /** Events waiting to run. */
  get pending(): number {
    return this.heap.length;
  }

  /** Deadline of the next event, or undefined when idle. */
  get nextDeadline(): number | undefined {
    return this.heap[0]?.deadline;
  }

  /** Runs `fn` at absolute time `deadlineNs` (in the past or now: as soon as possible). */
  schedule(deadlineNs: number, fn: () => void): ScheduledEvent {
    if (this.closed) throw new UsageError('event loop: closed');
    if (Number.isNaN(deadlineNs)) throw new UsageError('event loop: deadline is NaN');
    const e: Entry = { deadline: deadlineNs, index: this.heap.length, seq: this.seq++, fn };
    this.heap.push(e);
    this.up(e.index);
    if (this.mode === 'real') this.armHost();
    return e;
  }

  /** Removes a pending event; false if it already ran or was cancelled. */
  cancel(ev: ScheduledEvent): boolean {
    const e = ev as Entry;
    const i = e.index;
    if (i < 0 || this.heap[i] !== e) return false;
    this.removeAt(i);
    return true;
  }

  // ---- virtual time ----

  /** Runs every event due at or before `ns`, then sets the clock to `ns`. Returns events run. */
  runUntil(ns: number, maxEvents = Number.POSITIVE_INFINITY): number {
    this.requireVirtual('runUntil');
    let n = 0;
    while (n < maxEvents) {
      const top = this.heap[0];
      if (!top || top.deadline > ns) break;
      this.fire(top);
      n++;
    }
    if (n < maxEvents && ns > this.virtualNs) this.virtualNs = ns;
    return n;
  }

  /** Runs the next `n` events in deadline order (fewer if the loop goes idle). */
  runSteps(n: number): number {
    this.requireVirtual('runSteps');
    let k = 0;
    while (k < n && this.heap.length > 0) {
      this.fire(this.heap[0]!);
      k++;
    }
    return k;
  }

  /** Runs events until none are left (or `maxEvents` ran). */
  runUntilIdle(maxEvents = Number.POSITIVE_INFINITY): number {
    return this.runSteps(maxEvents);
  }

  // ---- real time ----

  /** Real mode: resolves once no events are pending. */
  idle(): Promise<void> {
    if (this.heap.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops every pending event and stops the host timers. */
  close(): void {
    this.closed = true;
    for (const e of this.heap) e.index = -1;
    this.heap.length = 0;
    this.clearHost();
    this.wakeIdle();
  }

  private requireVirtual(what: string): void {
    if (this.mode !== 'virtual') throw new UsageError(`event loop: ${what}() needs the virtual clock`);
  }

  private fire(e: Entry): void {
    this.removeAt(e.index);
    if (this.mode === 'virtual' && e.deadline > this.virtualNs) this.virtualNs = e.deadline;
    this.eventsRun++;
    e.fn();
  }

  private armHost(): void {
    const top = this.heap[0];
    if (!top || this.closed) return;
    if (top.deadline >= this.hostDeadline && (this.hostTimer || this.hostImmediate)) return;
    this.clearHost();
    this.hostDeadline = top.deadline;
    const delayNs = top.deadline - this.now();
    if (delayNs <= 0) this.hostImmediate = setImmediate(() => this.onHost());
    else this.hostTimer = setTimeout(() => this.onHost(), Math.max(1, Math.ceil(delayNs / 1e6)));
  }

  private clearHost(): void {
    if (this.hostTimer) clearTimeout(this.hostTimer);
    if (this.hostImmediate) clearImmediate(this.hostImmediate);
    this.hostTimer = undefined;
    this.hostImmediate = undefined;
    this.hostDeadline = Number.POSITIVE_INFINITY;
  }

  private onHost(): void {
    this.hostTimer = undefined;
    this.hostImmediate = undefined;
    this.hostDeadline = Number.POSITIVE_INFINITY;
    // A bounded batch, so an event re-armed with deadline 0 cannot starve the host's I/O.
    const now = this.now();
    for (let k = 0; k < 1000; k++) {
      const top = this.heap[0];
      if (!top || top.deadline > now) break;
      try {
        this.fire(top);
      } catch (e) {
        if (this.onError) this.onError(e);
        else this.errors.push(e);
      }
    }
    if (this.heap.length === 0) this.wakeIdle();
    else this.armHost();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  // ---- heap ----

  private less(a: Entry, b: Entry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    const last = h.pop()!;
    e.index = -1;
    if (last !== e) {
      h[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (!this.less(e, pe)) break;
      h[i] = pe;
      pe.index = i;
      i = p;
    }
    h[i] = e;
    e.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const ce = h[c]!;
      if (!this.less(ce, e)) break;
      h[i] = ce;
      ce.index = i;
      i = c;
    }
    h[i] = e;
    e.index = i;
  }
}
