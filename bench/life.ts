// Game of Life throughput: generations per second of examples/life/life.bpf.o driven by its own
// bpf_timer in virtual time (period 0: every generation due at once), through the demo's host,
// for 64×40 and 256×256 boards (25 % random fill, torus) on each engine. Each generation is
// one timer callback: the bit-sliced rows (one subprogram call at 64×40, bpf_loop over blocks of
// 16 rows at 256×256), the copy back, one ring-buffer record.
// Run: node --import tsx bench/life.ts [--quick]
import { randomBoard } from '../src/life/board.ts';
import { LifeHost } from '../src/life/host.ts';
import type { Engine } from '../src/runtime/index.ts';

const quick = process.argv.includes('--quick');
const budgetMs = quick ? 300 : 2000;

function bench(engine: Engine, width: number, height: number, checked = true): void {
  const host = new LifeHost({ width, height, engine, periodNs: 0, verify: false, checked });
  try {
    host.setBoard(randomBoard(2024, width, height));
    host.start();
    host.runGenerations(5); // warm-up: JIT compilation, first-touch allocations
    let gens = 0;
    let chunk = 1;
    const t0 = performance.now();
    let ms = 0;
    while (ms < budgetMs) {
      host.runGenerations(chunk);
      gens += chunk;
      ms = performance.now() - t0;
      if (ms < budgetMs / 4) chunk *= 2;
    }
    const rate = (gens / ms) * 1000;
    const label = `${engine.padEnd(6)} ${width}×${height}${checked ? '' : ' unchecked'}`.padEnd(26);
    console.log(
      `${label}  ${rate.toFixed(1)} gen/s  (${gens} generations in ${ms.toFixed(0)} ms, ${((ms * 1000) / gens).toFixed(0)} us each)`,
    );
  } finally {
    host.close();
  }
}

console.log(`Life on bpf_timer, virtual time${quick ? ' (quick)' : ''}`);
for (const engine of ['jit', 'interp'] as const)
  for (const [w, h] of [
    [64, 40],
    [256, 256],
  ] as const)
    bench(engine, w, h);
// Without run-time memory checks (the verifier has proved the accesses safe, as in the kernel).
for (const [w, h] of [
  [64, 40],
  [256, 256],
] as const)
  bench('jit', w, h, false);
