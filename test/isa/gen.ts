// Random structurally valid programs for round-trip and fuzz tests (seeded, reproducible).
import type { Insn } from '../../src/isa/insn.ts';
import * as op from '../../src/isa/opcode.ts';
import { VALID_OPCODES } from '../../src/isa/valid.ts';

export { mulberry32Float as prng } from '../../src/prng.ts';

export interface GenOptions {
  /** Only forms llvm-mc-19 can assemble (no pseudo lddw/calls, no load-acquire, 16-bit gotol). */
  llvmSafe?: boolean;
}

/** A random valid program of about n slots; every valid opcode is equally likely. */
export function randomProgram(rand: () => number, n: number, opts: GenOptions = {}): Insn[] {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // Immediates: mostly small, sometimes extreme.
  const imm32 = (): number =>
    pick([0, 1, -1, 0x7fffffff, -0x80000000, int(-100, 100), int(-(2 ** 31), 2 ** 31 - 1)]);
  const off16 = (): number => pick([0, -8, 4, 32767, -32768, int(-512, 512)]);
  const wreg = (): number => int(0, 9);
  const anyReg = (): number => int(0, 10);
  const codes = [...VALID_OPCODES];

  interface Pending {
    insn: Insn;
    /** Which field gets a random in-range target once slots are known. */
    target?: 'off' | 'imm';
  }
  const items: Pending[] = [];
  let slots = 0;
  while (slots < n) {
    const code = pick(codes);
    const i: Insn = { code, dst: 0, src: 0, off: 0, imm: 0 };
    const p: Pending = { insn: i };
    const c = op.cls(code);
    if (c === op.CLASS_ALU || c === op.CLASS_ALU64) {
      const a = op.aluOp(code);
      const x = op.srcBit(code) === op.SRC_X;
      i.dst = wreg();
      if (a === op.ALU_END) i.imm = pick([16, 32, 64]);
      else if (a === op.ALU_NEG) {
        // no operands
      } else if (x) {
        i.src = anyReg();
        if (a === op.ALU_DIV || a === op.ALU_MOD) i.off = int(0, 1);
        if (a === op.ALU_MOV) {
          const offs = c === op.CLASS_ALU64 ? [0, 8, 16, 32, op.ADDR_SPACE_CAST] : [0, 8, 16];
          i.off = pick(offs);
          if (i.off === op.ADDR_SPACE_CAST) i.imm = pick([1, 1 << 16]);
        }
      } else {
        i.imm = imm32();
        if (a === op.ALU_DIV || a === op.ALU_MOD) i.off = int(0, 1);
      }
    } else if (c === op.CLASS_JMP || c === op.CLASS_JMP32) {
      if (code === op.OP_EXIT) {
        // nothing
      } else if (code === op.OP_CALLX) i.dst = anyReg();
      else if (code === op.OP_CALL) {
        i.src = opts.llvmSafe ? 0 : pick([0, 0, 1, 2]);
        if (i.src === 1) p.target = 'imm';
        else if (i.src === 2) {
          i.imm = imm32();
          i.off = off16();
        } else i.imm = opts.llvmSafe ? int(0, 211) : imm32();
      } else if (code === op.OP_JA32) p.target = 'imm';
      else {
        p.target = 'off';
        if (code !== op.OP_JA && code !== op.OP_MAY_GOTO) {
          i.dst = anyReg();
          if (op.srcBit(code) === op.SRC_X) i.src = anyReg();
          else i.imm = imm32();
        }
      }
    } else if (code === op.OP_LDDW) {
      i.dst = wreg();
      i.src = opts.llvmSafe ? 0 : pick([0, 0, 1, 2, 3, 4, 5, 6]);
      i.imm = imm32();
      i.imm64Hi = i.src === 1 || i.src === 5 || i.src === 4 ? 0 : imm32();
      if (i.src === 4) p.target = 'imm';
    } else if (c === op.CLASS_LD) {
      if (op.mode(code) === op.MODE_IND) {
        i.src = anyReg();
        i.imm = opts.llvmSafe ? 0 : imm32();
      } else i.imm = imm32();
    } else if (c === op.CLASS_LDX) {
      i.dst = wreg();
      i.src = anyReg();
      i.off = off16();
    } else if (c === op.CLASS_ST) {
      i.dst = anyReg();
      i.off = off16();
      i.imm = imm32();
    } else if (op.mode(code) === op.MODE_MEM) {
      i.dst = anyReg();
      i.src = anyReg();
      i.off = off16();
    } else {
      // STX | ATOMIC
      const wide = op.size(code) === op.SIZE_W || op.size(code) === op.SIZE_DW;
      const rmw = [0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, op.ATOMIC_XCHG, op.ATOMIC_CMPXCHG];
      const access = opts.llvmSafe ? [] : [op.ATOMIC_LOAD_ACQ, op.ATOMIC_STORE_REL];
      const choices = wide ? [...rmw, ...access] : access;
      if (choices.length === 0) continue;
      i.imm = pick(choices);
      i.dst = anyReg();
      i.src = anyReg();
      i.off = off16();
      if (i.imm & op.ATOMIC_FETCH && i.imm !== op.ATOMIC_CMPXCHG) i.src = wreg();
      if (i.imm === op.ATOMIC_LOAD_ACQ) i.dst = wreg();
    }
    items.push(p);
    slots += code === op.OP_LDDW ? 2 : 1;
  }
  // Lay out slots, then aim every branch at a random instruction start.
  const starts: number[] = [];
  let s = 0;
  for (const it of items) {
    starts.push(s);
    s += it.insn.code === op.OP_LDDW ? 2 : 1;
  }
  const out: Insn[] = [];
  items.forEach((it, k) => {
    const i = it.insn;
    if (it.target) {
      // Stay within ±2000 instructions so 16-bit offsets fit even in huge programs.
      const j = Math.min(starts.length - 1, Math.max(0, k + int(-2000, 2000)));
      const rel = starts[j]! - starts[k]! - 1;
      if (it.target === 'off') i.off = rel;
      else i.imm = rel;
    }
    out.push(i);
    if (i.code === op.OP_LDDW) out.push({ code: 0, dst: 0, src: 0, off: 0, imm: i.imm64Hi! });
  });
  return out;
}
