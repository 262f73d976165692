// The Game of Life example run by the kernel itself (BPF_PROG_TEST_RUN through kobj):
// the expected boards come from the rules of Life, not from earlier runs.  A pattern
// reaches the board through the .data.pattern global "pending" (patched before load),
// which the next generation step places on a cleared board.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes, type KobjReport, leHex, prepareKobj, repoRoot, runKobj } from './kobj.ts';
import { emptyBoard, prng } from '../../src/life/board.ts';
import { LifeHost } from '../../src/life/host.ts';
import { lifeRun } from './life-model.ts';

const skip = prepareKobj();
const object = 'examples/life/life.bpf.o';

type Cell = [x: number, y: number];

function pendingHex(cells: Cell[]): string {
  return leHex(cells.length, 4) + cells.map(([x, y]) => leHex(x, 1) + leHex(y, 1)).join('');
}

// The board map holds one struct life_board: a 16-byte header, then 256 rows of 32 bytes
// with cell x of a row at bit x % 8 of byte x / 8.
function liveCells(r: KobjReport): string[] {
  const value = r.mapValues.get('board')?.get('00000000')?.[0];
  assert.ok(value, `no board in the dump\n${r.stdout.slice(0, 2000)}`);
  const bytes = hexToBytes(value);
  assert.equal(bytes.length, 16 + 256 * 32);
  const cells: string[] = [];
  for (let y = 0; y < 256; y++)
    for (let x = 0; x < 256; x++)
      if ((bytes[16 + y * 32 + (x >> 3)]! >> (x & 7)) & 1) cells.push(`${x},${y}`);
  return cells.sort();
}

function key(cells: Cell[]): string[] {
  return cells.map(([x, y]) => `${x},${y}`).sort();
}

function shift(cells: Cell[], dx: number, dy: number, w: number, h: number): Cell[] {
  return cells.map(([x, y]) => [(x + dx) % w, (y + dy) % h]);
}

interface Globals {
  generation: bigint;
  live: bigint;
  timerTicks: bigint;
}

// .bss holds one struct life_state: generation, live, timer_ticks (u64 each), stopping.
function bss(r: KobjReport): Globals {
  const v = r.mapValues.get('life.bss')?.get('00000000')?.[0];
  assert.ok(v, 'no life.bss in the dump');
  const dv = new DataView(hexToBytes(v).buffer);
  return {
    generation: dv.getBigUint64(0, true),
    live: dv.getBigUint64(8, true),
    timerTicks: dv.getBigUint64(16, true),
  };
}

function run(prog: string, sets: Record<string, string>, extra: string[] = []): KobjReport {
  const args = ['--run', prog, '--dump-maps', ...extra];
  for (const [sym, hex] of Object.entries(sets)) args.push('--set-rodata', `${sym}=${hex}`);
  const r = runKobj([...args, object]);
  assert.equal(r.runError, undefined, r.stdout);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return r;
}

const blinkerH: Cell[] = [
  [10, 5],
  [11, 5],
  [12, 5],
];
const blinkerV: Cell[] = [
  [11, 4],
  [11, 5],
  [11, 6],
];
// Moves one cell right and one down every 4 generations.
const glider: Cell[] = [
  [1, 0],
  [2, 1],
  [0, 2],
  [1, 2],
  [2, 2],
];

test('step: a horizontal blinker turns vertical in one generation', { skip }, () => {
  const r = run('step', { pending: pendingHex(blinkerH) });
  assert.deepEqual(liveCells(r), key(blinkerV));
  assert.equal(r.retval, 3); // step returns the live count
  assert.deepEqual(bss(r), { generation: 1n, live: 3n, timerTicks: 0n });
  // One ring buffer record: generation 1, 3 live, 2 births, 2 deaths, 64 x 40.
  const events = r.ringbufs.get('generations') ?? [];
  assert.equal(events.length, 1);
  const e = new DataView(hexToBytes(events[0]!).buffer);
  assert.equal(e.getBigUint64(0, true), 1n);
  assert.deepEqual([e.getUint32(16, true), e.getUint32(20, true), e.getUint32(24, true)], [3, 2, 2]);
  assert.deepEqual([e.getUint16(32, true), e.getUint16(34, true)], [64, 40]);
});

