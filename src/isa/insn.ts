import { OP_LDDW } from './opcode.ts';

/**
 * One 8-byte instruction slot, as on the wire (RFC 9669 §3):
 * opcode byte, dst and src registers (4 bits each), signed 16-bit offset, signed 32-bit immediate.
 *
 * Programs are arrays indexed by slot, as in the kernel: jump offsets count slots.
 * `lddw` takes two slots; its first slot carries `imm64Hi` (the second slot's imm) for
 * convenience, and the second slot is kept as its own Insn with code 0.
 */
export interface Insn {
  /** Opcode byte, 0..255. */
  code: number;
  /** Destination register, 0..15 on the wire (only 0..10 are valid). */
  dst: number;
  /** Source register, 0..15 on the wire. */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
  /** lddw only: the high 32 bits of the 64-bit immediate (signed 32-bit, as the second slot's imm). */
  imm64Hi?: number;
}

export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): Insn {
  return { code, dst, src, off, imm };
}

export const isLddw = (i: Insn): boolean => i.code === OP_LDDW;

/** The 64-bit immediate of an lddw as a BigInt (API edges and tests only). */
export function lddwValue(i: Insn): bigint {
  return (BigInt(i.imm64Hi ?? 0) << 32n) | BigInt(i.imm >>> 0);
}
