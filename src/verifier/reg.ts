// Register states as the kernel's struct bpf_reg_state keeps them (include/linux/bpf_verifier.h):
// a type, a fixed offset, the numeric part (a tnum plus eight bounds; for pointers the variable
// offset), ids for null-check and scalar linking, a reference id, a packet range.
import type { U64 } from './domain/index.ts';
import { scalar as scalarNs, tnum as tnumNs, u64 as u64Ns } from './domain/index.ts';
import type { Scalar } from './domain/index.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const scalar = { ...scalarNs };
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

// kernel: enum bpf_reg_type (the base types tsbpf tracks)
export type RegType =
  | 'NOT_INIT'
  | 'SCALAR_VALUE'
  | 'PTR_TO_CTX'
  | 'CONST_PTR_TO_MAP'
  | 'PTR_TO_MAP_VALUE'
  | 'PTR_TO_MAP_KEY'
  | 'PTR_TO_STACK'
  | 'PTR_TO_PACKET_META'
  | 'PTR_TO_PACKET'
  | 'PTR_TO_PACKET_END'
  | 'PTR_TO_MEM'
  | 'PTR_TO_FUNC'
  | 'PTR_TO_BTF_ID'
  | 'PTR_TO_BUF'
  /** A callback's `struct bpf_dynptr *` argument (bpf_user_ringbuf_drain); `dynptr` holds its type. */
  | 'CONST_PTR_TO_DYNPTR';

export interface RegState {
  type: RegType;
  /** kernel: PTR_MAYBE_NULL */
  maybeNull: boolean;
  /** kernel: MEM_RDONLY */
  rdonly: boolean;
  /** kernel: MEM_RINGBUF (memory from bpf_ringbuf_reserve) */
  ringbuf: boolean;
  /** Fixed part of a pointer's offset. */
  off: number;
  /**
   * Scalar value, or a pointer's variable offset. Shared between copies of a state: replace it,
   * or copyReg() the register first, never change it in place (see copyRegSharingScalar()).
   */
  s: Scalar;
  /** Null-check / packet-pointer / linked-scalar id (kernel: id). */
  id: number;
  /** kernel: ref_obj_id */
  refObjId: number;
  /** Packet pointers: bytes known to be in bounds past the pointer (kernel: range). */
  range: number;
  /** Map pointers and map values: index into the program's maps. */
  mapIndex: number;
  /** PTR_TO_MEM: accessible size (kernel: mem_size). */
  memSize: number;
  /** PTR_TO_STACK: which frame the pointer points into. */
  frameno: number;
  /** PTR_TO_FUNC: callee subprogram. */
  subprogno: number;
  /** kernel: precise */
  precise: boolean;
  /** PTR_TO_BTF_ID: the struct's type id in the verifier's BTF (kernel: btf_id), 0 if unknown. */
  btfId: number;
  /** PTR_TO_BTF_ID: kernel: PTR_TRUSTED */
  trusted: boolean;
  /** PTR_TO_BTF_ID: kernel: MEM_RCU (valid inside an RCU read section; a kptr loaded there) */
  rcu: boolean;
  /** PTR_TO_BTF_ID: kernel: PTR_UNTRUSTED (loads only, through probe reads) */
  untrusted: boolean;
  /** PTR_TO_BTF_ID: kernel: MEM_ALLOC, an object of bpf_obj_new(); btfId names a type of the program's BTF */
  alloc: boolean;
  /**
   * A STACK_DYNPTR slot's register: the dynptr type, | DYNPTR_FIRST_SLOT on its first slot; a
   * CONST_PTR_TO_DYNPTR's type; a dynptr slice's type (kernel: dynptr, DYNPTR_TYPE_* flags).
   */
  dynptr: number;
  /** PTR_TO_MEM from bpf_dynptr_data: the id of the dynptr it points into (kernel: dynptr_id). */
  dynptrId: number;
  /**
   * Held by more than one state copy (copyFrame() shares registers): never write it in place, make
   * the frame's own copy first (ownReg() in state.ts). Never reset: a copy starts unshared.
   */
  shared: boolean;
}

/**
 * Flags on a scalar id: this register is the linked value plus `off`, added by a 64-bit or a
 * 32-bit instruction (kernel: BPF_ADD_CONST64, BPF_ADD_CONST32). Ids stay unsigned 32-bit numbers.
 */
