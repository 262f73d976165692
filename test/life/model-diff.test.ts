// The Life demo's host against the independent TypeScript model (test/examples/life-model.ts):
// 1,000 timer-driven generations from random boards, in both edge modes, on both engines.
// Every generation's ring-buffer record (number, live, births, deaths, hash, size) is checked
// against the model, and the whole board map every 100 generations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Board, randomBoard } from '../../src/life/board.ts';
import { LifeHost } from '../../src/life/host.ts';
import type { Engine } from '../../src/runtime/index.ts';
import { type LifeConfig, lifeStep } from '../examples/life-model.ts';

const GENERATIONS = 1000;

function toSet(b: Board): Set<string> {
  const s = new Set<string>();
  for (let y = 0; y < b.height; y++)
    for (let x = 0; x < b.width; x++) if (b.cells[y * b.width + x]) s.add(`${x},${y}`);
  return s;
}

/**
 * life.bpf.c's record hash, from its description: FNV-1a over the 32-bit halves of each row's
 * words (cell x of a row is bit x % 64 of word x / 64; the row has ceil(width / 64) words),
 * rows top to bottom, low half first.
 */
function fnvHash(cells: Set<string>, width: number, height: number): number {
  let h = 2166136261;
  const words = Math.ceil(width / 64);
  for (let y = 0; y < height; y++)
    for (let half = 0; half < words * 2; half++) {
      let v = 0;
      for (let b = 0; b < 32; b++) if (cells.has(`${half * 32 + b},${y}`)) v |= 1 << b;
      h = Math.imul(h ^ v, 16777619) >>> 0;
    }
  return h;
}

interface DiffOptions {
  rule?: number;
  generations?: number;
  /** The run must see more distinct boards than this (it did not settle into a short cycle). */
  minStates?: number;
}

function diff(
  engine: Engine,
  torus: boolean,
  seed: number,
  width: number,
  height: number,
  o: DiffOptions = {},
): void {
  const generations = o.generations ?? GENERATIONS;
  const every = Math.min(100, generations);
  // A 1 us period: the virtual clock jumps from one generation to the next.
  const host = new LifeHost({
    width,
    height,
    torus,
    engine,
    periodNs: 1000,
    verify: false,
    ...(o.rule !== undefined ? { rule: o.rule } : {}),
  });
  try {
    const first = randomBoard(seed, width, height);
    host.setBoard(first);
    const cfg: LifeConfig = { width, height, torus, ...(o.rule !== undefined ? { rule: o.rule } : {}) };
    let model = toSet(first);
    const states = new Set<number>();
    let seen = 0;
    host.start();
    for (let block = 1; block <= generations / every; block++) {
      host.runGenerations(every, (e) => {
        const next = lifeStep(model, cfg);
        let births = 0;
        let deaths = 0;
        for (const k of next) if (!model.has(k)) births++;
        for (const k of model) if (!next.has(k)) deaths++;
        model = next;
        seen++;
        const hash = fnvHash(next, width, height);
        states.add(hash);
        assert.deepEqual(
          [e.generation, e.live, e.births, e.deaths, e.hash, e.width, e.height],
          [seen, next.size, births, deaths, hash, width, height],
          `record of generation ${seen}`,
        );
      });
      assert.equal(seen, block * every, 'one record per generation');
      assert.equal(host.generation, seen);
      assert.deepEqual([...toSet(host.board())].sort(), [...model].sort(), `board at generation ${seen}`);
    }
    // Seeds picked (by a scan with the model) so that the run does not settle early into a
    // short cycle: a board that stops changing would make most of the 1,000 generations moot.
    const min = o.minStates ?? 150;
    assert.ok(states.size > min, `only ${states.size} distinct boards: pick a livelier seed`);
  } finally {
    host.close();
  }
}

// The interpreter gets a smaller board: it is about 25 times slower than the JIT.
const RUNS: { engine: Engine; torus: boolean; seed: number; w: number; h: number }[] = [
  { engine: 'interp', torus: true, seed: 3, w: 24, h: 16 },
  { engine: 'interp', torus: false, seed: 12, w: 24, h: 16 },
  { engine: 'jit', torus: true, seed: 0x5eed, w: 40, h: 28 },
  { engine: 'jit', torus: false, seed: 3, w: 40, h: 28 },
  // Several 64-cell words per row: the carries between words and the torus seam inside the
  // last, partly used word.
  { engine: 'interp', torus: true, seed: 19, w: 100, h: 16 },
  { engine: 'jit', torus: true, seed: 5, w: 150, h: 24 },
  { engine: 'jit', torus: false, seed: 5, w: 150, h: 24 },
];

for (const r of RUNS) {
  const edges = r.torus ? 'torus' : 'bounded';
  test(`${r.engine} ${edges} ${r.w}×${r.h} seed ${r.seed}: 1,000 generations equal the model, record by record`, () => {
    diff(r.engine, r.torus, r.seed, r.w, r.h);
  });
}

// Every word layout (1..4 words, full and partial last words), the thinnest boards (where a
// cell is its own neighbour on a torus) and both edges, for fewer generations each.
test('widths 1…256 and heights 1…5, torus and bounded, on the JIT: 40 generations equal the model', () => {
  let seed = 100;
  for (const w of [1, 2, 3, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256])
    for (const h of [1, 2, 3, 5])
      for (const torus of [true, false]) diff('jit', torus, seed++, w, h, { generations: 40, minStates: 0 });
});

// Rules other than B3/S23 take the general path of the rule (one minterm per neighbour count).
const RULES: { name: string; rule: number }[] = [
  { name: 'HighLife B36/S23', rule: (1 << 3) | (1 << 6) | (1 << 11) | (1 << 12) },
  {
    name: 'Day & Night B3678/S34678',
    rule:
      [3, 6, 7, 8].reduce((m, n) => m | (1 << n), 0) |
      [3, 4, 6, 7, 8].reduce((m, n) => m | (1 << (9 + n)), 0),
  },
  { name: 'B0/S8 (births from nothing)', rule: 1 | (1 << 17) },
];
for (const r of RULES)
  for (const engine of ['jit', 'interp'] as const)
    test(`${engine}: rule ${r.name}, 70×12, both edges: 100 generations equal the model`, () => {
      diff(engine, true, 21, 70, 12, { rule: r.rule, generations: 100, minStates: 0 });
      diff(engine, false, 22, 70, 12, { rule: r.rule, generations: 100, minStates: 0 });
    });
