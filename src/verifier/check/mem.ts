// Loads and stores (kernel: check_mem_access() and the per-region checks it calls:
// check_stack_{read,write}_{fixed,var}_off(), check_ctx_access(), check_packet_access(),
// check_mem_region_access() for map values, map keys and ringbuf memory).
import type { U64 } from '../domain/index.ts';
import { coerce as coerceNs, scalar as scalarNs, tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import {
  copyReg,
  copyRegSharingScalar,
  isKnownZero,
  isPktPointer,
  knownScalar,
  markShared,
  notInitFrom,
  pointer,
  FREEZE_SHARED,
  regTypeStr,
  unknownScalar,
} from '../reg.ts';
import type { FuncState, VerifierState } from '../state.ts';
import { curFrame, ownReg, ownSlot, ownSpilled } from '../state.ts';
import type { SlotType } from '../stack.ts';
import * as stackNs from '../stack.ts';
import { markRegPrecise, noteStackAccess } from '../precision.ts';
import { checkBufferAccess, checkPtrToBtfAccess } from './btf-ptr.ts';
import { immOperand } from './imm.ts';
import { checkPtrToMapAccess } from './map-ptr.ts';
import { checkMapKptrAccess, checkMapKptrFields } from './kptr.ts';
import { destroyIfDynptrStackSlot, dynptrByteIn } from './dynptr.ts';
import { isValidCtxAccess, mayWritePacket } from './ctx.ts';
import { hasBtfCtx, tracingCtxAccess } from './tracing-ctx.ts';
import { allowPtrLeaks, allowUninitStack, bypassSpecV1, isPointerValue } from '../privs.ts';
const {
  BPF_REG_SIZE,
  emptySlot,
  isSpilledReg,
  MAX_BPF_STACK,
  STACK_INVALID,
  STACK_MISC,
  STACK_SPILL,
  STACK_ZERO,
  writableTypes,
} = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const coerce = { ...coerceNs };
const scalar = { ...scalarNs };
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

export type AccessType = 'read' | 'write';

/** kernel: BPF_MAX_VAR_OFF */
const BPF_MAX_VAR_OFF = 1 << 29;
/** kernel: BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG */
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;

export interface MemAccess {
  regno: number;
  off: number;
  size: number;
  t: AccessType;
  /** Register loaded into (read) or stored from (write); -1 for none. */
  valueRegno: number;
  isLdsx?: boolean;
  /** BPF_ST: the immediate stored. */
  stImm?: number;
  /** Atomics check alignment on every pointer type (kernel: strict_alignment_once). */
  strictAlignment?: boolean;
}

const ALIGN_DESC: Partial<Record<RegState['type'], string>> = {
  PTR_TO_STACK: 'stack ',
  PTR_TO_MAP_VALUE: 'value ',
  PTR_TO_MAP_KEY: 'key ',
  PTR_TO_CTX: 'context ',
};

/**
 * kernel: check_ptr_alignment(). Without BPF_F_STRICT_ALIGNMENT (and on x86, where unaligned
 * loads are cheap) only the stack is checked, since spill tracking relies on aligned slots;
 * atomics check every pointer.
 */
export function checkPtrAlignment(reg: RegState, off: number, size: number, strictOnce: boolean): void {
  if (reg.type === 'SCALAR_VALUE' || reg.type === 'NOT_INIT') return;
  if (reg.type === 'PTR_TO_PACKET' || reg.type === 'PTR_TO_PACKET_META') {
    if (!strictOnce || size === 1) return;
    const pktOff = tnum.add(reg.s.varOff, tnum.constant(u64.fromS32(reg.off + off)));
    if (!tnum.isAligned(pktOff, u64.fromU32(size))) {
      reject(`misaligned packet access off 0+${tnum.strn(reg.s.varOff)}+${reg.off}+${off} size ${size}`);
    }
    return;
  }
  if (reg.type !== 'PTR_TO_STACK' && !strictOnce) return;
  const regOff = tnum.add(reg.s.varOff, tnum.constant(u64.fromS32(reg.off + off)));
  if (!tnum.isAligned(regOff, u64.fromU32(size))) {
    const varOff = tnum.isConst(reg.s.varOff)
      ? u64.toDecS(tnum.value(reg.s.varOff))
      : tnum.strn(reg.s.varOff);
    reject(`misaligned ${ALIGN_DESC[reg.type] ?? ''}access off ${varOff}+${reg.off}+${off} size ${size}`);
  }
}

// kernel: __check_mem_access()
function checkMemBounds(
  regno: number,
  reg: RegState,
  off: number,
  size: number,
  memSize: number,
): string | null {
  if (off >= 0 && size > 0 && off + size <= memSize) return null;
  switch (reg.type) {
    case 'PTR_TO_MAP_KEY':
      return `invalid access to map key, key_size=${memSize} off=${off} size=${size}`;
    case 'PTR_TO_MAP_VALUE':
      return `invalid access to map value, value_size=${memSize} off=${off} size=${size}`;
    case 'PTR_TO_PACKET':
    case 'PTR_TO_PACKET_META':
    case 'PTR_TO_PACKET_END':
      return `invalid access to packet, off=${off} size=${size}, R${regno}(id=${reg.id},off=${off},r=${memSize})`;
    default:
      return `invalid access to memory, mem_size=${memSize} off=${off} size=${size}`;
  }
}

const MIN_NEG = (regno: number): string =>
  `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`;

// kernel: check_mem_region_access()
export function checkMemRegionAccess(
  regno: number,
  reg: RegState,
  off: number,
  size: number,
  memSize: number,
): void {
  const s = reg.s;
  if (u64.isNeg(s.smin)) {
    const smin = u64.toNumberS(s.smin);
    if (smin === undefined || !Number.isSafeInteger(smin) || off + smin < -0x80000000 || off + smin < 0) {
      reject(MIN_NEG(regno));
    }
  }
  const sminN = u64.toNumberS(s.smin) ?? 0;
  let err = checkMemBounds(regno, reg, sminN + off, size, memSize);
  if (err) reject(err, `R${regno} min value is outside of the allowed memory range`);
  if (u64.uge(s.umax, u64.fromNumber(BPF_MAX_VAR_OFF))) {
    reject(`R${regno} unbounded memory access, make sure to bounds check any such access`);
  }
  err = checkMemBounds(regno, reg, (u64.toNumberU(s.umax) ?? 0) + off, size, memSize);
  if (err) reject(err, `R${regno} max value is outside of the allowed memory range`);
}

// kernel: check_packet_access()
export function checkPacketAccess(regno: number, reg: RegState, off: number, size: number): void {
  if (u64.isNeg(reg.s.smin)) reject(MIN_NEG(regno));
  const err = checkMemBounds(regno, reg, off, size, reg.range);
  if (err) reject(err, `R${regno} offset is outside of the packet`);
}

/** Makes room for `size` bytes below the frame pointer (kernel: grow_stack_state()). */
export function growStackState(env: VerifierEnv, frame: FuncState, size: number): void {
  const n = Math.ceil(size / BPF_REG_SIZE);
  while (frame.stack.length < n) frame.stack.push(emptySlot());
  const sp = env.subprogs[frame.subprogno]!;
  if (sp.stackDepth < size) sp.stackDepth = size;
}

// kernel: check_stack_access_within_bounds()
export function checkStackAccessWithinBounds(
  env: VerifierEnv,
  frame: FuncState,
  regno: number,
  reg: RegState,
  off: number,
  size: number,
  what: string,
  /** A direct read without CAP_PERFMON: only the stack already allocated (kernel: check_stack_slot_within_bounds()). */
  allocatedOnly = false,
): [number, number] {
  let minOff: number;
  let maxOff: number;
  const varOff = reg.s.varOff;
  if (tnum.isConst(varOff)) {
    // a small constant as a number, from its halves (toNumberS() would make a U64 first)
    const v =
      varOff.vHi === 0 ? varOff.vLo : varOff.vHi === 0xffffffff ? varOff.vLo - 0x100000000 : undefined;
    minOff = (v ?? u64.toNumberS(tnum.value(varOff)) ?? 0) + off;
    maxOff = minOff + size;
  } else {
    const smax = u64.toNumberS(reg.s.smax);
    const smin = u64.toNumberS(reg.s.smin);
    if (smax === undefined || smin === undefined || smax >= BPF_MAX_VAR_OFF || smin <= -BPF_MAX_VAR_OFF) {
      reject(`invalid unbounded variable-offset ${what} stack R${regno}`);
    }
    minOff = smin + off;
    maxOff = smax + off + size;
  }
  const lowest = allocatedOnly ? -frame.stack.length * BPF_REG_SIZE : -MAX_BPF_STACK;
  if (minOff < lowest || minOff > -1 || maxOff > 0 || size < 0) {
    if (tnum.isConst(reg.s.varOff)) reject(`invalid ${what} stack R${regno} off=${off} size=${size}`);
    reject(
      `invalid variable-offset ${what} stack R${regno} var_off=${tnum.strn(reg.s.varOff)} off=${off} size=${size}`,
    );
  }
  growStackState(env, frame, -minOff);
  return [minOff, maxOff];
}

// the slot and the byte in it of stack offset off (< 0); two numbers, not a pair: called per byte
const spiOf = (off: number): number => ((-off - 1) / BPF_REG_SIZE) | 0;
const byteOf = (off: number): number => (-off - 1) % BPF_REG_SIZE;

/** The byte types of a slot a full 8-byte spill fills: shared by every such slot (copy-on-write). */
const ALL_SPILL: SlotType[] = [
  STACK_SPILL,
  STACK_SPILL,
  STACK_SPILL,
  STACK_SPILL,
  STACK_SPILL,
  STACK_SPILL,
  STACK_SPILL,
  STACK_SPILL,
];
if (FREEZE_SHARED) Object.freeze(ALL_SPILL);

// kernel: save_register_state()
function saveRegisterState(frame: FuncState, spi: number, reg: RegState, size: number): void {
  const st = ownSlot(frame, spi);
  // the register and the slot share one object until either is written (copy-on-write)
  markShared(reg);
  st.spilled = reg;
  if (size === BPF_REG_SIZE) {
    st.slotType = ALL_SPILL;
    st.sharedTypes = true;
    return;
  }
  const types = writableTypes(st);
  let i = BPF_REG_SIZE;
  for (; i > BPF_REG_SIZE - size; i--) types[i - 1] = STACK_SPILL;
  // bytes above a narrow spill keep zeros and uninitialised bytes, else become misc
  for (; i; i--) {
    const t = types[i - 1]!;
    if (t !== STACK_ZERO && t !== STACK_INVALID) types[i - 1] = STACK_MISC;
  }
}

/** Bits the value may use (kernel: get_reg_width()). */
const regWidth = (r: RegState): number => u64.fls(r.s.umax);

// kernel: check_stack_write_fixed_off()
function checkStackWriteFixedOff(
  env: VerifierEnv,
  cur: FuncState,
  frame: FuncState,
  off: number,
  size: number,
  valueRegno: number,
  stImm: number | undefined,
): void {
  const spi = spiOf(off);
  const slot = -off - 1;
  let reg = valueRegno >= 0 ? cur.regs[valueRegno]! : undefined;
  env.log.scratchStack(spi);
  if (!allowPtrLeaks(env)) {
    const st = frame.stack[spi]!;
    if (isSpilledReg(st) && st.spilled.type !== 'SCALAR_VALUE' && size !== BPF_REG_SIZE)
      reject('attempt to corrupt spilled pointer on stack');
    // kernel: !bypass_spec_v4: a store over a pointer or uninitialised bytes gets a barrier after it
    const types = st.slotType;
    let sanitize = reg !== undefined && reg.type !== 'SCALAR_VALUE' && reg.type !== 'NOT_INIT';
    for (let i = 0; i < size && !sanitize; i++) {
      const t = types[(slot - i) % BPF_REG_SIZE];
      if (t !== STACK_MISC && t !== STACK_ZERO) sanitize = true;
    }
    if (sanitize) env.aux[env.insnIdx]!.nospecResult = true;
  }
  if (reg && off % BPF_REG_SIZE === 0 && reg.type === 'SCALAR_VALUE') {
    const fits = regWidth(reg) <= 8 * size;
    if (fits && !reg.id && !tnum.isConst(reg.s.varOff)) {
      reg = ownReg(cur, valueRegno);
      reg.id = ++env.idGen;
    }
    if (fits) saveRegisterState(frame, spi, reg, size);
    else {
      // a value wider than the slot is not linked to the register it came from
      const r = copyRegSharingScalar(reg);
      r.id = 0;
      r.off = 0;
      saveRegisterState(frame, spi, r, size);
    }
    noteStackAccess(env, frame.frameno, spi);
  } else if (!reg && off % BPF_REG_SIZE === 0 && stImm !== undefined) {
    saveRegisterState(frame, spi, immOperand(stImm), size);
    noteStackAccess(env, frame.frameno, spi);
  } else if (reg && reg.type !== 'SCALAR_VALUE') {
    if (size !== BPF_REG_SIZE) reject('invalid size of register spill');
    if (frame !== cur && reg.type === 'PTR_TO_STACK') {
      reject('cannot spill pointers to stack into stack frame of the caller');
    }
    saveRegisterState(frame, spi, reg, size);
    noteStackAccess(env, frame.frameno, spi);
  } else {
    let type: SlotType = STACK_MISC;
    const st = ownSlot(frame, spi);
    st.spilled = notInitFrom(st.spilled);
    const types = writableTypes(st);
    if (types[BPF_REG_SIZE - 1] === STACK_SPILL) {
      for (let i = 0; i < BPF_REG_SIZE; i++) if (types[i] !== STACK_INVALID) types[i] = STACK_MISC;
    }
    if ((reg && isKnownZero(reg)) || (!reg && stImm === 0)) {
      // STACK_ZERO bytes hold the value without a spilled register to backtrack through: the
      // register's zero must be precise for later states to rely on them
      if (reg) markRegPrecise(env, valueRegno);
      type = STACK_ZERO;
    }
    for (let i = 0; i < size; i++) types[(slot - i) % BPF_REG_SIZE] = type;
  }
}

// kernel: check_stack_write_var_off()
function checkStackWriteVarOff(
  env: VerifierEnv,
  cur: FuncState,
  frame: FuncState,
  minOff: number,
  maxOff: number,
  valueRegno: number,
  stImm: number | undefined,
): void {
  const reg = valueRegno >= 0 ? cur.regs[valueRegno] : undefined;
  const writingZero = (reg !== undefined && isKnownZero(reg)) || (reg === undefined && stImm === 0);
  let zeroUsed = false;
  for (let i = minOff; i < maxOff; i++) {
    const spi = spiOf(i);
    const j = byteOf(i);
    const st = ownSlot(frame, spi);
    env.log.scratchStack(spi);
    if (!allowPtrLeaks(env) && st.slotType[j] !== STACK_MISC && st.slotType[j] !== STACK_ZERO)
      reject(`spilled ptr in range of var-offset stack write; insn ${env.insnIdx}, ptr off: ${i}`);
    const types = writableTypes(st);
    // a write somewhere in the range may hit a spilled register: forget it
    if (types[BPF_REG_SIZE - 1] === STACK_SPILL) {
      st.spilled = notInitFrom(st.spilled);
      for (let k = 0; k < BPF_REG_SIZE; k++) if (types[k] === STACK_SPILL) types[k] = STACK_MISC;
    }
    const t = types[j]!;
    // a byte stays zero only if it was zero and the value written is zero
    if (writingZero && t === STACK_ZERO) zeroUsed = true;
    else types[j] = STACK_MISC;
  }
  // kernel: zero_used: backtracking does not see through STACK_ZERO, so the zero is precise
  if (zeroUsed && reg) markRegPrecise(env, valueRegno);
}

/**
 * Without CAP_PERFMON every byte read must have been written (kernel: the STACK_INVALID cases of
 * check_stack_read_fixed_off()); bytes of a spilled register are checked as the fill.
 */
function checkStackBytesRead(frame: FuncState, off: number, size: number): void {
  const spi = spiOf(off);
  const slot = -off - 1;
  const stype = frame.stack[spi]!.slotType;
  const spill = stype[BPF_REG_SIZE - 1] === STACK_SPILL;
  for (let i = 0; i < size; i++) {
    const t = stype[(slot - i) % BPF_REG_SIZE];
    if (t === STACK_MISC || t === STACK_ZERO || (spill && t === STACK_SPILL)) continue;
    if (spill && t !== STACK_INVALID) continue;
    reject(`invalid read from stack off ${off}+${i} size ${size}`);
  }
}

/**
 * kernel: check_stack_range_initialized() without CAP_PERFMON: bytes a helper or a
 * variable-offset load reads must be written, and spilled pointers may not be read as data.
 */
export function checkStackRangeInitialized(
  frame: FuncState,
  regno: number,
  reg: RegState,
  minOff: number,
  maxOff: number,
  size: number,
): void {
  for (let i = minOff; i < maxOff; i++) {
    const spi = spiOf(i);
    const j = byteOf(i);
    const st = frame.stack[spi];
    const t = st?.slotType[j];
    if (t === STACK_MISC || t === STACK_ZERO) continue;
    if (st && isSpilledReg(st) && st.spilled.type === 'SCALAR_VALUE') continue;
    reject(
      tnum.isConst(reg.s.varOff)
        ? `invalid read from stack R${regno} off ${minOff}+${i - minOff} size ${size}`
        : `invalid read from stack R${regno} var_off ${tnum.strn(reg.s.varOff)}+${i - minOff} size ${size}`,
    );
  }
}

/** All bytes in [minOff, maxOff) read as zero: a known 0, else unknown (kernel: mark_reg_stack_read()). */
function markRegStackRead(frame: FuncState, minOff: number, maxOff: number): RegState {
  for (let i = minOff; i < maxOff; i++) {
    if (frame.stack[spiOf(i)]!.slotType[byteOf(i)] !== STACK_ZERO) return UNKNOWN_LOAD;
  }
  return immOperand(0);
}

// kernel: check_stack_read_fixed_off(); returns the loaded register (null when not loading)
function checkStackReadFixedOff(env: VerifierEnv, frame: FuncState, off: number, size: number): RegState {
  if (!allowUninitStack(env)) checkStackBytesRead(frame, off, size);
  const spi = spiOf(off);
  const slot = -off - 1;
  const st = frame.stack[spi]!;
  env.log.scratchStack(spi);
  const stype = st.slotType;
  if (stype[BPF_REG_SIZE - 1] === STACK_SPILL) {
    let spillSize = 1;
    for (let i = BPF_REG_SIZE - 1; i > 0 && stype[i - 1] === STACK_SPILL; i--) spillSize++;
    const reg = st.spilled;
    if (size !== BPF_REG_SIZE || spillSize !== BPF_REG_SIZE) {
      if (reg.type !== 'SCALAR_VALUE') reject('invalid size of register fill');
      if (size <= spillSize && off % BPF_REG_SIZE === 0) {
        let spilled = reg;
        if (size === 4 && spillSize === 4 && regWidth(reg) <= 32 && !reg.id && !tnum.isConst(reg.s.varOff)) {
          spilled = ownSpilled(frame, spi);
          spilled.id = ++env.idGen;
        }
        const r = copyRegSharingScalar(spilled);
        if (!(size === 4 && spillSize === 4)) {
          r.id = 0;
          r.off = 0;
        }
        noteStackAccess(env, frame.frameno, spi);
        return r;
      }
      let spillCnt = 0;
      let zeroCnt = 0;
      for (let i = 0; i < size; i++) {
        const t = stype[(slot - i) % BPF_REG_SIZE];
        if (t === STACK_SPILL) spillCnt++;
        else if (t === STACK_ZERO) zeroCnt++;
      }
      if (spillCnt === size && tnum.equalsConst(reg.s.varOff, u64.ZERO)) {
        noteStackAccess(env, frame.frameno, spi);
        return immOperand(0);
      }
      if (zeroCnt === size) return immOperand(0);
      return UNKNOWN_LOAD;
    }
    noteStackAccess(env, frame.frameno, spi);
    // the slot and the register share one object until either is written (copy-on-write)
    markShared(reg);
    return reg;
  }
  return markRegStackRead(frame, off, off + size);
}

/** kernel: the "leaks addr" checks of check_mem_access(): no pointer stored where the loader reads */
function checkNoLeak(env: VerifierEnv, cur: FuncState, valueRegno: number, where: string): void {
  if (valueRegno >= 0 && isPointerValue(env, cur.regs[valueRegno]!))
    reject(`R${valueRegno} leaks addr into ${where}`);
}

// kernel: check_ptr_off_reg() for ctx
function checkCtxReg(regno: number, reg: RegState): void {
  if (reg.off) reject(`dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
  if (!tnum.isConst(reg.s.varOff) || !u64.isZero(tnum.value(reg.s.varOff))) {
    reject(`variable ctx access var_off=${tnum.strn(reg.s.varOff)} disallowed`);
  }
}

/** Reads a little-endian value from frozen map data (kernel: bpf_map_direct_read()). */
function directRead(data: Uint8Array, off: number, size: number, ldsx: boolean): U64 {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < size; i++) {
    const b = data[off + i] ?? 0;
    if (i < 4) lo |= b << (8 * i);
    else hi |= b << (8 * (i - 4));
  }
  let v = u64.make(lo >>> 0, hi >>> 0);
  if (ldsx && size < 8) v = u64.sar(u64.shl(v, 64 - size * 8), 64 - size * 8);
  return v;
}

/**
 * The value of a load the verifier knows nothing about: one register shared by every such load
 * (marked shared, so a state that holds it copies it before a write: ownReg()).
 */
const UNKNOWN_LOAD: RegState = unknownScalar();
UNKNOWN_LOAD.shared = true;
if (FREEZE_SHARED) Object.freeze(Object.freeze(UNKNOWN_LOAD).s);
/** An unknown value narrowed to 1, 2 or 4 bytes (sign-extended for ldsx), per size and kind. */
const unknownLoads: (RegState | undefined)[] = [];

function unknownLoad(size: number, ldsx: boolean): RegState {
  const key = size * 2 + (ldsx ? 1 : 0);
  const hit = unknownLoads[key];
  if (hit !== undefined) return hit;
  // as the narrowing at the end of checkMemAccess() would make it from an unknown scalar
  const r = unknownScalar();
  if (ldsx) coerce.coerceRegToSizeSx(r.s, size);
  else coerce.coerceRegToSize(r.s, size);
  if (!tnum.isConst(r.s.varOff) || !ldsx) scalar.regBoundsSync(r.s);
  markShared(r);
  unknownLoads[key] = r;
  return r;
}

/**
 * One load or store through register `regno` (kernel: check_mem_access()). Returns the value
 * loaded into a register for reads with valueRegno >= 0 (already narrowed to the access size).
 */
export function checkMemAccess(env: VerifierEnv, state: VerifierState, a: MemAccess): RegState | null {
  const cur = curFrame(state);
  const reg = cur.regs[a.regno]!;
  const { size, t } = a;
  checkPtrAlignment(reg, a.off, size, a.strictAlignment === true);
  const off = a.off + reg.off;
  let value: RegState | null = null;
  const valueWanted = t === 'read' && a.valueRegno >= 0;
  if (reg.type === 'PTR_TO_MAP_KEY' && !reg.maybeNull) {
    if (t === 'write') reject(`write to change key R${a.regno} not allowed`);
    const m = env.maps[reg.mapIndex]!;
    checkMemRegionAccess(a.regno, reg, off, size, m.keySize);
    if (valueWanted) value = UNKNOWN_LOAD;
  } else if (reg.type === 'PTR_TO_MAP_VALUE' && !reg.maybeNull) {
    if (t === 'write') checkNoLeak(env, cur, a.valueRegno, 'map');
    const m = env.maps[reg.mapIndex]!;
    const flags = m.flags ?? 0;
    if (t === 'write' && flags & BPF_F_RDONLY_PROG) {
      reject(`write into map forbidden, value_size=${m.valueSize} off=${off} size=${size}`);
    }
    if (t === 'read' && flags & BPF_F_WRONLY_PROG) {
      reject(`read from map forbidden, value_size=${m.valueSize} off=${off} size=${size}`);
    }
    checkMemRegionAccess(a.regno, reg, off, size, m.valueSize);
    const kptr = m.kptrs ? checkMapKptrFields(m, a.regno, reg, off, size, true) : undefined;
    if (kptr) return checkMapKptrAccess(env, state, kptr, a.valueRegno, a.stImm);
    if (valueWanted) {
      if (tnum.isConst(reg.s.varOff) && m.frozenData && flags & BPF_F_RDONLY_PROG) {
        const mapOff = off + (u64.toNumberU(tnum.value(reg.s.varOff)) ?? 0);
        value = knownScalar(directRead(m.frozenData, mapOff, size, a.isLdsx === true));
        return value;
      }
      value = UNKNOWN_LOAD;
    }
  } else if (reg.type === 'PTR_TO_MEM') {
    if (reg.maybeNull) reject(`R${a.regno} invalid mem access '${regTypeStr(reg)}'`);
    if (t === 'write' && reg.rdonly) reject(`R${a.regno} cannot write into ${regTypeStr(reg)}`);
    if (t === 'write') checkNoLeak(env, cur, a.valueRegno, 'mem');
    checkMemRegionAccess(a.regno, reg, off, size, reg.memSize);
    if (a.valueRegno >= 0 && (t === 'read' || reg.rdonly)) value = UNKNOWN_LOAD;
  } else if (reg.type === 'PTR_TO_CTX') {
    if (t === 'write') checkNoLeak(env, cur, a.valueRegno, 'ctx');
    checkCtxReg(a.regno, reg);
    if (hasBtfCtx(env)) {
      // a narrow read of a scalar argument is zero-extended below, as any ctx load
      const r = tracingCtxAccess(env, off, size, t);
      if (valueWanted) value = r;
    } else {
      const info = isValidCtxAccess(env.progType, off, size, t);
      if (!info) reject(`invalid bpf_context access off=${off} size=${size}`);
      // kernel: check_ctx_access()
      if (env.maxCtxOffset < off + size) env.maxCtxOffset = off + size;
      if (valueWanted) {
        if (info.regType === 'SCALAR_VALUE') value = UNKNOWN_LOAD;
        else return pointer(info.regType);
      }
    }
  } else if (reg.type === 'PTR_TO_STACK') {
    const frame = state.frames[reg.frameno]!;
    const what = t === 'read' ? 'read from' : 'write to';
    const strict = t === 'read' && !allowUninitStack(env);
    const [minOff, maxOff] = checkStackAccessWithinBounds(env, frame, a.regno, reg, off, size, what, strict);
    const fixed = tnum.isConst(reg.s.varOff);
    if (t === 'read' && !fixed && !bypassSpecV1(env)) {
      // kernel: check_stack_range_initialized() for a variable-offset load
      reject(
        `R${a.regno} variable offset stack access prohibited for !root, var_off=${tnum.strn(reg.s.varOff)}`,
      );
    }
    if (t === 'read') {
      // dynptr bytes are never read as data (kernel: check_stack_read_fixed_off(),
      // check_stack_range_initialized())
      const d = dynptrByteIn(frame, minOff, maxOff);
      if (d !== undefined) {
        reject(
          fixed
            ? `invalid read from stack off ${minOff}+${d - minOff} size ${size}`
            : `invalid read from stack R${a.regno} var_off ${tnum.strn(reg.s.varOff)}+${d - minOff} size ${size}`,
        );
      }
      const r = fixed
        ? checkStackReadFixedOff(env, frame, minOff, size)
        : markRegStackRead(frame, minOff, maxOff);
      if (valueWanted) value = r;
    } else if (fixed) {
      destroyIfDynptrStackSlot(env, state, frame, Math.floor((-minOff - 1) / BPF_REG_SIZE));
      checkStackWriteFixedOff(env, cur, frame, minOff, size, a.valueRegno, a.stImm);
    } else {
      for (let i = minOff; i < maxOff; i++) {
        destroyIfDynptrStackSlot(env, state, frame, Math.floor((-i - 1) / BPF_REG_SIZE));
      }
      checkStackWriteVarOff(env, cur, frame, minOff, maxOff, a.valueRegno, a.stImm);
    }
  } else if (reg.type === 'PTR_TO_BTF_ID' && !reg.maybeNull) {
    const r = checkPtrToBtfAccess(env, a.regno, reg, off, size, t);
    if (valueWanted) value = r;
  } else if (reg.type === 'CONST_PTR_TO_MAP' && env.maps[reg.mapIndex]) {
    const r = checkPtrToMapAccess(env, a.regno, env.maps[reg.mapIndex]!, off, size, t);
    if (valueWanted) value = r;
  } else if (reg.type === 'PTR_TO_BUF' && !reg.maybeNull) {
    if (t === 'write' && reg.rdonly) reject(`R${a.regno} cannot write into ${regTypeStr(reg)}`);
    checkBufferAccess(a.regno, reg, off, size);
    if (valueWanted) value = UNKNOWN_LOAD;
  } else if (isPktPointer(reg)) {
    if (t === 'write' && !mayWritePacket(env.progType)) reject('cannot write into packet');
    if (t === 'write') checkNoLeak(env, cur, a.valueRegno, 'packet');
    checkPacketAccess(a.regno, reg, off, size);
    if (valueWanted) value = UNKNOWN_LOAD;
  } else {
    reject(`R${a.regno} invalid mem access '${regTypeStr(reg)}'`);
  }
  if (value === UNKNOWN_LOAD && size < BPF_REG_SIZE) return unknownLoad(size, a.isLdsx === true);
  if (value && size < BPF_REG_SIZE && value.type === 'SCALAR_VALUE') {
    value = copyReg(value);
    if (a.isLdsx) coerce.coerceRegToSizeSx(value.s, size);
    else coerce.coerceRegToSize(value.s, size);
    if (!tnum.isConst(value.s.varOff) || !a.isLdsx) scalar.regBoundsSync(value.s);
  }
  return value;
}
