// Life boards on the host side: a width × height grid of 0/1 cells, built from a text file, a
// named pattern or a seeded random fill, and turned back into text. Pure: no maps, no VM.
import { readFileSync } from 'node:fs';
import { InputError, UsageError } from '../errors.ts';

/** Same limit as MAX_SIDE in examples/life/life.bpf.c. */
export const MAX_SIDE = 256;

export interface Board {
  width: number;
  height: number;
  /** Row-major, one byte per cell: 1 alive, 0 dead. */
  cells: Uint8Array;
}

export function emptyBoard(width: number, height: number): Board {
  return { width, height, cells: new Uint8Array(width * height) };
}

export function liveCount(b: Board): number {
  let n = 0;
  for (const c of b.cells) n += c;
  return n;
}

/** One string per row, '#' alive and '.' dead (the `--board` format). */
export function boardLines(b: Board): string[] {
  const out: string[] = [];
  for (let y = 0; y < b.height; y++) {
    let s = '';
    for (let x = 0; x < b.width; x++) s += b.cells[y * b.width + x] ? '#' : '.';
    out.push(s);
  }
  return out;
}

/**
 * Parses the `--board` text: one line per row, '#' (or 'O') alive, '.' dead; lines starting
 * with '!' are comments (as in the plaintext .cells format). Every row must have the same length.
 */
export function parseBoardText(text: string, file = '<board>'): Board {
  const rows: { line: number; text: string }[] = [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const t = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!t.startsWith('!')) rows.push({ line: i + 1, text: t });
  });
  const err = (line: number, msg: string, col?: number) =>
    new InputError('BOARD', msg, { where: { file, line, ...(col !== undefined ? { col } : {}) } });
  if (rows.length === 0) throw new InputError('BOARD', 'the board has no rows', { where: { file } });
  const width = rows[0]!.text.length;
  if (width === 0) throw err(rows[0]!.line, 'empty row: a board row needs at least one cell');
  if (width > MAX_SIDE) throw err(rows[0]!.line, `row is ${width} cells wide, at most ${MAX_SIDE}`);
  if (rows.length > MAX_SIDE) throw err(rows[MAX_SIDE]!.line, `more than ${MAX_SIDE} rows`);
  const b = emptyBoard(width, rows.length);
  rows.forEach((r, y) => {
    if (r.text.length !== width)
      throw err(r.line, `row is ${r.text.length} cells wide, the first row is ${width} (ragged board)`);
    for (let x = 0; x < width; x++) {
      const ch = r.text[x]!;
      if (ch === '#' || ch === 'O') b.cells[y * width + x] = 1;
      else if (ch !== '.')
        throw err(r.line, `bad character ${JSON.stringify(ch)} (use '#' alive, '.' dead)`, x + 1);
    }
  });
  return b;
}

export function readBoardFile(path: string): Board {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      'IO',
      `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}`,
      {
        where: { file: path },
      },
    );
  }
  return parseBoardText(text, path);
}

export interface Pattern {
  name: string;
  about: string;
  width: number;
  height: number;
  cells: [number, number][];
}

const PATTERNS_URL = new URL('../../examples/life/patterns.json', import.meta.url);
let patternCache: Map<string, Pattern> | undefined;

/** The classic patterns of examples/life/patterns.json, by name. */
export function patterns(): Map<string, Pattern> {
  if (patternCache) return patternCache;
  const json = JSON.parse(readFileSync(PATTERNS_URL, 'utf8')) as {
    patterns: Record<string, Omit<Pattern, 'name'>>;
  };
  patternCache = new Map(Object.entries(json.patterns).map(([name, p]) => [name, { name, ...p }]));
  return patternCache;
}

/** Pattern `name` centred on a width × height board. */
export function patternBoard(name: string, width: number, height: number): Board {
  const p = patterns().get(name);
  if (!p)
    throw new UsageError(`--pattern: no pattern "${name}" (patterns: ${[...patterns().keys()].join(', ')})`);
  if (p.width > width || p.height > height)
    throw new UsageError(
      `--pattern ${name} is ${p.width}×${p.height}, larger than the ${width}×${height} board`,
    );
  const b = emptyBoard(width, height);
  const x0 = Math.floor((width - p.width) / 2);
  const y0 = Math.floor((height - p.height) / 2);
  for (const [x, y] of p.cells) b.cells[(y0 + y) * width + x0 + x] = 1;
  return b;
}

/** mulberry32: a small, well-mixed 32-bit PRNG, so that `--seed N` gives the same board everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A random board: each cell alive with probability density/256 (the BPF seed program's convention). */
export function randomBoard(seed: number, width: number, height: number, density = 64): Board {
  const next = prng(seed);
  const b = emptyBoard(width, height);
  for (let i = 0; i < b.cells.length; i++) b.cells[i] = (next() & 0xff) < density ? 1 : 0;
  return b;
}
