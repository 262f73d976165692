// Public API of the verifier's numeric domain: the scalar maths of Linux 6.18's verifier on 32-bit
// halves, knowing nothing of registers, pointers or instructions. Checked against the live 6.18
// kernel's verifier log (test/verifier/domain/kernel-diff.ts, replayed by kernel-replay.test.ts).
//
// How check/ is expected to use it (kernel function → here):
//   BPF_ALU/ALU64 op on scalars, adjust_scalar_min_max_vals()
//       src = BPF_K ? scalar.fromImm(imm) : regs[src];     // imm sign-extended, also for ALU32
//       if ((op === AND || op === OR) && tnum.isConst(src.varOff)) zero = alu.maybeForkScalars(dst)
//           → push a branch re-running this insn with dst = zero (kernel: maybe_fork_scalars())
//       alu.adjustScalarMinMaxVals(op, dst, src, alu32, end?)  // false: gave up, dst unknown
//       NEG and END pass dst as src; END also { toLe: BPF_SRC bit is TO_LE, imm }.
//   BPF_MOV: scalar.known(u64.fromS32(imm)) (ALU64) / scalar.known(u64.fromU32(imm)) (ALU),
//       coerce.mov32(src), coerce.movSx64(src, off), coerce.movSx32(src, off).
//   Narrow loads into a scalar: coerce.coerceRegToSize(r, size), coerceRegToSizeSx for LDSX.
//   Conditional jumps between scalars, is_branch_taken() / reg_set_min_max():
//       branch.isBranchTaken(op, dst, src, is32) → 1 | 0 | -1
//       branch.regSetMinMax(op, dst, src, is32) → { taken, fallthrough, violations }
//       (pass the same object twice for `if rX op rX`, like the kernel's aliased registers;
//       log each violation as "verifier bug: " + text, as 6.18 does).
//   State pruning, regsafe() for scalars: scalar.within(old, cur).
//   Log: print.scalarState(r, { precise, id, addConstOff }), print.scalarRanges(), tnum.strn().
// Ids, precision marks, linked registers and sanitation stay in the verifier.
export * as alu from './alu.ts';
export * as branch from './branch.ts';
export * as coerce from './coerce.ts';
export * as print from './print.ts';
export * as scalar from './scalar.ts';
export * as tnum from './tnum.ts';
export * as u64 from './u64.ts';
export type { Scalar } from './scalar.ts';
export type { Tnum } from './tnum.ts';
export type { U64 } from './u64.ts';
