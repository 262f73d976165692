// Stack slots as the kernel's struct bpf_stack_state keeps them: 8 bytes, each with a slot
// type, plus the register spilled there. Byte j of slot spi is at fp-(spi*8 + j + 1).
import type { RegState } from './reg.ts';
import { FREEZE_SHARED, markShared, notInit } from './reg.ts';

// kernel: enum bpf_stack_slot_type
export const STACK_INVALID = 0;
export const STACK_SPILL = 1;
export const STACK_MISC = 2;
export const STACK_ZERO = 3;
/** Both slots of a 16-byte struct bpf_dynptr (src/verifier/check/dynptr.ts). */
export const STACK_DYNPTR = 4;
export type SlotType = 0 | 1 | 2 | 3 | 4;

// kernel: enum bpf_dynptr_type (the ones helpers create), kept in a dynptr slot's register
export const BPF_DYNPTR_TYPE_LOCAL = 1;
export const BPF_DYNPTR_TYPE_RINGBUF = 2;
export const BPF_DYNPTR_TYPE_SKB = 3;
export const BPF_DYNPTR_TYPE_XDP = 4;
/** Or-ed into RegState.dynptr on the dynptr's first (upper) slot (kernel: dynptr.first_slot). */
export const DYNPTR_FIRST_SLOT = 0x100;
const DYNPTR_TYPE_NAMES = ['invalid', 'local', 'ringbuf', 'skb', 'xdp'];
/** kernel: dynptr_type_str() */
export const dynptrTypeStr = (dynptr: number): string => DYNPTR_TYPE_NAMES[dynptr & 0xff] ?? 'unknown';

/** kernel: slot_type_char[] */
export const SLOT_TYPE_CHAR = ['?', 'r', 'm', '0', 'd'] as const;

export const BPF_REG_SIZE = 8;
export const MAX_BPF_STACK = 512;

export interface StackSlot {
  /** slotType[j] describes the byte at fp-(spi*8 + j + 1). */
  /** Read freely; write only through writableTypes() (the array may be shared with copies). */
  slotType: SlotType[];
  spilled: RegState;
  /** slotType may be shared with another slot (copy-on-write). */
  sharedTypes: boolean;
  /**
   * The slot object is held by more than one state copy (copyFrame() shares slots): never write
   * it in place, take the frame's own copy first (ownSlot() in state.ts). The spilled register
   * has its own `shared` mark (a spill shares the register object with the register it came from).
   */
  shared: boolean;
}

export function emptySlot(): StackSlot {
  return { slotType: [0, 0, 0, 0, 0, 0, 0, 0], spilled: notInit(), sharedTypes: false, shared: false };
}

/** Marks s as held by several state copies; its byte types stay shared with the copies made of it. */
export function markSlotShared(s: StackSlot): void {
  if (s.shared) return;
  s.shared = true;
  s.sharedTypes = true;
  markShared(s.spilled);
  if (FREEZE_SHARED) {
    Object.freeze(s.slotType);
    Object.freeze(s);
  }
}

/**
 * An unshared copy of a shared slot: the byte types stay shared until writableTypes(), the spilled
 * register (marked shared) until an in-place write takes its own copy (ownSpilled() in state.ts).
 */
export function unsharedSlot(s: StackSlot): StackSlot {
  return { slotType: s.slotType, spilled: s.spilled, sharedTypes: true, shared: false };
}

/** The slot's byte types, unshared first so that they may be written (copy-on-write). */
export function writableTypes(s: StackSlot): SlotType[] {
  if (s.sharedTypes) {
    s.slotType = s.slotType.slice();
    s.sharedTypes = false;
  }
  return s.slotType;
}

/** kernel: is_spilled_reg() */
export const isSpilledReg = (s: StackSlot): boolean => s.slotType[BPF_REG_SIZE - 1] === STACK_SPILL;

/** kernel: is_spilled_scalar_reg64() */
export const isSpilledScalarReg64 = (s: StackSlot): boolean =>
  s.slotType[0] === STACK_SPILL && s.spilled.type === 'SCALAR_VALUE';
