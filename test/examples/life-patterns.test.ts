// examples/life/patterns.json: each pattern's cells are its RLE, and each does what
// its description says under the TypeScript model (life-model.ts), on a board
// large enough that the edges play no part.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './kobj.ts';
import { type Cell, type LifeConfig, lifeRun, parseRle, toKeys } from './life-model.ts';

interface Pattern {
  about: string;
  rle: string;
  width: number;
  height: number;
  cells: Cell[];
}

const { patterns } = JSON.parse(readFileSync(join(repoRoot, 'examples/life/patterns.json'), 'utf8')) as {
  patterns: Record<string, Pattern>;
};
const open: LifeConfig = { width: 256, height: 256, torus: false };
const at = (cells: Cell[], dx: number, dy: number): Cell[] => cells.map(([x, y]) => [x + dx, y + dy]);
const centre = (name: string) => at(patterns[name]!.cells, 100, 100);
const same = (a: Set<string>, b: Cell[]) => assert.deepEqual([...a].sort(), toKeys(b));

test('model: a blinker turns and a block stays', () => {
  same(
    lifeRun(
      [
        [1, 0],
        [1, 1],
        [1, 2],
      ],
      open,
      1,
    ),
    [
      [0, 1],
      [1, 1],
      [2, 1],
    ],
  );
  const block: Cell[] = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ];
  same(lifeRun(block, open, 5), block);
  // on a 4-wide torus, a row of 3 at the edge wraps: (3, 1) neighbours (0, 1)
  same(
    lifeRun(
      [
        [3, 1],
        [0, 1],
        [1, 1],
      ],
      { width: 4, height: 4, torus: true },
      1,
    ),
    [
      [0, 0],
      [0, 1],
      [0, 2],
    ],
  );
});

test('patterns: cells, size and RLE agree, at most 64 cells each (the .data.pattern limit)', () => {
  for (const [name, p] of Object.entries(patterns)) {
    assert.deepEqual(p.cells, parseRle(p.rle), name);
    assert.equal(p.width, Math.max(...p.cells.map(([x]) => x)) + 1, name);
    assert.equal(p.height, Math.max(...p.cells.map(([, y]) => y)) + 1, name);
    assert.ok(p.cells.length <= 64, name);
  }
});

test('patterns: oscillators have their period', () => {
  for (const [name, period] of [
    ['blinker', 2],
    ['beacon', 2],
    ['pulsar', 3],
  ] as const) {
    for (let g = 1; g < period; g++)
      assert.notDeepEqual([...lifeRun(centre(name), open, g)].sort(), toKeys(centre(name)));
    same(lifeRun(centre(name), open, period), centre(name));
  }
});

test('patterns: spaceships move by their stated step every 4 generations', () => {
  same(lifeRun(centre('glider'), open, 4), at(centre('glider'), 1, 1));
  same(lifeRun(centre('lwss'), open, 4), at(centre('lwss'), -2, 0));
});

test('patterns: the gun adds one 5-cell glider every 30 generations', () => {
  const g0 = toKeys(centre('gosper-glider-gun'));
  const g30 = [...lifeRun(centre('gosper-glider-gun'), open, 30)];
  assert.equal(g30.length, g0.length + 5);
  for (const c of g0) assert.ok(g30.includes(c), `gun cell ${c} missing after 30 generations`);
  assert.equal(lifeRun(centre('gosper-glider-gun'), open, 60).size, g0.length + 10);
});

test('patterns: diehard vanishes after exactly 130 generations', () => {
  assert.ok(lifeRun(centre('diehard'), open, 129).size > 0);
  assert.equal(lifeRun(centre('diehard'), open, 130).size, 0);
});
