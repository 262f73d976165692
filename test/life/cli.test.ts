// `tsbpf life --json` and the --board input checks, through the CLI's main() with a captured Io.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { parseBoardText } from '../../src/life/board.ts';
import { lifeRun, parseRle } from '../examples/life-model.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface LifeJson {
  generation: number;
  width: number;
  height: number;
  live: number;
  board: string[];
}

function cellsOf(board: string[]): string[] {
  const keys: string[] = [];
  board.forEach((row, y) => {
    [...row].forEach((c, x) => {
      if (c === '#') keys.push(`${x},${y}`);
    });
  });
  return keys.sort();
}

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-life-'));
function boardFile(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('--json --pattern glider: 8 generations on a torus = the model, shifted (2, 2)', async () => {
  // The first run also goes through tsbpf's verifier (start, stop at 20 columns).
  const r = await cli(
    'life',
    '--pattern',
    'glider',
    '--width',
    '20',
    '--height',
    '12',
    '--generations',
    '8',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as LifeJson;
  assert.deepEqual([j.generation, j.width, j.height], [8, 20, 12]);
  assert.equal(j.board.length, 12);
  for (const row of j.board) assert.match(row, /^[.#]{20}$/);
  // Centred: the 3×3 glider starts at ((20-3)/2, (12-3)/2) = (8, 4).
  const start = parseRle('bo$2bo$3o!').map(([x, y]) => [x + 8, y + 4] as [number, number]);
  const want = [...lifeRun(start, { width: 20, height: 12, torus: true }, 8)].sort();
  assert.deepEqual(cellsOf(j.board), want);
  assert.deepEqual(want, start.map(([x, y]) => `${x + 2},${y + 2}`).sort(), 'a glider moves (1, 1) per 4');
  assert.equal(j.live, 5);
});

test('--json --board FILE: the file sets the size; bounded edges differ from the torus', async () => {
  // A blinker on the left edge: on a torus its neighbours wrap around, on bounded edges not.
  const f = boardFile('edge.txt', '.....\n#....\n#....\n#....\n.....\n');
  const run = async (edges: string) => {
    const r = await cli(
      'life',
      '--board',
      f,
      '--edges',
      edges,
      '--generations',
      '1',
      '--json',
      '--no-verify',
    );
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as LifeJson;
  };
  const start: [number, number][] = [
    [0, 1],
    [0, 2],
    [0, 3],
  ];
  for (const edges of ['torus', 'bounded']) {
    const j = await run(edges);
    assert.deepEqual([j.width, j.height, j.generation], [5, 5, 1]);
    const want = [...lifeRun(start, { width: 5, height: 5, torus: edges === 'torus' }, 1)].sort();
    assert.deepEqual(cellsOf(j.board), want, edges);
    assert.equal(j.live, want.length);
  }
});

test('--json --seed: the same seed gives the same board, another seed another one', async () => {
  const run = async (seed: string) =>
    JSON.parse(
      (
        await cli(
          'life',
          '--seed',
          seed,
          '--width',
          '16',
          '--height',
          '8',
          '--generations',
          '0',
          '--json',
          '--no-verify',
        )
      ).out,
    ) as LifeJson;
  const a = await run('7');
  const b = await run('7');
  const c = await run('8');
  assert.deepEqual(a.board, b.board);
  assert.notDeepEqual(a.board, c.board);
  assert.equal(a.generation, 0);
  assert.equal(a.live, cellsOf(a.board).length);
  assert.ok(a.live > 0 && a.live < 16 * 8);
});

test('--board errors name the line and exit 2', async () => {
  const cases: [string, string, RegExp][] = [
    ['ragged.txt', '#..\n.#\n..#\n', /line 2: row is 2 cells wide, the first row is 3/],
    ['badchar.txt', '#..\n...\n.x.\n', /line 3:2: bad character "x"/],
    ['wide.txt', `${'.'.repeat(257)}\n`, /line 1: row is 257 cells wide, at most 256/],
    ['tall.txt', '.\n'.repeat(257), /line 257: more than 256 rows/],
    ['empty.txt', '', /no rows/],
  ];
  for (const [name, text, msg] of cases) {
    const f = boardFile(name, text);
    const r = await cli('life', '--board', f, '--generations', '1', '--json', '--no-verify');
    assert.equal(r.code, 2, name);
    assert.match(r.err, msg, name);
    assert.match(r.err, new RegExp(name.replace('.', '\\.')), 'names the file');
  }
  const missing = await cli('life', '--board', join(dir, 'nope.txt'), '--json', '--generations', '1');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no such file/);
});

test('usage errors exit 2', async () => {
  const bad: string[][] = [
    ['--json'], // --json needs --generations
    ['--pattern', 'nosuch', '--json', '--generations', '1'],
    ['--pattern', 'glider', '--seed', '1', '--json', '--generations', '1'],
    ['--width', '300', '--json', '--generations', '1'],
    ['--width', '0', '--json', '--generations', '1'],
    ['--edges', 'sphere', '--json', '--generations', '1'],
    ['--engine', 'gpu', '--json', '--generations', '1'],
    ['--pattern', 'gosper-glider-gun', '--width', '20', '--json', '--generations', '1'],
  ];
  for (const args of bad) {
    const r = await cli('life', ...args, '--no-verify');
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, /^tsbpf life: /);
  }
});

test('parseBoardText: comments, CRLF, O as alive', () => {
  const b = parseBoardText('! a comment\r\n.O\r\n#.\r\n');
  assert.deepEqual([b.width, b.height, [...b.cells]], [2, 2, [0, 1, 1, 0]]);
});

test('a verifier rejection is reported with program, insn and source line, exit 1', async () => {
  // start processes ~20,000 instructions at 64 × 40 (docs/LIFE.md); an 8,000 limit fails it
  // while the walk is in the rows of the generation step.
  const r = await cli('life', '--verify-limit', '8000', '--json', '--generations', '1');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /prog start: insn \d+: verifier rejected start at .*life\.bpf\.c:\d+ /);
  assert.match(r.err, /BPF program is too large\. Processed 8001 insn/);
  const j = JSON.parse(r.out) as { error: { code: string } };
  assert.equal(j.error.code, 'VERIFY');
});
