// bytes → Insn[]: 8-byte little-endian slots (RFC 9669 §3), validated structurally.
import { DecodeError, type Where } from '../errors.ts';
import type { Insn } from './insn.ts';
import { OP_LDDW } from './opcode.ts';
import { type ValidateOptions, validateProgram } from './valid.ts';

/** Reads slots without any checks (lddw pairs still get imm64Hi when both halves exist). */
export function decodeSlots(bytes: Uint8Array): Insn[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.floor(bytes.byteLength / 8);
  const out: Insn[] = new Array(n);
  for (let idx = 0; idx < n; idx++) {
    const at = idx * 8;
    const regs = view.getUint8(at + 1);
    out[idx] = {
      code: view.getUint8(at),
      dst: regs & 0x0f,
      src: regs >> 4,
      off: view.getInt16(at + 2, true),
      imm: view.getInt32(at + 4, true),
    };
  }
  for (let idx = 0; idx + 1 < n; idx++) {
    if (out[idx]!.code === OP_LDDW) {
      out[idx]!.imm64Hi = out[idx + 1]!.imm;
      idx++;
    }
  }
  return out;
}

/** Decodes and validates a program; throws DecodeError with insnIdx and the reason. */
export function decodeProgram(bytes: Uint8Array, where: Where = {}, opts: ValidateOptions = {}): Insn[] {
  if (bytes.byteLength % 8 !== 0)
    throw new DecodeError(`program is ${bytes.byteLength} bytes, not a multiple of 8 (truncated?)`, {
      where: {
        ...where,
        byteOff: bytes.byteLength - (bytes.byteLength % 8),
        insnIdx: Math.floor(bytes.byteLength / 8),
      },
    });
  const insns = decodeSlots(bytes);
  validateProgram(insns, where, opts);
  return insns;
}
