// Loading: validate an Insn[] once and pre-decode it into a flat Int32Array the interpreter
// reads with one switch. Everything checkable statically is checked here (opcodes, registers,
// jump and call targets, helper ids, lddw pairs), so the run loop only checks what is dynamic.
import { InputError, type Where } from '../errors.ts';
import type { Insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import type { HelperImpl, HelperTable } from './helpers.ts';

/** Words per decoded slot: [xop | dst<<12 | src<<16, off (jump delta), imm, aux]. */
export const SLOT_WORDS = 4;

// Internal opcodes for variants that share an opcode byte (told apart by off or imm).
export const X_SDIV32_K = 0x100;
export const X_SDIV32_X = 0x101;
export const X_SMOD32_K = 0x102;
export const X_SMOD32_X = 0x103;
export const X_SDIV64_K = 0x104;
export const X_SDIV64_X = 0x105;
export const X_SMOD64_K = 0x106;
export const X_SMOD64_X = 0x107;
export const X_MOVSX32_8 = 0x108;
export const X_MOVSX32_16 = 0x109;
export const X_MOVSX64_8 = 0x10a;
export const X_MOVSX64_16 = 0x10b;
export const X_MOVSX64_32 = 0x10c;
export const X_LE16 = 0x10d;
export const X_LE32 = 0x10e;
export const X_LE64 = 0x10f;
export const X_BE16 = 0x110;
export const X_BE32 = 0x111;
export const X_BE64 = 0x112;
export const X_BSWAP16 = 0x113;
export const X_BSWAP32 = 0x114;
export const X_BSWAP64 = 0x115;
export const X_CALL_LOCAL = 0x116;
/** Atomics: X_ATOMIC + (64-bit ? 16 : 0) + atomicIndex(imm). */
export const X_ATOMIC = 0x120;
const VALID_ATOMIC_IMMS = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, op.ATOMIC_XCHG, op.ATOMIC_CMPXCHG];
/** Load-acquire / store-release (cpu v4, kernel 6.15+): + 0..3 for sizes b, h, w, dw. */
export const X_LOAD_ACQ = 0x140;
export const X_STORE_REL = 0x144;
/** Marks the slot after the program and lddw's second halves; executing it faults. */
export const X_TRAP = 0x1ff;

export interface LoadedProgram {
  readonly name: string;
  readonly insns: readonly Insn[];
  /** SLOT_WORDS words per slot, plus one trap slot at the end. */
  readonly code: Int32Array;
  /** Number of real slots. */
  readonly len: number;
  /** Helper (and kfunc) implementations, indexed by the aux word of calls. */
  readonly helperFns: readonly HelperImpl[];
  readonly helperIds: readonly number[];
}

/**
 * Resolves a pseudo lddw (src 1..6) to the 64-bit value it stands for. `hiImm` is the second
 * slot's imm (the offset of BPF_PSEUDO_MAP_VALUE). Throw an InputError to reject it.
 */
export type LddwResolver = (i: Insn, insnIdx: number, hiImm: number) => { lo: number; hi: number };

export interface LoadOptions {
  name?: string;
  helpers: HelperTable;
  /** kfuncs callable with `call` src=BPF_PSEUDO_KFUNC_CALL, by the id in imm. */
  kfuncs?: HelperTable;
  resolveLddw?: LddwResolver;
  where?: Where;
}

