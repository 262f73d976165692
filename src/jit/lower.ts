// Lowering of straight-line eBPF instructions to Wasm: R0-R10 are i64 locals 0..10, 32-bit ops
// work on wrapped halves and zero-extend. Control transfers (jumps, calls, exit) are compile.ts's.
import { InternalError } from '../errors.ts';
import type { FuncBody } from './wasm/module.ts';
import { W as OPCODES } from './wasm/opcodes.ts';

const W = OPCODES;

/** Locals every compiled function declares after its 12 parameters (r0..r10, depth). */
export interface Temps {
  /** i32 scratch (addresses, 32-bit operands). */
  a: number;
  /** i64 scratch (old values of atomics, byte swaps). */
  t: number;
}

// Internal opcodes from vm/program.ts (numbers, so this file stays a pure function of them).
const X_SDIV32_K = 0x100;
const X_MOVSX32_8 = 0x108;
const X_LE16 = 0x10d;
const X_BSWAP64 = 0x115;
const X_ATOMIC = 0x120;
const X_LOAD_ACQ = 0x140;
const X_STORE_REL = 0x144;

const ALU64_OPS: Record<number, number> = {
  0: W.I64_ADD,
  16: W.I64_SUB,
  32: W.I64_MUL,
  64: W.I64_OR,
  80: W.I64_AND,
  96: W.I64_SHL,
  112: W.I64_SHR_U,
  160: W.I64_XOR,
  192: W.I64_SHR_S,
};
const ALU32_OPS: Record<number, number> = {
  0: W.I32_ADD,
  16: W.I32_SUB,
  32: W.I32_MUL,
  64: W.I32_OR,
  80: W.I32_AND,
  96: W.I32_SHL,
  112: W.I32_SHR_U,
  160: W.I32_XOR,
  192: W.I32_SHR_S,
};

/** Pushes the 64-bit operand: src register or sign-extended imm. */
function src64(f: FuncBody, x: boolean, s: number, imm: number): void {
  if (x) f.get(s);
  else f.i64(imm, imm >> 31);
}

function src32(f: FuncBody, x: boolean, s: number, imm: number): void {
  if (x) {
    f.get(s);
    f.op(W.I32_WRAP_I64);
  } else f.i32(imm);
}

function wrapped(f: FuncBody, r: number): void {
  f.get(r);
  f.op(W.I32_WRAP_I64);
}

/** Emits an ALU/ALU64 instruction (xop from the pre-decoded slot). Returns false if not ALU. */
export function lowerAlu(f: FuncBody, tmp: Temps, xop: number, d: number, s: number, imm: number): boolean {
  if (xop < 0x100) {
    const cls = xop & 7;
    if (cls !== 4 && cls !== 7) return false;
    const aop = xop & 0xf0;
    const x = (xop & 8) !== 0;
    if (cls === 7) alu64(f, aop, x, d, s, imm);
    else alu32(f, tmp, aop, x, d, s, imm);
    return true;
  }
  if (xop >= X_SDIV32_K && xop < X_MOVSX32_8) {
    signedDivMod(f, tmp, xop - X_SDIV32_K, d, s, imm);
    return true;
  }
  if (xop >= X_MOVSX32_8 && xop < X_LE16) {
    f.get(s);
    switch (xop - X_MOVSX32_8) {
      case 0:
        f.op(W.I32_WRAP_I64);
        f.op(W.I32_EXTEND8_S);
        f.op(W.I64_EXTEND_I32_U);
        break;
      case 1:
        f.op(W.I32_WRAP_I64);
        f.op(W.I32_EXTEND16_S);
        f.op(W.I64_EXTEND_I32_U);
        break;
      case 2:
        f.op(W.I64_EXTEND8_S);
        break;
      case 3:
        f.op(W.I64_EXTEND16_S);
        break;
      default:
        f.op(W.I64_EXTEND32_S);
    }
    f.set(d);
    return true;
  }
  if (xop >= X_LE16 && xop <= X_BSWAP64) {
    byteSwap(f, tmp, xop - X_LE16, d);
    return true;
  }
  return false;
}

