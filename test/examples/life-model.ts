// A plain TypeScript Game of Life with the same board conventions as
// examples/life/life.bpf.c (width x height, torus or dead edges, Life-like rule as
// a birth/survival bit mask), to check the eBPF program's boards against, plus an
// RLE reader for the patterns in examples/life/patterns.json.
export type Cell = [x: number, y: number];

export const RULE_B3_S23 = (1 << 3) | (1 << (9 + 2)) | (1 << (9 + 3));

export interface LifeConfig {
  width: number;
  height: number;
  torus: boolean;
  rule?: number;
}

// Board as a set of "x,y" keys: patterns are sparse.
export function lifeStep(cells: Set<string>, c: LifeConfig): Set<string> {
  const rule = c.rule ?? RULE_B3_S23;
  const counts = new Map<string, number>();
  for (const key of cells) {
    const [x, y] = key.split(',').map(Number) as Cell;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        if (dx === 0 && dy === 0) continue;
        let nx = x + dx;
        let ny = y + dy;
        if (c.torus) {
          nx = (nx + c.width) % c.width;
          ny = (ny + c.height) % c.height;
        } else if (nx < 0 || ny < 0 || nx >= c.width || ny >= c.height) {
          continue;
        }
        const k = `${nx},${ny}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
  }
  const next = new Set<string>();
  // A cell with no live neighbour is born only if the rule has bit 0 set (B0).
  if (rule & 1) {
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++)
        if (!counts.has(`${x},${y}`) && !cells.has(`${x},${y}`)) next.add(`${x},${y}`);
    }
  }
  for (const [k, n] of counts) {
    const alive = cells.has(k) ? 1 : 0;
    if ((rule >> (n + 9 * alive)) & 1) next.add(k);
  }
  for (const k of cells) if (!counts.has(k) && (rule >> 9) & 1) next.add(k); // S0
  return next;
}

export function lifeRun(cells: Cell[], c: LifeConfig, generations: number): Set<string> {
  let board = new Set(cells.map(([x, y]) => `${x},${y}`));
  for (let i = 0; i < generations; i++) board = lifeStep(board, c);
  return board;
}

export function toKeys(cells: Cell[]): string[] {
  return cells.map(([x, y]) => `${x},${y}`).sort();
}

// Run-length encoded pattern ("b" dead, "o" alive, "$" end of row, "!" end).
export function parseRle(rle: string): Cell[] {
  const cells: Cell[] = [];
  let x = 0;
  let y = 0;
  let run = '';
  for (const ch of rle.replace(/\s+/g, '')) {
    if (ch >= '0' && ch <= '9') {
      run += ch;
      continue;
    }
    const n = run ? Number(run) : 1;
    run = '';
    if (ch === 'b') x += n;
    else if (ch === 'o') {
      for (let i = 0; i < n; i++) cells.push([x + i, y]);
      x += n;
    } else if (ch === '$') {
      y += n;
      x = 0;
    } else if (ch === '!') break;
    else throw new Error(`RLE: unexpected '${ch}'`);
  }
  return cells;
}