function bad(msg: string, where: Where, insnIdx: number): never {
  throw new InputError('PROG', msg, { where: { ...where, insnIdx } });
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

export function loadProgram(insns: readonly Insn[], opts: LoadOptions): LoadedProgram {
  const where = opts.where ?? {};
  const len = insns.length;
  if (len === 0) bad('empty program', where, 0);
  const code = new Int32Array((len + 1) * SLOT_WORDS);
  const helperFns: HelperImpl[] = [];
  const helperIds: number[] = [];
  const helperIndex = new Map<number, number>();
  const isSecondHalf = new Uint8Array(len + 1);
  isSecondHalf[len] = 1;
  const targets: [number, number][] = [];

  for (let i = 0; i < len; i++) {
    const ins = insns[i]!;
    const c = ins.code & 0xff;
    const { dst, src, off, imm } = ins;
    if (isSecondHalf[i]) {
      code[i * SLOT_WORDS] = X_TRAP;
      continue;
    }
    if (dst > 10 || src > 10 || dst < 0 || src < 0)
      bad(`invalid register (dst r${dst}, src r${src})`, where, i);
    let xop = c;
    let delta = off;
    let aux = 0;
    let immW = imm;
    const cl = c & 0x07;
    const writesDst = cl === op.CLASS_ALU || cl === op.CLASS_ALU64 || cl === op.CLASS_LDX || c === op.OP_LDDW;
    if (writesDst && dst === op.REG_FP) bad('frame pointer r10 is read only', where, i);

    if (cl === op.CLASS_ALU || cl === op.CLASS_ALU64) {
      xop = decodeAlu(c, off, imm, i, where);
    } else if (cl === op.CLASS_JMP || cl === op.CLASS_JMP32) {
      const jop = c & 0xf0;
      if (c === op.OP_CALL) {
        if (src === op.PSEUDO_CALL) {
          xop = X_CALL_LOCAL;
          delta = imm;
          targets.push([i, i + 1 + imm]);
        } else if (src === op.PSEUDO_CALL_HELPER) {
          const h = opts.helpers.get(imm);
          if (!h) bad(`unknown helper function id ${imm}`, where, i);
          let k = helperIndex.get(imm);
          if (k === undefined) {
            k = helperFns.length;
            helperFns.push(h.impl);
            helperIds.push(imm);
            helperIndex.set(imm, k);
          }
          aux = k;
        } else if (src === op.PSEUDO_KFUNC_CALL && opts.kfuncs?.has(imm)) {
          // A kfunc runs like a helper; its index key and helperIds entry are negative so
          // the kfunc and helper id spaces never mix.
          const f = opts.kfuncs.get(imm)!;
          let k = helperIndex.get(-imm);
          if (k === undefined) {
            k = helperFns.length;
            helperFns.push(f.impl);
            helperIds.push(-imm);
            helperIndex.set(-imm, k);
          }
          aux = k;
        } else if (src === op.PSEUDO_KFUNC_CALL) {
          bad(`unknown kfunc id ${imm}`, where, i);
        } else {
          bad(`unsupported call kind (src ${src})`, where, i);
        }
      } else if (c === op.OP_CALLX) {
        // Target helper id comes from a register at run time.
      } else if (c === op.OP_EXIT) {
        // nothing
      } else if (c === op.OP_JA) {
        targets.push([i, i + 1 + off]);
      } else if (c === op.OP_MAY_GOTO) {
        if (src !== 0 || dst !== 0 || imm !== 0) bad('may_goto takes only an offset', where, i);
        targets.push([i, i + 1 + off]);
      } else if (c === op.OP_JA32) {
        delta = imm;
        targets.push([i, i + 1 + imm]);
      } else if (jop === op.JMP_CALL || jop === op.JMP_EXIT || jop > op.JMP_JSLE || jop === op.JMP_JA) {
        bad(`invalid jump opcode ${hex(c)}`, where, i);
      } else {
        targets.push([i, i + 1 + off]);
      }
    } else if (c === op.OP_LDDW) {
      if (i + 1 >= len || (insns[i + 1]!.code & 0xff) !== 0) bad('lddw without its second slot', where, i);
      isSecondHalf[i + 1] = 1;
      if (src === 0) {
        immW = imm;
        aux = ins.imm64Hi ?? insns[i + 1]!.imm;
      } else {
        if (!opts.resolveLddw) bad(`lddw pseudo source ${src} needs a loader (maps, BTF ids)`, where, i);
        const v = opts.resolveLddw(ins, i, ins.imm64Hi ?? insns[i + 1]!.imm);
        immW = v.lo | 0;
        aux = v.hi | 0;
      }
    } else {
      xop = decodeMem(c, imm, i, where);
      // Atomics with fetch write their src register; load-acquire writes dst.
      const atomic = (c & 0x07) === op.CLASS_STX && (c & 0xe0) === op.MODE_ATOMIC;
      if (atomic && imm === op.ATOMIC_LOAD_ACQ && dst === op.REG_FP)
        bad('frame pointer r10 is read only', where, i);
      if (atomic && imm !== op.ATOMIC_STORE_REL && (imm & op.ATOMIC_FETCH) !== 0 && src === op.REG_FP)
        bad('frame pointer r10 is read only', where, i);
    }
    code[i * SLOT_WORDS] = xop | (dst << 12) | (src << 16);
    code[i * SLOT_WORDS + 1] = delta;
    code[i * SLOT_WORDS + 2] = immW;
    code[i * SLOT_WORDS + 3] = aux;
  }
  code[len * SLOT_WORDS] = X_TRAP;
  for (const [from, to] of targets) {
    if (to < 0 || to >= len) bad(`jump out of range to insn ${to}`, where, from);
    if (isSecondHalf[to]) bad(`jump into the middle of lddw at insn ${to - 1}`, where, from);
  }
  return { name: opts.name ?? 'prog', insns, code, len, helperFns, helperIds };
}

function decodeAlu(c: number, off: number, imm: number, i: number, where: Where): number {
  const is64 = (c & 0x07) === op.CLASS_ALU64;
  const aop = c & 0xf0;
  const x = (c & op.SRC_X) !== 0;
  if (aop === op.ALU_DIV || aop === op.ALU_MOD) {
    if (off === 0) return c;
    if (off !== 1) bad(`invalid offset ${off} for ${aop === op.ALU_DIV ? 'div' : 'mod'}`, where, i);
    const base = is64 ? X_SDIV64_K : X_SDIV32_K;
    return base + (aop === op.ALU_MOD ? 2 : 0) + (x ? 1 : 0);
  }
  if (aop === op.ALU_MOV && x && off !== 0) {
    if (is64 && off === 8) return X_MOVSX64_8;
    if (is64 && off === 16) return X_MOVSX64_16;
    if (is64 && off === 32) return X_MOVSX64_32;
    if (!is64 && off === 8) return X_MOVSX32_8;
    if (!is64 && off === 16) return X_MOVSX32_16;
    bad(`invalid movsx offset ${off}`, where, i);
  }
  if (aop === op.ALU_END) {
    const k = imm === 16 ? 0 : imm === 32 ? 1 : imm === 64 ? 2 : -1;
    if (k < 0) bad(`invalid byte swap width ${imm}`, where, i);
    if (is64) {
      if (x) bad(`invalid opcode ${hex(c)}`, where, i);
      return X_BSWAP16 + k;
    }
    return (x ? X_BE16 : X_LE16) + k;
  }
  if (aop > op.ALU_END) bad(`invalid ALU opcode ${hex(c)}`, where, i);
  if (aop === op.ALU_NEG && x) bad(`invalid opcode ${hex(c)}`, where, i);
  return c;
}

function decodeMem(c: number, imm: number, i: number, where: Where): number {
  const cl = c & 0x07;
  const mode = c & 0xe0;
  const sz = c & 0x18;
  if (cl === op.CLASS_LDX && (mode === op.MODE_MEM || (mode === op.MODE_MEMSX && sz !== op.SIZE_DW)))
    return c;
  if ((cl === op.CLASS_ST || cl === op.CLASS_STX) && mode === op.MODE_MEM) return c;
  if (cl === op.CLASS_LD && (mode === op.MODE_ABS || mode === op.MODE_IND) && sz !== op.SIZE_DW) return c;
  if (
    cl === op.CLASS_STX &&
    mode === op.MODE_ATOMIC &&
    (imm === op.ATOMIC_LOAD_ACQ || imm === op.ATOMIC_STORE_REL)
  ) {
    const k = sz === op.SIZE_B ? 0 : sz === op.SIZE_H ? 1 : sz === op.SIZE_W ? 2 : 3;
    return (imm === op.ATOMIC_LOAD_ACQ ? X_LOAD_ACQ : X_STORE_REL) + k;
  }
  if (cl === op.CLASS_STX && mode === op.MODE_ATOMIC && (sz === op.SIZE_W || sz === op.SIZE_DW)) {
    if (!VALID_ATOMIC_IMMS.includes(imm)) bad(`invalid atomic operation ${hex(imm)}`, where, i);
    return X_ATOMIC + (sz === op.SIZE_DW ? 16 : 0) + atomicIndex(imm);
  }
  bad(`invalid opcode ${hex(c)}`, where, i);
}

/** 0..3 add/or/and/xor, 4..7 the same with fetch, 8 xchg, 9 cmpxchg. */
export function atomicIndex(imm: number): number {
  switch (imm) {
    case op.ATOMIC_XCHG:
      return 8;
    case op.ATOMIC_CMPXCHG:
      return 9;
  }
  const k = [op.ATOMIC_ADD, op.ATOMIC_OR, op.ATOMIC_AND, op.ATOMIC_XOR].indexOf(imm & ~op.ATOMIC_FETCH);
  return k + (imm & op.ATOMIC_FETCH ? 4 : 0);
}
