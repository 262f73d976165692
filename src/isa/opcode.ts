// Opcode byte layout (RFC 9669 §3):
//
//   ALU/ALU64/JMP/JMP32:  | op (4 bits) | source (1 bit) | class (3 bits) |
//   LD/LDX/ST/STX:        | mode (3)    | size (2)       | class (3 bits) |
//
// Variants that share an opcode byte are told apart by `off` (sdiv/smod: off=1,
// movsx: off=8/16/32, JA vs. JA32 by class) or by `imm` (atomics, byte swaps).

// Classes (low 3 bits).
export const CLASS_LD = 0x00;
export const CLASS_LDX = 0x01;
export const CLASS_ST = 0x02;
export const CLASS_STX = 0x03;
export const CLASS_ALU = 0x04;
export const CLASS_JMP = 0x05;
export const CLASS_JMP32 = 0x06;
export const CLASS_ALU64 = 0x07;

// Source bit of ALU and JMP classes.
export const SRC_K = 0x00;
export const SRC_X = 0x08;

// ALU operations (high 4 bits).
export const ALU_ADD = 0x00;
export const ALU_SUB = 0x10;
export const ALU_MUL = 0x20;
export const ALU_DIV = 0x30;
export const ALU_OR = 0x40;
export const ALU_AND = 0x50;
export const ALU_LSH = 0x60;
export const ALU_RSH = 0x70;
export const ALU_NEG = 0x80;
export const ALU_MOD = 0x90;
export const ALU_XOR = 0xa0;
export const ALU_MOV = 0xb0;
export const ALU_ARSH = 0xc0;
/** Byte swap: ALU class with SRC_K = to little endian (le), SRC_X = to big endian (be); ALU64 = bswap. */
export const ALU_END = 0xd0;

// Jump operations (high 4 bits).
export const JMP_JA = 0x00;
export const JMP_JEQ = 0x10;
export const JMP_JGT = 0x20;
export const JMP_JGE = 0x30;
export const JMP_JSET = 0x40;
export const JMP_JNE = 0x50;
export const JMP_JSGT = 0x60;
export const JMP_JSGE = 0x70;
export const JMP_CALL = 0x80;
export const JMP_EXIT = 0x90;
export const JMP_JLT = 0xa0;
export const JMP_JLE = 0xb0;
export const JMP_JSLT = 0xc0;
export const JMP_JSLE = 0xd0;

// Load/store sizes (bits 3-4).
export const SIZE_W = 0x00;
export const SIZE_H = 0x08;
export const SIZE_B = 0x10;
export const SIZE_DW = 0x18;

// Load/store modes (bits 5-7).
export const MODE_IMM = 0x00;
export const MODE_ABS = 0x20;
export const MODE_IND = 0x40;
export const MODE_MEM = 0x60;
/** Sign-extending load (cpu v4), LDX only. */
export const MODE_MEMSX = 0x80;
export const MODE_ATOMIC = 0xc0;

// Atomic operations, in imm of STX|ATOMIC.
export const ATOMIC_ADD = 0x00;
export const ATOMIC_OR = 0x40;
export const ATOMIC_AND = 0x50;
export const ATOMIC_XOR = 0xa0;
export const ATOMIC_FETCH = 0x01;
export const ATOMIC_XCHG = 0xe0 | ATOMIC_FETCH;
export const ATOMIC_CMPXCHG = 0xf0 | ATOMIC_FETCH;

// src_reg values of lddw (BPF_LD | BPF_IMM | BPF_DW) that make it a pseudo instruction.
export const PSEUDO_MAP_FD = 1;
export const PSEUDO_MAP_VALUE = 2;
export const PSEUDO_BTF_ID = 3;
export const PSEUDO_FUNC = 4;
export const PSEUDO_MAP_IDX = 5;
export const PSEUDO_MAP_IDX_VALUE = 6;

// src_reg values of call.
export const PSEUDO_CALL_HELPER = 0;
/** bpf-to-bpf call: imm is the slot offset of the callee relative to the next instruction. */
export const PSEUDO_CALL = 1;
export const PSEUDO_KFUNC_CALL = 2;

/** Full opcode of lddw. */
export const OP_LDDW = CLASS_LD | MODE_IMM | SIZE_DW; // 0x18
export const OP_CALL = CLASS_JMP | JMP_CALL; // 0x85
export const OP_CALLX = CLASS_JMP | JMP_CALL | SRC_X; // 0x8d
export const OP_EXIT = CLASS_JMP | JMP_EXIT; // 0x95
export const OP_JA = CLASS_JMP | JMP_JA; // 0x05
export const OP_JA32 = CLASS_JMP32 | JMP_JA; // 0x06, gotol: target in imm

export const cls = (code: number): number => code & 0x07;
export const aluOp = (code: number): number => code & 0xf0;
export const jmpOp = (code: number): number => code & 0xf0;
export const srcBit = (code: number): number => code & 0x08;
export const size = (code: number): number => code & 0x18;
export const mode = (code: number): number => code & 0xe0;

/** Access width in bytes of a load/store opcode. */
export function sizeBytes(code: number): 1 | 2 | 4 | 8 {
  switch (code & 0x18) {
    case SIZE_B:
      return 1;
    case SIZE_H:
      return 2;
    case SIZE_W:
      return 4;
    default:
      return 8;
  }
}

export const isAluClass = (code: number): boolean =>
  (code & 0x07) === CLASS_ALU || (code & 0x07) === CLASS_ALU64;
export const isJmpClass = (code: number): boolean =>
  (code & 0x07) === CLASS_JMP || (code & 0x07) === CLASS_JMP32;

/** Number of registers r0..r10; r10 is the read-only frame pointer. */
export const NUM_REGS = 11;
export const REG_FP = 10;
/** Stack bytes per frame, as in the kernel (MAX_BPF_STACK). */
export const MAX_BPF_STACK = 512;

// Added by the isa module (backward compatible).
/** Load-acquire / store-release (kernel 6.15+), in imm of STX|ATOMIC for any size. */
export const ATOMIC_LOAD_ACQ = 0x100;
export const ATOMIC_STORE_REL = 0x110;
/** off of ALU64|MOV|X that makes it addr_space_cast (arena pointers); imm = dstAs << 16 | srcAs. */
export const ADDR_SPACE_CAST = 1;
/** may_goto (kernel 6.9+): BPF_JMP|BPF_JCOND with src_reg = BPF_MAY_GOTO (0); off is the target. */
export const JMP_JCOND = 0xe0;
export const OP_MAY_GOTO = CLASS_JMP | JMP_JCOND; // 0xe5
/** Highest src_reg value of a pseudo lddw (PSEUDO_MAP_IDX_VALUE). */
export const PSEUDO_LDDW_MAX = 6;
