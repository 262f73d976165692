// Structural legality of instructions and programs (RFC 9669 plus the kernel's uapi extensions).
// Rejects what the kernel rejects before it looks at types: unknown opcodes
// (kernel: bpf_opcode_in_insntable()), reserved fields that must be zero, registers above r10,
// writes to r10, broken lddw pairs (kernel: resolve_pseudo_ldimm64()) and jumps that leave the
// program or land inside an lddw (kernel: check_subprogs(), check_cfg()).
// Semantic problems (shift counts, division by a constant zero, unreachable code, a program that
// does not end in exit) are left to the verifier so it can report them in its own words.
import { DecodeError, type Where } from '../errors.ts';
import type { Insn } from './insn.ts';
import * as op from './opcode.ts';

export interface InsnProblem {
  insnIdx: number;
  message: string;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

const ALU_BINARY = [
  op.ALU_ADD,
  op.ALU_SUB,
  op.ALU_MUL,
  op.ALU_DIV,
  op.ALU_OR,
  op.ALU_AND,
  op.ALU_LSH,
  op.ALU_RSH,
  op.ALU_MOD,
  op.ALU_XOR,
  op.ALU_MOV,
  op.ALU_ARSH,
];
const JMP_COND = [
  op.JMP_JEQ,
  op.JMP_JGT,
  op.JMP_JGE,
  op.JMP_JSET,
  op.JMP_JNE,
  op.JMP_JSGT,
  op.JMP_JSGE,
  op.JMP_JLT,
  op.JMP_JLE,
  op.JMP_JSLT,
  op.JMP_JSLE,
];
const MOVSX_OFF64: readonly number[] = [0, 8, 16, 32];
const MOVSX_OFF32: readonly number[] = [0, 8, 16];
const ATOMIC_RMW = [op.ATOMIC_ADD, op.ATOMIC_OR, op.ATOMIC_AND, op.ATOMIC_XOR];

/** Every opcode byte that some valid instruction uses (besides lddw's second slot, code 0). */
export const VALID_OPCODES: ReadonlySet<number> = (() => {
  const s = new Set<number>();
  for (const cls of [op.CLASS_ALU, op.CLASS_ALU64]) {
    for (const a of ALU_BINARY) for (const src of [op.SRC_K, op.SRC_X]) s.add(cls | a | src);
    s.add(cls | op.ALU_NEG);
  }
  s.add(op.CLASS_ALU | op.ALU_END | op.SRC_K); // le
  s.add(op.CLASS_ALU | op.ALU_END | op.SRC_X); // be
  s.add(op.CLASS_ALU64 | op.ALU_END); // bswap
  for (const cls of [op.CLASS_JMP, op.CLASS_JMP32]) {
    for (const j of JMP_COND) for (const src of [op.SRC_K, op.SRC_X]) s.add(cls | j | src);
    s.add(cls | op.JMP_JA);
  }
  s.add(op.OP_MAY_GOTO);
  s.add(op.OP_CALL).add(op.OP_CALLX).add(op.OP_EXIT).add(op.OP_LDDW);
  for (const sz of [op.SIZE_B, op.SIZE_H, op.SIZE_W]) {
    s.add(op.CLASS_LD | op.MODE_ABS | sz).add(op.CLASS_LD | op.MODE_IND | sz);
    s.add(op.CLASS_LDX | op.MODE_MEMSX | sz);
  }
  for (const sz of [op.SIZE_B, op.SIZE_H, op.SIZE_W, op.SIZE_DW]) {
    s.add(op.CLASS_LDX | op.MODE_MEM | sz)
      .add(op.CLASS_ST | op.MODE_MEM | sz)
      .add(op.CLASS_STX | op.MODE_MEM | sz)
      .add(op.CLASS_STX | op.MODE_ATOMIC | sz);
  }
  return s;
})();

/** The register an instruction writes, if any (for the r10 check). */
export function writtenReg(i: Insn): number | undefined {
  const c = op.cls(i.code);
  if (c === op.CLASS_ALU || c === op.CLASS_ALU64 || c === op.CLASS_LDX) return i.dst;
  if (i.code === op.OP_LDDW) return i.dst;
  if (c === op.CLASS_STX && op.mode(i.code) === op.MODE_ATOMIC) {
    if (i.imm === op.ATOMIC_CMPXCHG) return 0;
    if (i.imm === op.ATOMIC_LOAD_ACQ) return i.dst;
    if (i.imm & op.ATOMIC_FETCH) return i.src;
  }
  return undefined;
}

/** Why a single (non-lddw-second) slot is malformed, or undefined if it is fine. */
export function insnProblem(i: Insn): string | undefined {
  const code = i.code;
  if (!VALID_OPCODES.has(code)) return `unknown opcode ${hex(code)}`;
  if (i.dst > 10) return `invalid register r${i.dst} in dst`;
  if (i.src > 10 && !(code === op.OP_LDDW || code === op.OP_CALL)) return `invalid register r${i.src} in src`;
  const c = op.cls(code);
  const reserved = (what: string): string => `opcode ${hex(code)} uses reserved fields: ${what}`;
  const w = writtenReg(i);
  switch (c) {
    case op.CLASS_ALU:
    case op.CLASS_ALU64: {
      const a = op.aluOp(code);
      const x = op.srcBit(code) === op.SRC_X;
      if (a === op.ALU_NEG) {
        if (i.src || i.off || i.imm) return reserved('neg takes no src, off or imm');
      } else if (a === op.ALU_END) {
        if (i.src || i.off) return reserved('src and off must be 0');
        if (i.imm !== 16 && i.imm !== 32 && i.imm !== 64)
          return `opcode ${hex(code)}: byte swap width must be 16, 32 or 64, got ${i.imm}`;
      } else {
        if (!x && i.src) return reserved('src must be 0 with an immediate operand');
        if (x && i.imm && !(a === op.ALU_MOV && i.off === op.ADDR_SPACE_CAST && c === op.CLASS_ALU64))
          return reserved('imm must be 0 with a register operand');
        if (a === op.ALU_DIV || a === op.ALU_MOD) {
          if (i.off !== 0 && i.off !== 1)
            return `opcode ${hex(code)}: div/mod offset must be 0 or 1 (signed), got ${i.off}`;
        } else if (a === op.ALU_MOV && x) {
          const ok = c === op.CLASS_ALU64 ? MOVSX_OFF64 : MOVSX_OFF32;
          if (c === op.CLASS_ALU64 && i.off === op.ADDR_SPACE_CAST) {
            if (i.imm !== 1 && i.imm !== 1 << 16)
              return `opcode ${hex(code)}: invalid addr_space_cast ${i.imm}`;
          } else if (!ok.includes(i.off))
            return `opcode ${hex(code)}: movsx offset must be one of ${ok.join('/')}, got ${i.off}`;
        } else if (i.off) return reserved('off must be 0');
      }
      break;
    }
    case op.CLASS_JMP:
    case op.CLASS_JMP32: {
      if (code === op.OP_JA) {
        if (i.dst || i.src || i.imm) return reserved('ja takes only an offset');
      } else if (code === op.OP_JA32) {
        if (i.dst || i.src || i.off) return reserved('gotol takes only imm');
      } else if (code === op.OP_CALL) {
        if (i.dst) return reserved('call has no dst');
        if (i.src > op.PSEUDO_KFUNC_CALL) return `opcode ${hex(code)}: unknown call kind src=${i.src}`;
        // kfunc calls carry a module BTF fd index in off.
        if (i.off && i.src !== op.PSEUDO_KFUNC_CALL) return reserved('call off must be 0');
      } else if (code === op.OP_MAY_GOTO) {
        if (i.dst || i.src || i.imm) return reserved('may_goto takes only an offset');
      } else if (code === op.OP_CALLX) {
        if (i.src || i.off || i.imm) return reserved('callx takes only the register in dst');
      } else if (code === op.OP_EXIT) {
        if (i.dst || i.src || i.off || i.imm) return reserved('exit takes no operands');
      } else if (op.srcBit(code) === op.SRC_K) {
        if (i.src) return reserved('src must be 0 with an immediate operand');
      } else if (i.imm) return reserved('imm must be 0 with a register operand');
      break;
    }
    case op.CLASS_LD:
      if (code === op.OP_LDDW) {
        if (i.off) return reserved('lddw off must be 0');
        if (i.src > op.PSEUDO_LDDW_MAX) return `opcode 0x18: unrecognized lddw pseudo src=${i.src}`;
      } else {
        // kernel: check_ld_abs() "BPF_LD_[ABS|IND] uses reserved fields"
        if (i.dst || i.off) return reserved('ld_abs/ld_ind take no dst or off');
        if (op.mode(code) === op.MODE_ABS && i.src) return reserved('ld_abs takes no src');
      }
      break;
    case op.CLASS_LDX:
      if (i.imm) return reserved('imm must be 0');
      break;
    case op.CLASS_ST:
      if (i.src) return reserved('src must be 0');
      break;
    case op.CLASS_STX:
      if (op.mode(code) === op.MODE_MEM) {
        if (i.imm) return reserved('imm must be 0');
      } else {
        const wide = op.size(code) === op.SIZE_W || op.size(code) === op.SIZE_DW;
        const rmw =
          ATOMIC_RMW.includes(i.imm & ~op.ATOMIC_FETCH) ||
          i.imm === op.ATOMIC_XCHG ||
          i.imm === op.ATOMIC_CMPXCHG;
        const accessOk = i.imm === op.ATOMIC_LOAD_ACQ || i.imm === op.ATOMIC_STORE_REL;
        if (!(accessOk || (rmw && wide)))
          return `opcode ${hex(code)}: invalid atomic operation imm=0x${(i.imm >>> 0).toString(16)}`;
      }
      break;
  }
  if (w === 10) return `opcode ${hex(code)} writes r10, the read-only frame pointer`;
  return undefined;
}

/** Slot index a jump, gotol, local call or PSEUDO_FUNC lddw points at, if it has one. */
export function branchTarget(insns: readonly Insn[], idx: number): number | undefined {
  const i = insns[idx]!;
  const c = op.cls(i.code);
  if (i.code === op.OP_JA32) return idx + 1 + i.imm;
  if (i.code === op.OP_CALL) return i.src === op.PSEUDO_CALL ? idx + 1 + i.imm : undefined;
  if (i.code === op.OP_LDDW) return i.src === op.PSEUDO_FUNC ? idx + 1 + i.imm : undefined;
  if ((c === op.CLASS_JMP || c === op.CLASS_JMP32) && i.code !== op.OP_CALLX && i.code !== op.OP_EXIT)
    return idx + 1 + i.off;
  return undefined;
}

/** The first structural problem of a program, or undefined. */
export interface ValidateOptions {
  /**
   * An ELF code section before linking: bpf-to-bpf calls and `func` lddws may point outside
   * the section (their targets come from relocations), so only their form is checked.
   */
  unlinked?: boolean;
}

export function findProgramProblem(
  insns: readonly Insn[],
  opts: ValidateOptions = {},
): InsnProblem | undefined {
  const n = insns.length;
  const second = new Uint8Array(n); // 1 where a slot is the second half of an lddw
  for (let idx = 0; idx < n; idx++) {
    const i = insns[idx]!;
    const why = insnProblem(i);
    if (why) return { insnIdx: idx, message: why };
    if (i.code !== op.OP_LDDW) continue;
    const next = insns[idx + 1];
    if (!next) return { insnIdx: idx, message: 'opcode 0x18: lddw is missing its second slot' };
    if (next.code || next.dst || next.src || next.off)
      return {
        insnIdx: idx + 1,
        message: `opcode ${hex(next.code)}: second slot of the lddw at insn ${idx} must have code, dst, src and off 0`,
      };
    if (i.imm64Hi !== undefined && i.imm64Hi !== next.imm)
      return { insnIdx: idx, message: 'lddw imm64Hi differs from the second slot imm' };
    if ((i.src === op.PSEUDO_MAP_FD || i.src === op.PSEUDO_MAP_IDX) && next.imm)
      return { insnIdx: idx, message: 'opcode 0x18: unrecognized lddw: map fd/idx with nonzero upper imm' };
    second[idx + 1] = 1;
    idx++;
  }
  for (let idx = 0; idx < n; idx++) {
    if (second[idx]) continue;
    const t = branchTarget(insns, idx);
    if (t === undefined) continue;
    if (opts.unlinked && (insns[idx]!.code === op.OP_CALL || insns[idx]!.code === op.OP_LDDW)) continue;
    const code = insns[idx]!.code;
    if (t < 0 || t >= n)
      return { insnIdx: idx, message: `opcode ${hex(code)}: jump out of range from insn ${idx} to ${t}` };
    if (second[t])
      return { insnIdx: idx, message: `opcode ${hex(code)}: jump into the middle of lddw at insn ${t - 1}` };
  }
  return undefined;
}

/** Throws a DecodeError (with insnIdx) for the first structural problem. */
export function validateProgram(insns: readonly Insn[], where: Where = {}, opts: ValidateOptions = {}): void {
  const p = findProgramProblem(insns, opts);
  if (p) throw new DecodeError(p.message, { where: { ...where, insnIdx: p.insnIdx } });
}
