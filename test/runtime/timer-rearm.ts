// A bpf_timer callback re-armed from inside itself N times in virtual time: the loop keeps one
// pending event and the runtime one timer whatever N is. Used by timer-rearm.test.ts (CI size)
// and runnable on its own for the full million:
//   node --expose-gc --import tsx test/runtime/timer-rearm.ts 1000000
import { readFileSync } from 'node:fs';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';

export interface RearmReport {
  ticks: number;
  eventsRun: number;
  maxPending: number;
  timers: number;
  /** Heap after a warm-up of n/10 events, after half of the rest, and at the end. */
  heapBefore: number;
  heapMid: number;
  heapAfter: number;
  ms: number;
  /** Arena bytes before and after (maps, stacks, timer keys all live there). */
  arenaBefore: number;
  arenaAfter: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
function heap(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

export function rearm(n: number): RearmReport {
  const file = 'examples/timer/timer.bpf.o';
  const spec = loadCollectionSpec(readFileSync(file), { file });
  // period 1 ns; max_ticks bounds the re-arming (the callback stops at n).
  const c = newCollection(spec, { verify: false, rodata: { max_ticks: n, period_ns: 1 } });
  try {
    c.program('timer_arm').run();
    // Warm up (JIT tiers, lazily allocated scratch), then measure the rest in chunks.
    let eventsRun = c.loop.runSteps(Math.ceil(n / 10));
    const arenaBefore = c.vm.arena.size;
    const heapBefore = heap();
    const t0 = performance.now();
    let maxPending = c.loop.pending;
    let heapMid = 0;
    const half = eventsRun + (n - eventsRun) / 2;
    while (c.loop.pending > 0) {
      eventsRun += c.loop.runSteps(10_000);
      maxPending = Math.max(maxPending, c.loop.pending);
      if (!heapMid && eventsRun >= half) heapMid = heap();
    }
    const ms = performance.now() - t0;
    const heapAfter = heap();
    const t = c.map('tickers').lookup(new Uint8Array(4));
    const ticks =
      t instanceof Uint8Array ? Number(new DataView(t.buffer, t.byteOffset).getBigUint64(16, true)) : -1;
    const arenaAfter = c.vm.arena.size;
    return {
      ticks,
      eventsRun,
      maxPending,
      timers: c.timers.size,
      heapBefore,
      heapMid,
      heapAfter,
      ms,
      arenaBefore,
      arenaAfter,
    };
  } finally {
    c.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const r = rearm(n);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(r));
    process.exit(0);
  }
  const mb = (b: number) => `${(b / 1048576).toFixed(2)} MiB`;
  console.log(
    `${r.ticks} ticks, ${r.eventsRun} events in ${r.ms.toFixed(0)} ms; max pending ${r.maxPending}; ` +
      `heap ${mb(r.heapBefore)} -> ${mb(r.heapMid)} (half) -> ${mb(r.heapAfter)}${gc ? '' : ' (run with --expose-gc for exact numbers)'}`,
  );
}
