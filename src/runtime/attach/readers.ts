// Consumers of what programs publish: ring buffers and perf event arrays as async iterators.
// With `follow`, an iterator waits for more records (polling on the host's timers) until its
// AbortSignal fires; without it, it ends once the buffer is drained.
import type { PerfEventArrayMap, PerfRecord } from '../../maps/fd-array.ts';
import type { RingbufMap } from '../../maps/ringbuf.ts';

export interface ReaderOptions {
  /** Keep waiting for records (default false: stop when empty). */
  follow?: boolean;
  /** Poll interval in ms while following (default 10). */
  pollMs?: number;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class RingbufReader implements AsyncIterable<Uint8Array> {
  private readonly droppedAtStart: number;
  constructor(
    readonly map: RingbufMap,
    private readonly opts: ReaderOptions = {},
  ) {
    this.droppedAtStart = map.dropped;
  }

  /** Records the producer could not reserve room for since this reader was made. */
  get lost(): number {
    return this.map.dropped - this.droppedAtStart;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.opts.signal?.aborted) return;
      const recs = this.map.consume();
      for (const r of recs) yield r;
      if (recs.length === 0) {
        if (!this.opts.follow) return;
        await sleep(this.opts.pollMs ?? 10, this.opts.signal);
      }
    }
  }
}

export class PerfReader implements AsyncIterable<PerfRecord> {
  /** Samples lost (buffer full), per CPU, since this reader was made. */
  readonly lostByCpu = new Map<number, number>();

  constructor(
    readonly map: PerfEventArrayMap,
    private readonly opts: ReaderOptions = {},
  ) {}

  get lost(): number {
    let n = 0;
    for (const v of this.lostByCpu.values()) n += v;
    return n;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<PerfRecord> {
    for (;;) {
      if (this.opts.signal?.aborted) return;
      const { records, lost } = this.map.read();
      for (const l of lost) this.lostByCpu.set(l.cpu, (this.lostByCpu.get(l.cpu) ?? 0) + l.count);
      for (const r of records) yield r;
      if (records.length === 0) {
        if (!this.opts.follow) return;
        await sleep(this.opts.pollMs ?? 10, this.opts.signal);
      }
    }
  }
}