export const BPF_ADD_CONST64 = 0x80000000;
export const BPF_ADD_CONST32 = 0x40000000;
export const BPF_ADD_CONST = 0xc0000000;
export const baseId = (id: number): number => id & 0x3fffffff;
export const hasAddConst = (id: number): boolean => (id & BPF_ADD_CONST) !== 0;

/** Packet range markers (kernel: AT_PKT_END, BEYOND_PKT_END). */
export const AT_PKT_END = -1;
export const BEYOND_PKT_END = -2;

function base(type: RegType, s: Scalar): RegState {
  return {
    type,
    maybeNull: false,
    rdonly: false,
    ringbuf: false,
    off: 0,
    s,
    id: 0,
    refObjId: 0,
    range: 0,
    mapIndex: -1,
    memSize: 0,
    frameno: 0,
    subprogno: -1,
    precise: false,
    btfId: 0,
    trusted: false,
    rcu: false,
    untrusted: false,
    alloc: false,
    dynptr: 0,
    dynptrId: 0,
    shared: false,
  };
}

/** kernel: __mark_reg_not_init() */
export const notInit = (): RegState => base('NOT_INIT', scalar.unknown());
let notInitShared: RegState | undefined;

/**
 * One NOT_INIT register for every register a call clobbers: registers of that type are only
 * ever replaced, never written in place (copyFrame() shares them too); a helper call clobbers six.
 */
export function sharedNotInit(): RegState {
  if (notInitShared === undefined) {
    notInitShared = notInit();
    notInitShared.shared = true;
    if (FREEZE_SHARED) Object.freeze(Object.freeze(notInitShared).s);
  }
  return notInitShared;
}

/** kernel: __mark_reg_unknown() */
export const unknownScalar = (): RegState => base('SCALAR_VALUE', scalar.unknown());
/** kernel: __mark_reg_known() */
export const knownScalar = (v: U64): RegState => base('SCALAR_VALUE', scalar.known(v));
export const scalarOf = (s: Scalar): RegState => base('SCALAR_VALUE', s);

/**
 * The zero variable offset every new pointer starts with, shared: scalars in register states are
 * never changed in place (see copyRegSharingScalar()), and a fresh object per pointer was a
 * measurable part of short programs' verification time.
 */
let zeroVarOff: Scalar | undefined;

/** A pointer of `type` with a zero variable offset. */
export function pointer(type: RegType, fields?: Partial<RegState>): RegState {
  if (zeroVarOff === undefined) {
    zeroVarOff = scalar.known(u64.ZERO);
    if (FREEZE_SHARED) Object.freeze(zeroVarOff);
  }
  const r = base(type, zeroVarOff);
  // Object.assign onto the literal keeps base()'s object shape (a spread builds another)
  if (fields !== undefined) Object.assign(r, fields);
  return r;
}

export function copyReg(r: RegState): RegState {
  const c = regFields(r);
  const s = r.s;
  c.s = {
    varOff: s.varOff,
    smin: s.smin,
    smax: s.smax,
    umin: s.umin,
    umax: s.umax,
    s32min: s.s32min,
    s32max: s.s32max,
    u32min: s.u32min,
    u32max: s.u32max,
  };
  return c;
}

/**
 * A copy that shares the numeric part. Scalars of registers are never changed in place (every
 * check that changes one gives the register a new scalar or works on a copyReg()), so registers
 * and state copies can share them; changing `r.s` in place without copyReg() breaks that.
 */
export function copyRegSharingScalar(r: RegState): RegState {
  if (FREEZE_SHARED) Object.freeze(r.s);
  return regFields(r);
}

/** Marks r as held by several state copies (see RegState.shared); frozen under TSBPF_VERIFIER_FREEZE. */
export function markShared(r: RegState): void {
  if (r.shared) return;
  r.shared = true;
  if (FREEZE_SHARED) Object.freeze(Object.freeze(r).s);
}

/** r with another numeric part; r's own scalar is left alone. */
export function withScalar(r: RegState, s: Scalar): RegState {
  const c = regFields(r);
  c.s = s;
  return c;
}

