// Operator spellings shared by the LLVM-syntax disassembler (disasm.ts) and the verifier-log
// printer (disasm-kernel.ts): both write `r1 += r2`, `if r1 s> r2`, `atomic_fetch_add`.
import * as op from './opcode.ts';

/** Compound-assignment operator of each binary ALU op (`+=`); NEG and END have none. */
export const ALU_SYM: Readonly<Record<number, string>> = {
  [op.ALU_ADD]: '+=',
  [op.ALU_SUB]: '-=',
  [op.ALU_MUL]: '*=',
  [op.ALU_DIV]: '/=',
  [op.ALU_OR]: '|=',
  [op.ALU_AND]: '&=',
  [op.ALU_LSH]: '<<=',
  [op.ALU_RSH]: '>>=',
  [op.ALU_MOD]: '%=',
  [op.ALU_XOR]: '^=',
  [op.ALU_MOV]: '=',
  [op.ALU_ARSH]: 's>>=',
};

/** Comparison operator of each conditional jump. */
export const JMP_SYM: Readonly<Record<number, string>> = {
  [op.JMP_JEQ]: '==',
  [op.JMP_JGT]: '>',
  [op.JMP_JGE]: '>=',
  [op.JMP_JSET]: '&',
  [op.JMP_JNE]: '!=',
  [op.JMP_JSGT]: 's>',
  [op.JMP_JSGE]: 's>=',
  [op.JMP_JLT]: '<',
  [op.JMP_JLE]: '<=',
  [op.JMP_JSLT]: 's<',
  [op.JMP_JSLE]: 's<=',
};

/** Name of each arithmetic atomic op, as in `atomic_fetch_add` (the ops share the ALU codes). */
export const ATOMIC_NAME: Readonly<Record<number, string>> = {
  [op.ATOMIC_ADD]: 'add',
  [op.ATOMIC_OR]: 'or',
  [op.ATOMIC_AND]: 'and',
  [op.ATOMIC_XOR]: 'xor',
};
