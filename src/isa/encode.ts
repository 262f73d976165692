// Insn[] → bytes: each slot is 8 bytes, little-endian (RFC 9669 §3).
import type { Insn } from './insn.ts';
import { OP_LDDW } from './opcode.ts';

/** Writes one slot at byte offset `at` of `view`. */
export function encodeSlot(view: DataView, at: number, i: Insn): void {
  view.setUint8(at, i.code & 0xff);
  view.setUint8(at + 1, (i.dst & 0x0f) | ((i.src & 0x0f) << 4));
  view.setInt16(at + 2, i.off, true);
  view.setInt32(at + 4, i.imm, true);
}

/**
 * Encodes a program, one Insn per slot. For lddw the high half is taken from the first
 * slot's `imm64Hi` when present (builders set only that), else from the second slot's imm.
 */
export function encodeProgram(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  for (let idx = 0; idx < insns.length; idx++) {
    const i = insns[idx]!;
    encodeSlot(view, idx * 8, i);
    if (i.code === OP_LDDW && i.imm64Hi !== undefined && idx + 1 < insns.length) {
      encodeSlot(view, (idx + 1) * 8, { ...insns[idx + 1]!, imm: i.imm64Hi });
      idx++;
    }
  }
  return out;
}

/** One slot as the little-endian u64 the conformance corpus's `-- raw` section uses. */
export function slotWord(i: Insn): bigint {
  const b = new DataView(new ArrayBuffer(8));
  encodeSlot(b, 0, i);
  return b.getBigUint64(0, true);
}