function alu64(f: FuncBody, aop: number, x: boolean, d: number, s: number, imm: number): void {
  const simple = ALU64_OPS[aop];
  if (simple !== undefined) {
    f.get(d);
    src64(f, x, s, imm);
    f.op(simple);
  } else if (aop === 0xb0) {
    src64(f, x, s, imm);
  } else if (aop === 0x80) {
    f.i64(0, 0);
    f.get(d);
    f.op(W.I64_SUB);
  } else if (aop === 0x30 || aop === 0x90) {
    const div = aop === 0x30;
    if (!x) {
      // Constant divisor: no run-time zero test.
      if (imm === 0) {
        if (div) f.i64(0, 0);
        else return;
      } else {
        f.get(d);
        f.i64(imm, imm >> 31);
        f.op(div ? W.I64_DIV_U : W.I64_REM_U);
      }
    } else {
      // x / 0 = 0, x % 0 = x
      f.get(s);
      f.op(W.I64_EQZ);
      f.op(W.IF);
      f.op(W.I64);
      if (div) f.i64(0, 0);
      else f.get(d);
      f.op(W.ELSE);
      f.get(d);
      f.get(s);
      f.op(div ? W.I64_DIV_U : W.I64_REM_U);
      f.op(W.END);
    }
  } else throw new InternalError(`jit: ALU64 op 0x${aop.toString(16)}`);
  f.set(d);
}

function alu32(f: FuncBody, tmp: Temps, aop: number, x: boolean, d: number, s: number, imm: number): void {
  const simple = ALU32_OPS[aop];
  if (simple !== undefined) {
    wrapped(f, d);
    src32(f, x, s, imm);
    f.op(simple);
  } else if (aop === 0xb0) {
    src32(f, x, s, imm);
  } else if (aop === 0x80) {
    f.i32(0);
    wrapped(f, d);
    f.op(W.I32_SUB);
  } else if (aop === 0x30 || aop === 0x90) {
    const div = aop === 0x30;
    if (!x) {
      if (imm === 0) {
        if (div) f.i32(0);
        else wrapped(f, d);
      } else {
        wrapped(f, d);
        f.i32(imm);
        f.op(div ? W.I32_DIV_U : W.I32_REM_U);
      }
    } else {
      src32(f, x, s, imm);
      f.tee(tmp.a);
      f.op(W.I32_EQZ);
      f.op(W.IF);
      f.op(W.I32);
      if (div) f.i32(0);
      else wrapped(f, d);
      f.op(W.ELSE);
      wrapped(f, d);
      f.get(tmp.a);
      f.op(div ? W.I32_DIV_U : W.I32_REM_U);
      f.op(W.END);
    }
  } else throw new InternalError(`jit: ALU op 0x${aop.toString(16)}`);
  f.op(W.I64_EXTEND_I32_U);
  f.set(d);
}