/** r marked NOT_INIT, its other fields kept (a stack slot's spill overwritten by other data). */
export function notInitFrom(r: RegState): RegState {
  const c = regFields(r);
  c.type = 'NOT_INIT';
  return c;
}

// Every field, written out: an object literal of one shape is much faster than `{ ...r }`.
function regFields(r: RegState): RegState {
  return {
    type: r.type,
    maybeNull: r.maybeNull,
    rdonly: r.rdonly,
    ringbuf: r.ringbuf,
    off: r.off,
    s: r.s,
    id: r.id,
    refObjId: r.refObjId,
    range: r.range,
    mapIndex: r.mapIndex,
    memSize: r.memSize,
    frameno: r.frameno,
    subprogno: r.subprogno,
    precise: r.precise,
    btfId: r.btfId,
    trusted: r.trusted,
    rcu: r.rcu,
    untrusted: r.untrusted,
    alloc: r.alloc,
    dynptr: r.dynptr,
    dynptrId: r.dynptrId,
    shared: false,
  };
}

/**
 * TSBPF_VERIFIER_FREEZE=1 freezes every shared scalar (and shared stack byte types, see
 * copySlot()), so a change in place throws instead of silently changing another path's state
 * (test/verifier/shared-scalars.test.ts runs with it).
 */
export const FREEZE_SHARED = typeof process !== 'undefined' && process.env?.TSBPF_VERIFIER_FREEZE === '1';

export const isScalar = (r: RegState): boolean => r.type === 'SCALAR_VALUE';
export const isPointer = (r: RegState): boolean => r.type !== 'SCALAR_VALUE' && r.type !== 'NOT_INIT';
export const isPktPointer = (r: RegState): boolean =>
  r.type === 'PTR_TO_PACKET' || r.type === 'PTR_TO_PACKET_META';
export const isConst = (r: RegState): boolean => tnum.isConst(r.s.varOff);
/** The constant as a JS number when it is a known, safe value (for offsets and sizes). */
export function constNumber(r: RegState): number | undefined {
  if (!tnum.isConst(r.s.varOff)) return undefined;
  return u64.toNumberS(tnum.value(r.s.varOff));
}

/** kernel: register_is_null() */
export const isKnownZero = (r: RegState): boolean =>
  r.type === 'SCALAR_VALUE' && tnum.equalsConst(r.s.varOff, u64.ZERO);

// kernel: reg_type_str() base names
const TYPE_STR: Record<RegType, string> = {
  NOT_INIT: '?',
  SCALAR_VALUE: 'scalar',
  PTR_TO_CTX: 'ctx',
  CONST_PTR_TO_MAP: 'map_ptr',
  PTR_TO_MAP_VALUE: 'map_value',
  PTR_TO_MAP_KEY: 'map_key',
  PTR_TO_STACK: 'fp',
  PTR_TO_PACKET_META: 'pkt_meta',
  PTR_TO_PACKET: 'pkt',
  PTR_TO_PACKET_END: 'pkt_end',
  PTR_TO_MEM: 'mem',
  PTR_TO_FUNC: 'func',
  PTR_TO_BTF_ID: 'ptr_',
  PTR_TO_BUF: 'buf',
  CONST_PTR_TO_DYNPTR: 'dynptr_ptr',
};

/** The type as the log names it: `rdonly_`/`ringbuf_` prefixes, `_or_null` suffix (kernel: reg_type_str()). */
export function regTypeStr(
  r: Pick<RegState, 'type' | 'maybeNull' | 'rdonly' | 'ringbuf'> & {
    trusted?: boolean;
    rcu?: boolean;
    untrusted?: boolean;
  },
): string {
  let prefix = '';
  if (r.rdonly) prefix += 'rdonly_';
  if (r.ringbuf) prefix += 'ringbuf_';
  if (r.rcu) prefix += 'rcu_';
  if (r.untrusted) prefix += 'untrusted_';
  if (r.trusted) prefix += 'trusted_';
  // kernel: a nullable BTF pointer is `ptr_or_null_`, every other type ends in `_or_null`
  if (r.type === 'PTR_TO_BTF_ID') return `${prefix}ptr_${r.maybeNull ? 'or_null_' : ''}`;
  return prefix + TYPE_STR[r.type] + (r.maybeNull ? '_or_null' : '');
}
