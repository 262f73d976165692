// Life on the timer for many generations in virtual time: memory must stay flat (one pending
// event, one timer, the same arena, a drained ring buffer). Used by long-run.test.ts (the
// million, 64×16) and runnable on its own:
//   node --expose-gc --import tsx test/life/long-run.ts 1000000 [jit|interp] [W H]
import { liveCount, randomBoard } from '../../src/life/board.ts';
import { type GenerationEvent, LifeHost } from '../../src/life/host.ts';
import type { Engine } from '../../src/runtime/index.ts';

export interface LongRunReport {
  generations: number;
  records: number;
  maxPending: number;
  timers: number;
  /** heapUsed after a warm-up (a tenth of the run), half-way, and at the end. */
  heapBefore: number;
  heapMid: number;
  heapAfter: number;
  arenaBefore: number;
  arenaAfter: number;
  /** live of the last ring-buffer record, and the live cells of the board map at the end. */
  lastLive: number;
  boardLive: number;
  ms: number;
}

// Looked up at each call: the test installs gc() after this module is imported.
const gc = () => (globalThis as { gc?: () => void }).gc;
function heap(): number {
  gc()?.();
  return process.memoryUsage().heapUsed;
}

export function longRun(n: number, engine: Engine = 'jit', width = 8, height = 8): LongRunReport {
  const host = new LifeHost({ width, height, engine, periodNs: 1, maxGenerations: n, verify: false });
  try {
    // Whether the board dies out or not, the timer keeps computing generations.
    host.setBoard(randomBoard(1, width, height));
    host.start();
    let records = 0;
    let lastLive = -1;
    const count = (e: GenerationEvent) => {
      records++;
      lastLive = e.live;
    };
    host.runGenerations(Math.ceil(n / 10), count);
    const arenaBefore = host.coll.vm.arena.size;
    const heapBefore = heap();
    let heapMid = 0;
    let maxPending = host.coll.loop.pending;
    const t0 = performance.now();
    while (host.generation < n && host.coll.loop.pending > 0) {
      host.runGenerations(Math.min(50_000, n - host.generation), count);
      maxPending = Math.max(maxPending, host.coll.loop.pending);
      if (!heapMid && host.generation >= n / 2) heapMid = heap();
    }
    const ms = performance.now() - t0;
    return {
      generations: host.generation,
      records,
      maxPending,
      timers: host.coll.timers.size,
      heapBefore,
      heapMid,
      heapAfter: heap(),
      arenaBefore,
      arenaAfter: host.coll.vm.arena.size,
      lastLive,
      boardLive: liveCount(host.board()),
      ms,
    };
  } finally {
    host.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const engine = (process.argv[3] ?? 'jit') as Engine;
  const w = Number(process.argv[4] ?? 8);
  const h = Number(process.argv[5] ?? 8);
  const r = longRun(n, engine, w, h);
  const mb = (b: number) => `${(b / 1048576).toFixed(2)} MiB`;
  console.log(
    `${r.generations} generations (${r.records} ring records) of ${w}×${h} on ${engine} in ${(r.ms / 1000).toFixed(1)} s ` +
      `(${((r.generations * 0.9) / (r.ms / 1000)).toFixed(0)} gen/s); max pending ${r.maxPending}, timers ${r.timers}; ` +
      `heap ${mb(r.heapBefore)} -> ${mb(r.heapMid)} (half) -> ${mb(r.heapAfter)}; arena ${r.arenaBefore} -> ${r.arenaAfter} bytes` +
      `${gc() ? '' : ' (run with --expose-gc for exact heap numbers)'}`,
  );
}