/** k: 0 sdiv32 imm, 1 sdiv32 reg, 2 smod32 imm, 3 smod32 reg, 4..7 the same for 64 bits. */
function signedDivMod(f: FuncBody, tmp: Temps, k: number, d: number, s: number, imm: number): void {
  const is64 = k >= 4;
  const mod = (k & 2) !== 0;
  const x = (k & 1) !== 0;
  const T = is64 ? W.I64 : W.I32;
  const dividend = () => (is64 ? f.get(d) : wrapped(f, d));
  const zero = () => (is64 ? f.i64(0, 0) : f.i32(0));
  const divisor = () => (x ? (is64 ? f.get(s) : f.get(tmp.a)) : is64 ? f.i64(imm, imm >> 31) : f.i32(imm));
  const op = mod ? (is64 ? W.I64_REM_S : W.I32_REM_S) : is64 ? W.I64_DIV_S : W.I32_DIV_S;
  if (!x) {
    if (imm === 0) {
      // sdiv: 0; smod: dst unchanged (zero-extended for 32 bits)
      if (mod) dividend();
      else zero();
    } else if (imm === -1) {
      // INT_MIN / -1 = INT_MIN (Wasm's div_s would trap); x % -1 = 0
      if (mod) zero();
      else {
        zero();
        dividend();
        f.op(is64 ? W.I64_SUB : W.I32_SUB);
      }
    } else {
      dividend();
      divisor();
      f.op(op);
    }
  } else {
    if (!is64) {
      f.get(s);
      f.op(W.I32_WRAP_I64);
      f.set(tmp.a);
    }
    divisor();
    f.op(is64 ? W.I64_EQZ : W.I32_EQZ);
    f.op(W.IF);
    f.op(T);
    if (mod) dividend();
    else zero();
    f.op(W.ELSE);
    if (mod) {
      // rem_s does not trap on INT_MIN % -1 (it gives 0, as eBPF wants)
      dividend();
      divisor();
      f.op(op);
    } else {
      divisor();
      if (is64) f.i64(-1, -1);
      else f.i32(-1);
      f.op(is64 ? W.I64_EQ : W.I32_EQ);
      f.op(W.IF);
      f.op(T);
      zero();
      dividend();
      f.op(is64 ? W.I64_SUB : W.I32_SUB);
      f.op(W.ELSE);
      dividend();
      divisor();
      f.op(op);
      f.op(W.END);
    }
    f.op(W.END);
  }
  if (!is64) f.op(W.I64_EXTEND_I32_U);
  f.set(d);
}

/** k: 0 le16, 1 le32, 2 le64, 3 be16, 4 be32, 5 be64, 6 bswap16, 7 bswap32, 8 bswap64. */
function byteSwap(f: FuncBody, tmp: Temps, k: number, d: number): void {
  const width = k % 3;
  if (k < 3) {
    if (width === 0) {
      f.get(d);
      f.i64(0xffff, 0);
      f.op(W.I64_AND);
      f.set(d);
    } else if (width === 1) {
      wrapped(f, d);
      f.op(W.I64_EXTEND_I32_U);
      f.set(d);
    }
    return;
  }
  if (width === 0) {
    wrapped(f, d);
    f.tee(tmp.a);
    f.i32(0xff);
    f.op(W.I32_AND);
    f.i32(8);
    f.op(W.I32_SHL);
    f.get(tmp.a);
    f.i32(8);
    f.op(W.I32_SHR_U);
    f.i32(0xff);
    f.op(W.I32_AND);
    f.op(W.I32_OR);
    f.op(W.I64_EXTEND_I32_U);
    f.set(d);
  } else if (width === 1) {
    wrapped(f, d);
    f.set(tmp.a);
    bswap32(f, tmp.a);
    f.op(W.I64_EXTEND_I32_U);
    f.set(d);
  } else {
    // Swap adjacent bytes, then adjacent 16-bit pairs, then the two halves.
    swapLanes(f, d, tmp.t, 8, 0x00ff00ff);
    swapLanes(f, tmp.t, tmp.t, 16, 0x0000ffff);
    f.get(tmp.t);
    f.i64(32, 0);
    f.op(W.I64_ROTL);
    f.set(d);
  }
}

/** (x rotr 8) & 0xff00ff00 | (x rotl 8) & 0x00ff00ff, leaving the i32 on the stack. */
function bswap32(f: FuncBody, a: number): void {
  f.get(a);
  f.i32(8);
  f.op(W.I32_ROTR);
  f.i32(0xff00ff00 | 0);
  f.op(W.I32_AND);
  f.get(a);
  f.i32(8);
  f.op(W.I32_ROTL);
  f.i32(0x00ff00ff);
  f.op(W.I32_AND);
  f.op(W.I32_OR);
}

/** out = ((x & m) << sh) | ((x >> sh) & m), m = (mask32, mask32). */
function swapLanes(f: FuncBody, x: number, out: number, sh: number, mask32: number): void {
  f.get(x);
  f.i64(mask32, mask32);
  f.op(W.I64_AND);
  f.i64(sh, 0);
  f.op(W.I64_SHL);
  f.get(x);
  f.i64(sh, 0);
  f.op(W.I64_SHR_U);
  f.i64(mask32, mask32);
  f.op(W.I64_AND);
  f.op(W.I64_OR);
  f.set(out);
}

