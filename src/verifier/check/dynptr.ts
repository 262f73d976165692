// Dynptrs on the stack (kernel: process_dynptr_func(), mark_stack_slots_dynptr(),
// unmark_stack_slots_dynptr(), destroy_if_dynptr_stack_slot() in verifier.c). A struct
// bpf_dynptr is 16 bytes: two stack slots of type STACK_DYNPTR whose registers carry the dynptr
// type, which slot is the first (upper) one, an id that its slices (bpf_dynptr_data) point back
// to and, for a ring-buffer dynptr, the reference that submit/discard must release.
import type { ArgSpec } from '../../vm/helpers.ts';
import type { VerifierEnv } from '../env.ts';
import { nextId, reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import { notInit, pointer } from '../reg.ts';
import { invalidReg } from '../privs.ts';
import * as stackNs from '../stack.ts';
import type { FuncState, VerifierState } from '../state.ts';
import { ownSlot } from '../state.ts';
import { tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';
import { forEachReg } from './jmp.ts';
const {
  BPF_DYNPTR_TYPE_LOCAL,
  BPF_DYNPTR_TYPE_RINGBUF,
  BPF_DYNPTR_TYPE_SKB,
  BPF_DYNPTR_TYPE_XDP,
  BPF_REG_SIZE,
  DYNPTR_FIRST_SLOT,
  dynptrTypeStr,
  STACK_DYNPTR,
  STACK_INVALID,
  writableTypes,
} = stackNs;

// plain objects: tsx turns namespace member reads into getter calls
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

/** kernel: BPF_DYNPTR_NR_SLOTS */
const BPF_DYNPTR_NR_SLOTS = 2;
const ERANGE = -34;
const EINVAL = -22;

const hasFlag = (a: ArgSpec, f: string): boolean => a.flags?.includes(f as never) === true;

/** The dynptr type an argument asks for, 0 for any (kernel: arg_to_dynptr_type()). */
export function argDynptrType(a: ArgSpec): number {
  if (hasFlag(a, 'DYNPTR_TYPE_LOCAL')) return BPF_DYNPTR_TYPE_LOCAL;
  if (hasFlag(a, 'DYNPTR_TYPE_RINGBUF')) return BPF_DYNPTR_TYPE_RINGBUF;
  if (hasFlag(a, 'DYNPTR_TYPE_SKB')) return BPF_DYNPTR_TYPE_SKB;
  if (hasFlag(a, 'DYNPTR_TYPE_XDP')) return BPF_DYNPTR_TYPE_XDP;
  return 0;
}

/** kernel: dynptr_type_refcounted() */
const refcounted = (dynptr: number): boolean => (dynptr & 0xff) === BPF_DYNPTR_TYPE_RINGBUF;

/**
 * The upper slot of the dynptr `reg` points to, or a negative errno; `msgs` gets the kernel's
 * lines for -EINVAL (kernel: dynptr_get_spi() / stack_slot_obj_get_spi()).
 */
function dynptrGetSpi(frame: FuncState, reg: RegState, msgs: string[]): number {
  if (!tnum.isConst(reg.s.varOff)) {
    msgs.push('dynptr has to be at a constant offset');
    return EINVAL;
  }
  const off = reg.off + (u64.toNumberS(tnum.value(reg.s.varOff)) ?? 0);
  if (off % BPF_REG_SIZE) {
    msgs.push(`cannot pass in dynptr at an offset=${off}`);
    return EINVAL;
  }
  const spi = Math.floor((-off - 1) / BPF_REG_SIZE);
  if (spi + 1 < BPF_DYNPTR_NR_SLOTS) {
    msgs.push(`cannot pass in dynptr at an offset=${off}`);
    return EINVAL;
  }
  // kernel: is_spi_bounds_valid()
  if (spi - BPF_DYNPTR_NR_SLOTS + 1 < 0 || spi >= frame.stack.length) return ERANGE;
  return spi;
}

/** kernel: is_dynptr_reg_valid_init() */
function validInit(frame: FuncState, spi: number): boolean {
  if (!(frame.stack[spi]!.spilled.dynptr & DYNPTR_FIRST_SLOT)) return false;
  const hi = frame.stack[spi]!.slotType;
  const lo = frame.stack[spi - 1]!.slotType;
  for (let i = 0; i < BPF_REG_SIZE; i++) if (hi[i] !== STACK_DYNPTR || lo[i] !== STACK_DYNPTR) return false;
  return true;
}

/** What a dynptr argument contributed to the call (kernel: parts of bpf_call_arg_meta). */
export interface DynptrArgMeta {
  /** The dynptr's id and reference (kernel: dynptr_id(), dynptr_ref_obj_id()), for bpf_dynptr_data. */
  id: number;
  refObjId: number;
  /** The dynptr type (kernel: meta->initialized_dynptr.type), 0 for a new one. */
  type: number;
}

/**
 * kernel: the release part of check_func_arg() for a dynptr: only a referenced stack dynptr can
 * be released.
 */
export function checkDynptrRelease(state: VerifierState, regno: number, reg: RegState): void {
  if (reg.type === 'CONST_PTR_TO_DYNPTR') reject('cannot release unowned const bpf_dynptr');
  const frame = state.frames[reg.frameno]!;
  const spi = dynptrGetSpi(frame, reg, []);
  if (spi < 0 || !frame.stack[spi]!.spilled.refObjId) reject(`arg ${regno} is an unacquired reference`);
}

/**
 * kernel: process_dynptr_func() for helpers. An uninitialised argument (MEM_UNINIT) gets a new
 * dynptr written over 16 stack bytes (`writeSlot` does the kernel's check_mem_access() of each
 * 8-byte half); an initialised one must be a dynptr of the type the helper wants. `cloneOf`:
 * bpf_dynptr_clone's parent, whose type and reference the new dynptr takes.
 */
export function processDynptrFunc(
  env: VerifierEnv,
  state: VerifierState,
  regno: number,
  spec: ArgSpec,
  insnIdx: number,
  writeSlot: (off: number) => void,
  cloneOf?: DynptrArgMeta,
): DynptrArgMeta {
  const reg = state.frames[state.frames.length - 1]!.regs[regno]!;
  if (reg.type === 'CONST_PTR_TO_DYNPTR') return constDynptrArg(reg, regno, spec);
  const frame = state.frames[reg.frameno]!;
  const msgs: string[] = [];
  if (hasFlag(spec, 'MEM_UNINIT')) {
    // kernel: is_dynptr_reg_valid_uninit(): slots not allocated yet are fine (written below)
    const spi0 = dynptrGetSpi(frame, reg, msgs);
    if (spi0 < 0 && spi0 !== ERANGE) reject(...msgs, 'Dynptr has to be an uninitialized dynptr');
    for (let i = 0; i < 16; i += BPF_REG_SIZE) writeSlot(i);
    const spi = dynptrGetSpi(frame, reg, msgs);
    const type = cloneOf ? cloneOf.type : argDynptrType(spec);
    markStackSlotsDynptr(env, state, frame, spi, type, insnIdx, cloneOf?.refObjId ?? 0);
    return { id: 0, refObjId: 0, type: 0 };
  }
  const spi = dynptrGetSpi(frame, reg, msgs);
  if (spi < 0 || !validInit(frame, spi)) {
    reject(...msgs, `Expected an initialized dynptr as arg #${regno - 1}`);
  }
  const want = argDynptrType(spec);
  const slot = frame.stack[spi]!.spilled;
  if (want && (slot.dynptr & 0xff) !== want) {
    reject(`Expected a dynptr of type ${dynptrTypeStr(want)} as arg #${regno - 1}`);
  }
  // kernel: mark_dynptr_read() (the log then shows the dynptr)
  env.log.scratchStack(spi);
  env.log.scratchStack(spi - 1);
  return { id: slot.id, refObjId: slot.refObjId, type: slot.dynptr & 0xff };
}

/**
 * kernel: process_dynptr_func() for a CONST_PTR_TO_DYNPTR: initialised, never rebuilt nor
 * mutated by a helper (kfuncs take it as MEM_RDONLY whatever their prototype says).
 */
function constDynptrArg(reg: RegState, regno: number, spec: ArgSpec): DynptrArgMeta {
  if (hasFlag(spec, 'MEM_UNINIT')) reject('Dynptr has to be an uninitialized dynptr');
  if (!hasFlag(spec, 'MEM_RDONLY')) reject('cannot pass pointer to const bpf_dynptr, the helper mutates it');
  const want = argDynptrType(spec);
  if (want && reg.dynptr !== want)
    reject(`Expected a dynptr of type ${dynptrTypeStr(want)} as arg #${regno - 1}`);
  return { id: reg.id, refObjId: reg.refObjId, type: reg.dynptr };
}

function dynptrSlotReg(type: number, first: boolean, id: number, refObjId: number): RegState {
  const r = notInit();
  r.dynptr = type | (first ? DYNPTR_FIRST_SLOT : 0);
  r.id = id;
  r.refObjId = refObjId;
  return r;
}

// kernel: mark_stack_slots_dynptr(); a clone of a ring-buffer dynptr shares its reference
function markStackSlotsDynptr(
  env: VerifierEnv,
  state: VerifierState,
  frame: FuncState,
  spi: number,
  type: number,
  insnIdx: number,
  cloneRefObjId: number,
): void {
  destroyIfDynptrStackSlot(env, state, frame, spi);
  destroyIfDynptrStackSlot(env, state, frame, spi - 1);
  const id = nextId(env);
  let refObjId = 0;
  if (refcounted(type) && cloneRefObjId) refObjId = cloneRefObjId;
  else if (refcounted(type)) {
    refObjId = nextId(env);
    state.refs.push({ id: refObjId, insnIdx });
  }
  for (const [s, first] of [
    [spi, true],
    [spi - 1, false],
  ] as const) {
    const st = ownSlot(frame, s);
    writableTypes(st).fill(STACK_DYNPTR);
    st.spilled = dynptrSlotReg(type, first, id, refObjId);
    env.log.scratchStack(s);
  }
}

function invalidateDynptr(env: VerifierEnv, frame: FuncState, spi: number): void {
  for (const s of [spi, spi - 1]) {
    const st = ownSlot(frame, s);
    writableTypes(st).fill(STACK_INVALID);
    st.spilled = notInit();
    env.log.scratchStack(s);
  }
}

/**
 * After a helper released the dynptr `reg` points to: its slices and its stack slots are gone
 * (kernel: unmark_stack_slots_dynptr(); release_reference() for the slices of a ring-buffer
 * dynptr, which share its reference).
 */
export function unmarkStackSlotsDynptr(
  env: VerifierEnv,
  state: VerifierState,
  reg: RegState,
  releaseReference: (refObjId: number) => void,
): void {
  const frame = state.frames[reg.frameno]!;
  const spi = dynptrGetSpi(frame, reg, []);
  if (spi < 0) reject('verifier internal error: released dynptr not on the stack');
  const slot = frame.stack[spi]!.spilled;
  if (!refcounted(slot.dynptr)) {
    invalidateDynptr(env, frame, spi);
    return;
  }
  const ref = slot.refObjId;
  releaseReference(ref);
  // clones (bpf_dynptr_clone) share the reference: they go too
  for (let i = 1; i < frame.stack.length; i++) {
    const st = frame.stack[i]!;
    if (st.spilled.refObjId !== ref || st.slotType[0] !== STACK_DYNPTR) continue;
    if (st.spilled.dynptr & DYNPTR_FIRST_SLOT) invalidateDynptr(env, frame, i);
  }
}

/**
 * A stack write into slot `spi` of `frame` destroys the dynptr there, and its slices; a
 * referenced (ring-buffer) one may not be overwritten (kernel: destroy_if_dynptr_stack_slot()).
 */
export function destroyIfDynptrStackSlot(
  env: VerifierEnv,
  state: VerifierState,
  frame: FuncState,
  spi: number,
): void {
  let s = spi;
  const st = frame.stack[s];
  if (!st || st.slotType[0] !== STACK_DYNPTR) return;
  if (!(st.spilled.dynptr & DYNPTR_FIRST_SLOT)) s++;
  const first = frame.stack[s]!.spilled;
  if (refcounted(first.dynptr)) reject('cannot overwrite referenced dynptr');
  const dynptrId = first.id;
  invalidateDynptr(env, frame, s);
  // kernel: mark_reg_invalid(): the slice becomes an unknown scalar for root, unreadable otherwise
  forEachReg(state, (r, set) => {
    if (r.type === 'PTR_TO_MEM' && r.dynptrId === dynptrId) set(invalidReg(env));
  });
}

/** The bytes [minOff, maxOff) of `frame` hold part of a dynptr: its first offset, else undefined. */
export function dynptrByteIn(frame: FuncState, minOff: number, maxOff: number): number | undefined {
  for (let i = minOff; i < maxOff; i++) {
    const slot = -i - 1;
    const st = frame.stack[Math.floor(slot / BPF_REG_SIZE)];
    if (st && st.slotType[slot % BPF_REG_SIZE] === STACK_DYNPTR) return i;
  }
  return undefined;
}

/** R0 of bpf_dynptr_data: PTR_TO_MEM or NULL of the asked size, tied to the dynptr (kernel: check_helper_call()). */
export function dynptrSlice(env: VerifierEnv, memSize: number, d: DynptrArgMeta): RegState {
  return pointer('PTR_TO_MEM', {
    maybeNull: true,
    memSize,
    id: nextId(env),
    refObjId: d.refObjId,
    dynptrId: d.id,
  });
}

/** Packet dynptrs: their slices are packet pointers for clear_all_pkt_pointers(). */
export const isPktDynptrType = (type: number): boolean =>
  type === BPF_DYNPTR_TYPE_SKB || type === BPF_DYNPTR_TYPE_XDP;

/**
 * R0 of bpf_dynptr_slice(_rdwr): PTR_TO_MEM or NULL of the constant buffer__szk size, read-only
 * from bpf_dynptr_slice; a packet slice keeps its dynptr type so that packet-changing helpers
 * invalidate it (kernel: check_kfunc_call(), get_dynptr_type_flag()).
 */
export function dynptrKfuncSlice(
  env: VerifierEnv,
  memSize: number,
  d: DynptrArgMeta,
  rdonly: boolean,
): RegState {
  const r = pointer('PTR_TO_MEM', { maybeNull: true, memSize, id: nextId(env), dynptrId: d.id, rdonly });
  r.dynptr = d.type;
  return r;
}