test('timer: the blinker is back after two generations, then the timer stops', { skip }, () => {
  const r = run(
    'start',
    { pending: pendingHex(blinkerH), period_ns: leHex(0, 8), max_generations: leHex(2, 8) },
    ['--wait', '300'],
  );
  assert.equal(r.retval, 0);
  assert.deepEqual(liveCells(r), key(blinkerH));
  assert.deepEqual(bss(r), { generation: 2n, live: 3n, timerTicks: 2n });
  const gens = (r.ringbufs.get('generations') ?? []).map((h) =>
    new DataView(hexToBytes(h).buffer).getBigUint64(0, true),
  );
  assert.deepEqual(gens, [1n, 2n]);
});

test('timer: a glider travels (+1, +1) every 4 generations and wraps around the torus', { skip }, () => {
  const four = run(
    'start',
    { pending: pendingHex(glider), period_ns: leHex(0, 8), max_generations: leHex(4, 8) },
    ['--wait', '300'],
  );
  assert.deepEqual(liveCells(four), key(shift(glider, 1, 1, 64, 40)));
  // 160 generations = 40 steps of (+1, +1): x moves 40, y moves 40 = a full turn of 40 rows.
  const many = run(
    'start',
    { pending: pendingHex(glider), period_ns: leHex(0, 8), max_generations: leHex(160, 8) },
    ['--wait', '800'],
  );
  assert.equal(bss(many).generation, 160n);
  assert.deepEqual(liveCells(many), key(shift(glider, 40, 0, 64, 40)));
});

test('256 x 256: a blinker across the corner wraps on a torus and dies on a bounded board', { skip }, () => {
  const side = leHex(256, 4);
  const corner: Cell[] = [
    [0, 255],
    [0, 0],
    [0, 1],
  ];
  const torus = run('step', { width: side, height: side, pending: pendingHex(corner) });
  assert.deepEqual(
    liveCells(torus),
    key([
      [255, 0],
      [0, 0],
      [1, 0],
    ]),
  );
  // Bounded: the three cells are not neighbours any more; each has at most one.
  const bounded = run('step', { width: side, height: side, torus: leHex(0, 4), pending: pendingHex(corner) });
  assert.deepEqual(liveCells(bounded), []);
});

test('B36/S23 rule from .rodata: a dead cell with six neighbours is born', { skip }, () => {
  // Two horizontal triples with a gap row: the middle cells of the gap row see 6.
  const cells: Cell[] = [
    [4, 4],
    [5, 4],
    [6, 4],
    [4, 6],
    [5, 6],
    [6, 6],
  ];
  const b36s23 = (1 << 3) | (1 << 6) | (1 << (9 + 2)) | (1 << (9 + 3));
  const high = run('step', { rule: leHex(b36s23, 4), pending: pendingHex(cells) });
  const conway = run('step', { pending: pendingHex(cells) });
  assert.ok(liveCells(high).includes('5,5'));
  assert.ok(!liveCells(conway).includes('5,5'));
});

test('seed: about a quarter of the cells, only inside width x height', { skip }, () => {
  const r = run('seed', { width: leHex(50, 4), height: leHex(30, 4) });
  const cells = liveCells(r);
  assert.equal(r.retval, cells.length);
  assert.equal(bss(r).live, BigInt(cells.length));
  for (const c of cells) {
    const [x, y] = c.split(',').map(Number) as [number, number];
    assert.ok(x < 50 && y < 30, `cell ${c} outside the board`);
  }
  // 1500 cells at p = 1/4: mean 375, sd ~17; 250..500 is > 7 sd either way.
  assert.ok(cells.length > 250 && cells.length < 500, `${cells.length} live cells`);
});

const patterns = (
  JSON.parse(readFileSync(join(repoRoot, 'examples/life/patterns.json'), 'utf8')) as {
    patterns: Record<string, { cells: Cell[] }>;
  }
).patterns;

