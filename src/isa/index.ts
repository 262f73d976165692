// Public API of the instruction-set module.
export {
  type AsmDialect,
  assemble,
  assembleAuto,
  assembleConformance,
  detectDialect,
  parseConformanceFile,
} from './asm/index.ts';
export type { ConformanceTest } from './asm/conformance.ts';
export { decodeProgram, decodeSlots } from './decode.ts';
export { type DisasmOptions, disasmInsn, disassemble, labelFor } from './disasm.ts';
export { type KernelFormatOptions, formatKernelInsn } from './disasm-kernel.ts';
export { encodeProgram, encodeSlot, slotWord } from './encode.ts';
export { HELPER_NAMES, helperId, helperName } from './helper-names.ts';
export { type Insn, insn, isLddw, lddwValue } from './insn.ts';
export * as opcode from './opcode.ts';
export {
  branchTarget,
  findProgramProblem,
  type InsnProblem,
  insnProblem,
  VALID_OPCODES,
  type ValidateOptions,
  validateProgram,
  writtenReg,
} from './valid.ts';
