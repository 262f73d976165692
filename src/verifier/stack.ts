// Stack slots as the kernel's struct bpf_stack_state keeps them: 8 bytes, each with a slot
// type, plus the register spilled there. Byte j of slot spi is at fp-(spi*8 + j + 1).
import type { RegState } from './reg.ts';
import { copyRegSharingScalar, notInit } from './reg.ts';

// kernel: enum bpf_stack_slot_type
export const STACK_INVALID = 0;
export const STACK_SPILL = 1;
export const STACK_MISC = 2;
export const STACK_ZERO = 3;
export type SlotType = 0 | 1 | 2 | 3;

/** kernel: slot_type_char[] */
export const SLOT_TYPE_CHAR = ['?', 'r', 'm', '0'] as const;

export const BPF_REG_SIZE = 8;
export const MAX_BPF_STACK = 512;

export interface StackSlot {
  /** slotType[j] describes the byte at fp-(spi*8 + j + 1). */
  slotType: SlotType[];
  spilled: RegState;
}

export function emptySlot(): StackSlot {
  return { slotType: [0, 0, 0, 0, 0, 0, 0, 0], spilled: notInit() };
}

export function copySlot(s: StackSlot): StackSlot {
  // a slot that holds no spilled register keeps a NOT_INIT placeholder that nothing writes to
  // in place (spills and clobbers replace it), so copies may share it
  const spilled = s.spilled.type === 'NOT_INIT' ? s.spilled : copyRegSharingScalar(s.spilled);
  return { slotType: s.slotType.slice(), spilled };
}

/** kernel: is_spilled_reg() */
export const isSpilledReg = (s: StackSlot): boolean => s.slotType[BPF_REG_SIZE - 1] === STACK_SPILL;

/** kernel: is_spilled_scalar_reg64() */
export const isSpilledScalarReg64 = (s: StackSlot): boolean =>
  s.slotType[0] === STACK_SPILL && s.spilled.type === 'SCALAR_VALUE';