test('kernel boards equal the TypeScript model for patterns over many generations', { skip }, () => {
  const cases = [
    { name: 'r-pentomino', dx: 30, dy: 18, w: 64, h: 40, torus: true, gens: 100 },
    { name: 'r-pentomino', dx: 30, dy: 18, w: 64, h: 40, torus: false, gens: 100 },
    { name: 'gosper-glider-gun', dx: 2, dy: 2, w: 64, h: 40, torus: false, gens: 90 },
    { name: 'acorn', dx: 120, dy: 120, w: 256, h: 256, torus: true, gens: 60 },
    { name: 'pulsar', dx: 60, dy: 0, w: 70, h: 13, torus: true, gens: 5 },
  ];
  for (const c of cases) {
    const cells = shift(patterns[c.name]!.cells, c.dx, c.dy, c.w, c.h);
    const r = run(
      'start',
      {
        width: leHex(c.w, 4),
        height: leHex(c.h, 4),
        torus: leHex(c.torus ? 1 : 0, 4),
        pending: pendingHex(cells),
        period_ns: leHex(0, 8),
        max_generations: leHex(c.gens, 8),
      },
      ['--wait', '600'], // a generation takes well under 1 ms even at 256 x 256
    );
    const label = `${c.name} ${c.w}x${c.h} ${c.torus ? 'torus' : 'bounded'} after ${c.gens}`;
    assert.equal(bss(r).generation, BigInt(c.gens), label);
    const want = [...lifeRun(cells, { width: c.w, height: c.h, torus: c.torus }, c.gens)].sort();
    assert.deepEqual(liveCells(r), want, label);
    assert.equal(bss(r).live, BigInt(want.length), label);
  }
});

// The same first board in the kernel and in tsbpf (64 cells from a seeded PRNG, placed through
// `pending` there and written into the board map here): 150 generations on the timer, then the
// boards and every generation's record (live, births, deaths, hash) must be identical.
test('kernel and tsbpf: 150 generations from the same seeded board give identical boards and records', {
  skip,
}, () => {
  for (const c of [
    { w: 64, h: 40, torus: true, seed: 2 },
    { w: 200, h: 50, torus: false, seed: 3 },
  ]) {
    const next = prng(c.seed);
    const seen = new Set<string>();
    const cells: Cell[] = [];
    while (cells.length < 64) {
      const v = next();
      const cell: Cell = [Math.floor(c.w / 2) - 6 + (v & 15), Math.floor(c.h / 2) - 6 + ((v >> 4) & 15)];
      const k = `${cell[0]},${cell[1]}`;
      if (seen.has(k)) continue;
      seen.add(k);
      cells.push(cell);
    }
    const gens = 150;
    const r = run(
      'start',
      {
        width: leHex(c.w, 4),
        height: leHex(c.h, 4),
        torus: leHex(c.torus ? 1 : 0, 4),
        pending: pendingHex(cells),
        period_ns: leHex(0, 8),
        max_generations: leHex(gens, 8),
      },
      ['--wait', '800'],
    );
    const label = `${c.w}x${c.h} ${c.torus ? 'torus' : 'bounded'} seed ${c.seed}`;
    assert.equal(bss(r).generation, BigInt(gens), label);
    const kernelRecords = (r.ringbufs.get('generations') ?? []).map((hex) => {
      const dv = new DataView(hexToBytes(hex).buffer);
      return [
        Number(dv.getBigUint64(0, true)),
        dv.getUint32(16, true),
        dv.getUint32(20, true),
        dv.getUint32(24, true),
        dv.getUint32(28, true),
      ];
    });
    const host = new LifeHost({
      width: c.w,
      height: c.h,
      torus: c.torus,
      engine: 'jit',
      periodNs: 0,
      maxGenerations: gens,
      verify: false,
    });
    try {
      const first = emptyBoard(c.w, c.h);
      for (const [x, y] of cells) first.cells[y * c.w + x] = 1;
      host.setBoard(first);
      host.start();
      const ours: number[][] = [];
      host.runGenerations(gens, (e) => ours.push([e.generation, e.live, e.births, e.deaths, e.hash]));
      assert.equal(ours.length, gens, label);
      assert.deepEqual(kernelRecords, ours, `${label}: ring-buffer records`);
      const b = host.board();
      const tsbpfCells: string[] = [];
      for (let y = 0; y < c.h; y++)
        for (let x = 0; x < c.w; x++) if (b.cells[y * c.w + x]) tsbpfCells.push(`${x},${y}`);
      assert.deepEqual(liveCells(r), tsbpfCells.sort(), `${label}: boards`);
      // A board that died out or froze early would make the comparison weak.
      assert.ok(new Set(ours.map((o) => o[4])).size > 100, `${label}: too few distinct boards`);
    } finally {
      host.close();
    }
  }
});
