// The board as life.bpf.c stores it: struct life_board, a 16-byte header (generation u64,
// width u16, height u16, pad u32; filled in on published frames only) and then 256 bit rows
// of 32 bytes: cell (x, y) is bit x % 8 of byte 16 + 32 y + x / 8 (the four little-endian u64
// words of the row). No node imports: the playground uses it in the browser too.

export const MAX_SIDE = 256;
export const ROW_BYTES = MAX_SIDE / 8;
export const HEADER_BYTES = 16;
/** sizeof(struct life_board): the value of the `board` and `next_board` maps. */
export const BOARD_BYTES = HEADER_BYTES + MAX_SIDE * ROW_BYTES;

/** Row-major 0/1 cells, as `Board.cells` (board.ts). */
export interface Cells {
  width: number;
  height: number;
  cells: Uint8Array;
}

/** `b` as a board map value (cells past its width and height dead). */
export function packBoard(b: Cells, into: Uint8Array = new Uint8Array(BOARD_BYTES)): Uint8Array {
  into.fill(0);
  for (let y = 0; y < b.height; y++) {
    const row = HEADER_BYTES + y * ROW_BYTES;
    for (let x = 0; x < b.width; x++) if (b.cells[y * b.width + x]) into[row + (x >> 3)]! |= 1 << (x & 7);
  }
  return into;
}

/** Whether cell (x, y) is alive in a board map value or a published frame. */
export function packedCell(bytes: Uint8Array, x: number, y: number): number {
  return (bytes[HEADER_BYTES + y * ROW_BYTES + (x >> 3)]! >> (x & 7)) & 1;
}

/** The width × height area of a board map value or frame as row-major 0/1 cells. */
export function unpackBoard(bytes: Uint8Array, width: number, height: number): Cells {
  const cells = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) cells[y * width + x] = packedCell(bytes, x, y);
  return { width, height, cells };
}

/** A frame from the `frames` ring buffer: its header and its rows. */
export interface Frame extends Cells {
  generation: number;
  /** The record's height rows of ROW_BYTES bytes, as published (a copy). */
  rows: Uint8Array;
}

/** Decodes a `frames` record (header + height rows); undefined if it is too short. */
export function decodeFrame(rec: Uint8Array): Frame | undefined {
  if (rec.length < HEADER_BYTES) return undefined;
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const width = dv.getUint16(8, true);
  const height = dv.getUint16(10, true);
  if (width < 1 || height < 1 || rec.length < HEADER_BYTES + height * ROW_BYTES) return undefined;
  return {
    generation: Number(dv.getBigUint64(0, true)),
    ...unpackBoard(rec, width, height),
    rows: rec.slice(HEADER_BYTES, HEADER_BYTES + height * ROW_BYTES),
  };
}
