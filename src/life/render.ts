// Terminal drawing for the Life demo: two board rows per text line with the half-block
// characters ▀ ▄ █, inside a box, redrawn from the top-left corner in one write per frame
// (no clearing, so no flicker).
import { InputError } from '../errors.ts';
import type { Board } from './board.ts';

export const ESC = {
  altScreenOn: '\x1b[?1049h',
  altScreenOff: '\x1b[?1049l',
  cursorHide: '\x1b[?25l',
  cursorShow: '\x1b[?25h',
  home: '\x1b[H',
  clear: '\x1b[2J',
  clearToEol: '\x1b[K',
  clearBelow: '\x1b[J',
} as const;

const GLYPH = [' ', '▀', '▄', '█']; // index: top | bottom << 1

/** The board as text lines, two rows per line, boxed. */
export function halfBlockLines(b: Board): string[] {
  const lines = [`┌${'─'.repeat(b.width)}┐`];
  for (let y = 0; y < b.height; y += 2) {
    let s = '│';
    for (let x = 0; x < b.width; x++) {
      const top = b.cells[y * b.width + x]!;
      const bottom = y + 1 < b.height ? b.cells[(y + 1) * b.width + x]! : 0;
      s += GLYPH[top | (bottom << 1)];
    }
    lines.push(`${s}│`);
  }
  lines.push(`└${'─'.repeat(b.width)}┘`);
  return lines;
}

/** Reads a board back from halfBlockLines output (for tests of what the screen shows). */
export function parseHalfBlocks(lines: readonly string[], width: number, height: number): Board {
  const cells = new Uint8Array(width * height);
  for (let i = 0; i < Math.ceil(height / 2); i++) {
    const row = [...(lines[i] ?? '')];
    for (let x = 0; x < width; x++) {
      const v = GLYPH.indexOf(row[x] ?? ' ');
      if (v < 0)
        throw new InputError('BOARD', `not a half-block cell: ${JSON.stringify(row[x])}`, {
          where: { line: i + 1, col: x + 1 },
        });
      cells[2 * i * width + x] = v & 1;
      if (2 * i + 1 < height) cells[(2 * i + 1) * width + x] = v >> 1;
    }
  }
  return { width, height, cells };
}

export interface Status {
  generation: number;
  live: number;
  gensPerSec: number;
  engine: string;
  edges: string;
  note?: string;
}

export function statusLine(s: Status): string {
  const rate = s.gensPerSec >= 100 ? s.gensPerSec.toFixed(0) : s.gensPerSec.toFixed(1);
  const note = s.note ? `  ${s.note}` : '';
  return `gen ${s.generation}  live ${s.live}  ${rate} gen/s  engine ${s.engine}  ${s.edges}  (q quits)${note}`;
}

/** One frame: cursor home, every line cleared to its end, the status line last. */
export function frame(b: Board, s: Status): string {
  const lines = [...halfBlockLines(b), statusLine(s)];
  return `${ESC.home}${lines.join(`${ESC.clearToEol}\r\n`)}${ESC.clearToEol}${ESC.clearBelow}`;
}