const CMP64: Record<number, number> = {
  16: W.I64_EQ,
  32: W.I64_GT_U,
  48: W.I64_GE_U,
  80: W.I64_NE,
  96: W.I64_GT_S,
  112: W.I64_GE_S,
  160: W.I64_LT_U,
  176: W.I64_LE_U,
  192: W.I64_LT_S,
  208: W.I64_LE_S,
};
const CMP32: Record<number, number> = {
  16: W.I32_EQ,
  32: W.I32_GT_U,
  48: W.I32_GE_U,
  80: W.I32_NE,
  96: W.I32_GT_S,
  112: W.I32_GE_S,
  160: W.I32_LT_U,
  176: W.I32_LE_U,
  192: W.I32_LT_S,
  208: W.I32_LE_S,
};

/** Pushes the i32 condition of a conditional jump (JMP or JMP32 class). */
export function lowerCond(f: FuncBody, xop: number, d: number, s: number, imm: number): void {
  const jop = xop & 0xf0;
  const x = (xop & 8) !== 0;
  if ((xop & 7) === 5) {
    f.get(d);
    src64(f, x, s, imm);
    if (jop === 0x40) {
      f.op(W.I64_AND);
      f.op(W.I64_EQZ);
      f.op(W.I32_EQZ);
    } else f.op(CMP64[jop]!);
  } else {
    wrapped(f, d);
    src32(f, x, s, imm);
    if (jop === 0x40) {
      f.op(W.I32_AND);
      f.op(W.I32_EQZ);
      f.op(W.I32_EQZ);
    } else f.op(CMP32[jop]!);
  }
}

export interface MemAccess {
  /** Register holding the base address. */
  base: number;
  size: 1 | 2 | 4 | 8;
  write: boolean;
}

/** Base register, size and direction of a load/store/atomic, or undefined for other insns. */
export function memAccess(xop: number, d: number, s: number): MemAccess | undefined {
  if (xop >= X_ATOMIC && xop < X_ATOMIC + 32)
    return { base: d, size: xop >= X_ATOMIC + 16 ? 8 : 4, write: true };
  if (xop >= X_LOAD_ACQ && xop < X_LOAD_ACQ + 4)
    return { base: s, size: (1 << (xop - X_LOAD_ACQ)) as 1 | 2 | 4 | 8, write: false };
  if (xop >= X_STORE_REL && xop < X_STORE_REL + 4)
    return { base: d, size: (1 << (xop - X_STORE_REL)) as 1 | 2 | 4 | 8, write: true };
  if (xop >= 0x100) return undefined;
  const cls = xop & 7;
  if (cls < 1 || cls > 3) return undefined;
  const sz = xop & 0x18;
  const size = sz === 0 ? 4 : sz === 0x08 ? 2 : sz === 0x10 ? 1 : 8;
  return cls === 1 ? { base: s, size, write: false } : { base: d, size, write: true };
}

/** Pushes the i32 address of base+off and returns the static memarg offset to use with it. */
export function address(f: FuncBody, base: number, off: number): number {
  wrapped(f, base);
  if (off >= 0) return off;
  // Wraps below 0 to >= 2^32-32768, past any memory (at most 2 GiB): traps like the
  // interpreter's DataView RangeError.
  f.i32(off);
  f.op(W.I32_ADD);
  return 0;
}

const LOADS: Record<number, number> = {
  97: W.I64_LOAD32_U,
  105: W.I64_LOAD16_U,
  113: W.I64_LOAD8_U,
  121: W.I64_LOAD,
  129: W.I64_LOAD32_S,
  137: W.I64_LOAD16_S,
  145: W.I64_LOAD8_S,
  [X_LOAD_ACQ]: W.I64_LOAD8_U,
  [X_LOAD_ACQ + 1]: W.I64_LOAD16_U,
  [X_LOAD_ACQ + 2]: W.I64_LOAD32_U,
  [X_LOAD_ACQ + 3]: W.I64_LOAD,
};
const STORES_IMM: Record<number, number> = {
  98: W.I32_STORE,
  106: W.I32_STORE16,
  114: W.I32_STORE8,
  122: W.I64_STORE,
};
const STORES_REG: Record<number, number> = {
  99: W.I64_STORE32,
  107: W.I64_STORE16,
  115: W.I64_STORE8,
  123: W.I64_STORE,
  [X_STORE_REL]: W.I64_STORE8,
  [X_STORE_REL + 1]: W.I64_STORE16,
  [X_STORE_REL + 2]: W.I64_STORE32,
  [X_STORE_REL + 3]: W.I64_STORE,
};

