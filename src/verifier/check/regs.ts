// Register reads and writes (kernel: check_reg_arg(), mark_reg_unknown(), copy_register_state()).
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import { sharedNotInit, unknownScalar } from '../reg.ts';
import type { FuncState } from '../state.ts';
import { BPF_REG_FP, MAX_BPF_REG } from '../state.ts';

export type RegArgKind = 'SRC_OP' | 'DST_OP' | 'DST_OP_NO_MARK';

// kernel: check_reg_arg()
export function checkRegArg(env: VerifierEnv, frame: FuncState, regno: number, t: RegArgKind): RegState {
  if (regno >= MAX_BPF_REG) reject(`R${regno} is invalid`);
  env.log.scratchReg(regno);
  const reg = frame.regs[regno]!;
  if (t === 'SRC_OP') {
    if (reg.type === 'NOT_INIT') reject(`R${regno} !read_ok`);
    return reg;
  }
  if (regno === BPF_REG_FP) reject('frame pointer is read only');
  if (t === 'DST_OP') markRegUnknown(frame, regno);
  return frame.regs[regno]!;
}

// kernel: mark_reg_unknown()
export function markRegUnknown(frame: FuncState, regno: number): void {
  frame.regs[regno] = unknownScalar();
}

// kernel: mark_reg_not_init()
export function markRegNotInit(frame: FuncState, regno: number): void {
  frame.regs[regno] = sharedNotInit();
}

/** Replaces register `regno` with `r` (kernel: struct assignment of bpf_reg_state). */
export function setReg(frame: FuncState, regno: number, r: RegState): void {
  frame.regs[regno] = r;
}