/** Emits a load, store or atomic (any checks come before). Returns false if not one. */
export function lowerMem(
  f: FuncBody,
  tmp: Temps,
  xop: number,
  d: number,
  s: number,
  off: number,
  imm: number,
): boolean {
  const ld = LOADS[xop];
  if (ld !== undefined) {
    const o = address(f, s, off);
    f.mem(ld, o);
    f.set(d);
    return true;
  }
  const sti = STORES_IMM[xop];
  if (sti !== undefined) {
    const o = address(f, d, off);
    if (xop === 0x7a) f.i64(imm, imm >> 31);
    else f.i32(imm);
    f.mem(sti, o);
    return true;
  }
  const str = STORES_REG[xop];
  if (str !== undefined) {
    const o = address(f, d, off);
    f.get(s);
    f.mem(str, o);
    return true;
  }
  if (xop >= X_ATOMIC && xop < X_ATOMIC + 32) {
    atomic(f, tmp, xop - X_ATOMIC, d, s, off);
    return true;
  }
  return false;
}

/**
 * k: 0..3 add/or/and/xor, 4..7 the same with fetch, 8 xchg, 9 cmpxchg; +16 for 64 bits.
 * Plain load/modify/store: Wasm atomics need shared memory, and one JS thread runs the program.
 */
function atomic(f: FuncBody, tmp: Temps, k: number, d: number, s: number, off: number): void {
  const is64 = k >= 16;
  const op = k & 15;
  const load = is64 ? W.I64_LOAD : W.I64_LOAD32_U;
  const store = is64 ? W.I64_STORE : W.I64_STORE32;
  const o = address(f, d, off);
  f.tee(tmp.a);
  f.mem(load, o);
  f.set(tmp.t);
  if (op === 9) {
    // cmpxchg: compare with r0, store src if equal; r0 = old
    f.get(tmp.t);
    if (is64) f.get(0);
    else {
      f.op(W.I32_WRAP_I64);
      wrapped(f, 0);
    }
    f.op(is64 ? W.I64_EQ : W.I32_EQ);
    f.op(W.IF);
    f.op(W.BLOCK_VOID);
    f.get(tmp.a);
    f.get(s);
    f.mem(store, o);
    f.op(W.END);
    f.get(tmp.t);
    f.set(0);
    return;
  }
  f.get(tmp.a);
  if (op === 8) f.get(s);
  else {
    f.get(tmp.t);
    f.get(s);
    f.op([W.I64_ADD, W.I64_OR, W.I64_AND, W.I64_XOR][op & 3]!);
  }
  f.mem(store, o);
  if (op >= 4) {
    f.get(tmp.t);
    f.set(s);
  }
}

/** Pushes the big-endian value of `size` bytes at the i32 address in local `a` (zero-extended i64). */
export function loadBigEndian(f: FuncBody, a: number, size: number): void {
  if (size === 1) {
    f.get(a);
    f.mem(W.I64_LOAD8_U, 0);
    return;
  }
  if (size === 2) {
    f.get(a);
    f.mem(W.I32_LOAD8_U, 0);
    f.i32(8);
    f.op(W.I32_SHL);
    f.get(a);
    f.mem(W.I32_LOAD8_U, 1);
    f.op(W.I32_OR);
    f.op(W.I64_EXTEND_I32_U);
    return;
  }
  f.get(a);
  f.mem(W.I32_LOAD, 0);
  f.set(a);
  bswap32(f, a);
  f.op(W.I64_EXTEND_I32_U);
}
