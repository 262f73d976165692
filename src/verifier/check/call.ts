// Calls: helpers checked against their prototypes (kernel: check_helper_call(), check_func_arg(),
// check_reg_type(), check_helper_mem_access(), check_mem_size_reg()) and bpf-to-bpf calls
// (kernel: check_func_call(), setup_func_entry(), prepare_func_exit()).
import { MAP_TYPES } from '../../elf/index.ts';
import type { Insn } from '../../isa/index.ts';
import { HELPER_NAMES } from '../../isa/index.ts';
import type { ArgSpec, FuncProto } from '../../vm/helpers.ts';
import { tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';
import type { MapInfo, VerifierEnv } from '../env.ts';
import { nextId, reject, VerifierReject } from '../env.ts';
import { frameStateStr } from '../log.ts';
import { markChainPrecision, markRegPrecise } from '../precision.ts';
import { getHelperProto, helperChangesPktData, isAcquireHelper, isReleaseHelper } from '../protos.ts';
import type { HelperProto } from '../protos.ts';
import type { RegState } from '../reg.ts';
import { copyReg, isKnownZero, isPktPointer, pointer, regTypeStr, unknownScalar } from '../reg.ts';
import { allowUninitStack, bypassSpecV1, invalidReg, isPointerValue } from '../privs.ts';
import { checkStackRangeInitialized } from './mem.ts';
import * as stackNs from '../stack.ts';
import type { FuncState, VerifierState } from '../state.ts';
import { copyState, curFrame, MAX_CALL_FRAMES, newFrame, newState, ownSlot } from '../state.ts';
import { mayWritePacket } from './ctx.ts';
import { forEachReg } from './jmp.ts';
import {
  checkMemAccess,
  checkMemRegionAccess,
  checkPacketAccess,
  checkPtrAlignment,
  checkStackAccessWithinBounds,
} from './mem.ts';
import { btfPointer, btfStructIdsMatch, btfTypeName, checkBufferAccess } from './btf-ptr.ts';
import type { KptrField } from './kptr.ts';
import { checkMapKptrFields, kptrXchgResult, mapKptrMatchType, processKptrFunc } from './kptr.ts';
import { checkRegArg, markRegNotInit } from './regs.ts';
import type { DynptrArgMeta } from './dynptr.ts';
import {
  checkDynptrRelease,
  dynptrByteIn,
  dynptrSlice,
  isPktDynptrType,
  processDynptrFunc,
  unmarkStackSlotsDynptr,
} from './dynptr.ts';
import { BPF_FUNC_spin_lock, checkNoRcuLock, heldLocks, processSpinLock } from './spin-lock.ts';
import type { GlobalFunc } from './global-func.ts';
import { checkGlobalCall } from './global-func.ts';
import { bprintfFormatValid } from '../../vm/bprintf.ts';
const {
  BPF_DYNPTR_TYPE_LOCAL,
  BPF_DYNPTR_TYPE_SKB,
  BPF_REG_SIZE,
  STACK_INVALID,
  STACK_MISC,
  STACK_SPILL,
  STACK_ZERO,
  writableTypes,
} = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

/** kernel: BPF_MAX_VAR_SIZ */
const BPF_MAX_VAR_SIZ = 1 << 29;
/** kernel: U16_MAX, the largest syscall program ctx (syscall_prog_is_valid_access()) */
const SYSCALL_CTX_MAX = 0xffff;

const funcIdName = (id: number): string =>
  id >= 0 && id < HELPER_NAMES.length ? HELPER_NAMES[id]! : 'unknown';
const hasFlag = (a: ArgSpec, f: string): boolean => a.flags?.includes(f as never) === true;

// kernel: struct bpf_call_arg_meta (the parts tsbpf uses)
interface CallArgMeta {
  mapIndex: number;
  refObjId: number;
  releaseRegno: number;
  memSize: number;
  subprogno: number;
  /** Stack bytes a helper writes: [frame, minOff, maxOff) to mark as misc afterwards. */
  writes: { frame: FuncState; minOff: number; maxOff: number }[];
  /** kernel: const_map_key; -1 when the key is not a known constant */
  constMapKey: number;
  funcId: number;
  insnIdx: number;
  /** The dynptr argument (bpf_dynptr_data ties its result to it). */
  dynptr?: DynptrArgMeta;
  /** A dynptr argument with OBJ_RELEASE: the register pointing to it. */
  dynptrReleaseRegno: number;
  /** bpf_dynptr_clone: the uninitialised argument copies the dynptr before it (kernel: KF_bpf_dynptr_clone). */
  clone?: boolean;
  /** bpf_kptr_xchg: the kptr its map value argument points to (kernel: kptr_field). */
  kptrField?: KptrField;
}

// kernel: get_constant_map_key(): a 4-byte key spilled as a constant or zeroed on the stack
function getConstantMapKey(env: VerifierEnv, state: VerifierState, key: RegState, keySize: number): number {
  if (key.type !== 'PTR_TO_STACK' || !tnum.isConst(key.s.varOff)) return -1;
  const stackOff = key.off + (u64.toNumberS(tnum.value(key.s.varOff)) ?? 0);
  const slot = -stackOff - 1;
  const st = state.frames[key.frameno]!.stack[Math.floor(slot / BPF_REG_SIZE)];
  if (!st) return -1;
  const off = slot % BPF_REG_SIZE;
  let zero = 0;
  for (let i = off; i >= 0 && st.slotType[i] === STACK_ZERO; i--) zero++;
  if (zero >= keySize) return 0;
  if (st.slotType[BPF_REG_SIZE - 1] !== STACK_SPILL || st.spilled.type !== 'SCALAR_VALUE') return -1;
  let spill = 0;
  for (let i = off; i >= 0 && st.slotType[i] === STACK_SPILL; i--) spill++;
  if (spill !== keySize || !tnum.isConst(st.spilled.s.varOff)) return -1;
  // the lookup's result depends on this exact key
  markChainPrecision(env, state, [], [[key.frameno, Math.floor(slot / BPF_REG_SIZE)]]);
  return u64.toNumberS(tnum.value(st.spilled.s.varOff)) ?? -1;
}

function emptyMeta(funcId: number, insnIdx: number): CallArgMeta {
  return {
    mapIndex: -1,
    refObjId: 0,
    releaseRegno: 0,
    memSize: 0,
    subprogno: -1,
    writes: [],
    constMapKey: -1,
    funcId,
    insnIdx,
    dynptrReleaseRegno: 0,
  };
}

/** kernel: clear_all_pkt_pointers(): the packet may have moved, every packet pointer is stale */
function clearAllPktPointers(env: VerifierEnv, state: VerifierState): void {
  forEachReg(state, (r, set) => {
    if (
      r.type === 'PTR_TO_PACKET' ||
      r.type === 'PTR_TO_PACKET_META' ||
      r.type === 'PTR_TO_PACKET_END' ||
      (r.type === 'PTR_TO_MEM' && isPktDynptrType(r.dynptr))
    ) {
      set(invalidReg(env));
    }
  });
}

// kernel: compatible_reg_types; the names the log lists after `expected=`
type Compat = { types: string[]; match: (r: RegState, arg: ArgSpec) => boolean };
const memLike = (r: RegState): boolean =>
  r.type === 'PTR_TO_STACK' ||
  isPktPointer(r) ||
  r.type === 'PTR_TO_MAP_KEY' ||
  r.type === 'PTR_TO_MAP_VALUE' ||
  r.type === 'PTR_TO_MEM' ||
  r.type === 'PTR_TO_BUF';
const notNullUnlessAllowed = (r: RegState, arg: ArgSpec): boolean =>
  !r.maybeNull || hasFlag(arg, 'PTR_MAYBE_NULL');
const rdonlyOk = (r: RegState, arg: ArgSpec): boolean => !r.rdonly || hasFlag(arg, 'MEM_RDONLY');
const COMPAT: Partial<Record<ArgSpec['type'], Compat>> = {
  ARG_CONST_MAP_PTR: { types: ['map_ptr'], match: (r) => r.type === 'CONST_PTR_TO_MAP' },
  ARG_PTR_TO_MAP_KEY: {
    types: ['fp', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'ringbuf_mem', 'buf', 'trusted_ptr_'],
    match: (r, a) => memLike(r) && notNullUnlessAllowed(r, a) && !r.rdonly,
  },
  ARG_PTR_TO_MAP_VALUE: {
    types: ['fp', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'ringbuf_mem', 'buf', 'trusted_ptr_'],
    match: (r, a) => memLike(r) && notNullUnlessAllowed(r, a) && !r.rdonly,
  },
  ARG_PTR_TO_MEM: {
    types: ['fp', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'ringbuf_mem', 'buf', 'trusted_ptr_'],
    match: (r, a) => memLike(r) && notNullUnlessAllowed(r, a) && rdonlyOk(r, a),
  },
  ARG_PTR_TO_CTX: { types: ['ctx'], match: (r, a) => r.type === 'PTR_TO_CTX' && notNullUnlessAllowed(r, a) },
  ARG_PTR_TO_RINGBUF_MEM: {
    types: ['ringbuf_mem'],
    match: (r) => r.type === 'PTR_TO_MEM' && r.ringbuf && !r.maybeNull,
  },
  ARG_PTR_TO_BTF_ID: {
    types: ['ptr_', 'trusted_ptr_', 'rcu_ptr_'],
    match: (r, a) => r.type === 'PTR_TO_BTF_ID' && notNullUnlessAllowed(r, a) && !r.untrusted,
  },
  // kernel: ARG_KPTR_XCHG_DEST (kptr_xchg_dest_types; the second is an allocated object)
  ARG_PTR_TO_KPTR: {
    types: ['map_value', 'ptr_'],
    match: (r) => r.type === 'PTR_TO_MAP_VALUE' && !r.maybeNull,
  },
  ARG_PTR_TO_FUNC: { types: ['func'], match: (r) => r.type === 'PTR_TO_FUNC' },
  ARG_PTR_TO_SPIN_LOCK: {
    types: ['map_value', 'ptr_'],
    match: (r) => r.type === 'PTR_TO_MAP_VALUE' && !r.maybeNull,
  },
  // kernel: ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED (bpf_strtol's result)
  ARG_PTR_TO_LONG: {
    types: ['fp', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'ringbuf_mem', 'buf', 'trusted_ptr_'],
    match: (r) => memLike(r) && !r.maybeNull && !r.rdonly,
  },
  ARG_PTR_TO_CONST_STR: {
    types: ['map_value'],
    match: (r) => r.type === 'PTR_TO_MAP_VALUE' && !r.maybeNull,
  },
  ARG_PTR_TO_TIMER: { types: ['map_value'], match: (r) => r.type === 'PTR_TO_MAP_VALUE' && !r.maybeNull },
  ARG_PTR_TO_STACK: { types: ['fp'], match: (r) => r.type === 'PTR_TO_STACK' },
  // kernel: dynptr_types (CONST_PTR_TO_DYNPTR only reaches kfuncs and callbacks)
  ARG_PTR_TO_DYNPTR: {
    types: ['fp', 'dynptr_ptr'],
    match: (r) => r.type === 'PTR_TO_STACK' || r.type === 'CONST_PTR_TO_DYNPTR',
  },
  ARG_CONST_SIZE: { types: ['scalar'], match: (r) => r.type === 'SCALAR_VALUE' },
  ARG_CONST_SIZE_OR_ZERO: { types: ['scalar'], match: (r) => r.type === 'SCALAR_VALUE' },
  ARG_CONST_ALLOC_SIZE_OR_ZERO: { types: ['scalar'], match: (r) => r.type === 'SCALAR_VALUE' },
};

// kernel: check_reg_type()
function checkRegType(regno: number, reg: RegState, arg: ArgSpec): void {
  const c = COMPAT[arg.type];
  if (!c) reject(`unsupported: helper argument type ${arg.type}`);
  if (c.match(reg, arg)) return;
  reject(`R${regno} type=${regTypeStr(reg)} expected=${c.types.join(', ')}`);
}

// kernel: check_stack_range_initialized() for root (uninitialised stack may be read)
function checkStackRange(
  env: VerifierEnv,
  state: VerifierState,
  regno: number,
  reg: RegState,
  off: number,
  size: number,
  zeroOk: boolean,
  write: boolean,
  meta: CallArgMeta,
): void {
  if (size === 0 && !zeroOk) reject('invalid zero-sized read');
  const frame = state.frames[reg.frameno]!;
  const what = write ? 'write to' : 'read from';
  // a read stays inside the stack written so far unless uninitialised bytes may be read
  const strict = !write && !allowUninitStack(env);
  const [minOff, maxOff] = checkStackAccessWithinBounds(env, frame, regno, reg, off, size, what, strict);
  if (!tnum.isConst(reg.s.varOff) && !bypassSpecV1(env)) {
    reject(`R${regno} variable offset stack access prohibited for !root, var_off=${tnum.strn(reg.s.varOff)}`);
  }
  // a helper never reads a dynptr's bytes as data nor writes over them
  const d = dynptrByteIn(frame, minOff, maxOff);
  if (d !== undefined) {
    if (write) reject(`potential write to dynptr at off=${d} disallowed`);
    reject(`invalid read from stack R${regno} off ${minOff}+${d - minOff} size ${size}`);
  }
  if (write) meta.writes.push({ frame, minOff, maxOff });
  else if (!allowUninitStack(env)) checkStackRangeInitialized(frame, regno, reg, minOff, maxOff, size);
}

// kernel: check_helper_mem_access()
function checkHelperMemAccess(
  env: VerifierEnv,
  state: VerifierState,
  regno: number,
  size: number,
  write: boolean,
  zeroOk: boolean,
  meta: CallArgMeta,
): void {
  const reg = curFrame(state).regs[regno]!;
  // a syscall program's ctx is a plain buffer of the caller's size: reachable here only through
  // a global function's memory argument (helpers' prototypes do not take ctx)
  if (reg.type === 'PTR_TO_CTX' && env.progType === 'syscall') {
    // kernel: check_func_arg_reg_off() before check_mem_reg()
    if (reg.off) reject(`dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
    checkMemRegionAccess(regno, reg, 0, size, SYSCALL_CTX_MAX);
    const end = (u64.toNumberU(reg.s.umax) ?? SYSCALL_CTX_MAX) + size;
    if (env.maxCtxOffset < end) env.maxCtxOffset = end;
    return;
  }
  switch (reg.type) {
    case 'PTR_TO_PACKET':
    case 'PTR_TO_PACKET_META':
      if (write && !mayWritePacket(env.progType)) reject('helper access to the packet is not allowed');
      checkPacketAccess(regno, reg, reg.off, size);
      return;
    case 'PTR_TO_MAP_KEY':
      if (write) reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegionAccess(regno, reg, reg.off, size, env.maps[reg.mapIndex]!.keySize);
      return;
    case 'PTR_TO_MAP_VALUE': {
      const m = env.maps[reg.mapIndex]!;
      if (write && (m.flags ?? 0) & 0x80) {
        reject(`write into map forbidden, value_size=${m.valueSize} off=${reg.off} size=${size}`);
      }
      if (size === 0 && zeroOk) return;
      checkMemRegionAccess(regno, reg, reg.off, size, m.valueSize);
      if (m.kptrs) checkMapKptrFields(m, regno, reg, reg.off, size, false);
      return;
    }
    case 'PTR_TO_MEM':
      if (write && reg.rdonly) reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      if (size === 0 && zeroOk) return;
      checkMemRegionAccess(regno, reg, reg.off, size, reg.memSize);
      return;
    case 'PTR_TO_STACK':
      checkStackRange(env, state, regno, reg, reg.off, size, zeroOk, write, meta);
      return;
    case 'PTR_TO_BUF':
      if (write && reg.rdonly) reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkBufferAccess(regno, reg, reg.off, size);
      return;
    default:
      if (zeroOk && size === 0 && isKnownZero(reg)) return;
      reject(`R${regno} type=${regTypeStr(reg)} expected=fp`);
  }
}

// kernel: check_mem_size_reg()
function checkMemSizeReg(
  env: VerifierEnv,
  state: VerifierState,
  regno: number,
  write: boolean,
  zeroOk: boolean,
  meta: CallArgMeta,
): void {
  const reg = curFrame(state).regs[regno]!;
  if (u64.isNeg(reg.s.smin)) reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`);
  if (u64.isZero(reg.s.umin) && !zeroOk) {
    reject(`R${regno} invalid zero-sized read: u64=[${u64.toDecS(reg.s.umin)},${u64.toDecS(reg.s.umax)}]`);
  }
  if (u64.uge(reg.s.umax, u64.fromNumber(BPF_MAX_VAR_SIZ))) {
    reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
  }
  checkHelperMemAccess(env, state, regno - 1, u64.toNumberU(reg.s.umax)!, write, zeroOk, meta);
  markRegPrecise(env, regno);
}

// kernel: check_func_arg()
function checkFuncArg(
  env: VerifierEnv,
  state: VerifierState,
  fn: HelperProto,
  arg: number,
  meta: CallArgMeta,
): void {
  const spec = fn.args[arg];
  if (!spec || spec.type === 'ARG_DONTCARE') return;
  const regno = arg + 1;
  const frame = curFrame(state);
  const reg = checkRegArg(env, frame, regno, 'SRC_OP');
  if (spec.type === 'ARG_ANYTHING') {
    if (isPointerValue(env, reg)) reject(`R${regno} leaks addr into helper function`);
    return;
  }
  const mayBeNull = hasFlag(spec, 'PTR_MAYBE_NULL');
  if (!(isKnownZero(reg) && mayBeNull)) {
    checkRegType(regno, reg, spec);
    if (meta.funcId === BPF_FUNC_kptr_xchg && spec.type === 'ARG_PTR_TO_BTF_ID') {
      if (!meta.kptrField) reject('verifier internal error: no kptr for bpf_kptr_xchg');
      mapKptrMatchType(env, meta.kptrField, reg, regno);
    }
    // kernel: check_func_arg_reg_off()
    if (spec.type === 'ARG_PTR_TO_RINGBUF_MEM' && reg.off) {
      reject(`dereference of modified ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`);
    }
    if ((reg.type === 'PTR_TO_CTX' || reg.type === 'CONST_PTR_TO_DYNPTR') && reg.off) {
      reject(`dereference of modified ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`);
    }
    const want = fn.argBtf?.[arg];
    if (want && !btfStructIdsMatch(env.layoutBtf, reg.btfId, reg.off, want)) {
      reject(`R${regno} is of type ${btfTypeName(env.layoutBtf, reg.btfId)} but ${want} is expected`);
    }
  }
  if (spec.type === 'ARG_PTR_TO_DYNPTR' && hasFlag(spec, 'OBJ_RELEASE')) {
    checkDynptrRelease(state, regno, reg);
    meta.dynptrReleaseRegno = regno;
  }
  // the ringbuf argument carries OBJ_RELEASE
  if (spec.type === 'ARG_PTR_TO_RINGBUF_MEM') {
    if (!reg.refObjId && !isKnownZero(reg))
      reject(`R${regno} must be referenced when passed to release function`);
    meta.releaseRegno = regno;
  }
  if (spec.type === 'ARG_PTR_TO_BTF_ID' && hasFlag(spec, 'OBJ_RELEASE')) {
    if (!reg.refObjId && !isKnownZero(reg))
      reject(`R${regno} must be referenced when passed to release function`);
    meta.releaseRegno = regno;
  }
  if (reg.refObjId) meta.refObjId = reg.refObjId;
  const write = hasFlag(spec, 'MEM_WRITE');
  switch (spec.type) {
    case 'ARG_CONST_MAP_PTR':
      if (meta.mapIndex >= 0 && meta.mapIndex !== reg.mapIndex) {
        reject(`timer pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0`);
      }
      meta.mapIndex = reg.mapIndex;
      break;
    case 'ARG_PTR_TO_TIMER':
      processTimerFunc(env, regno, reg, meta);
      break;
    case 'ARG_PTR_TO_SPIN_LOCK':
      processSpinLock(env, state, regno, reg, meta.funcId === BPF_FUNC_spin_lock, meta.insnIdx);
      break;
    case 'ARG_PTR_TO_MAP_KEY': {
      if (meta.mapIndex < 0) reject('invalid map_ptr to access map->key');
      const m = env.maps[meta.mapIndex]!;
      checkHelperMemAccess(env, state, regno, m.keySize, false, false, meta);
      if (m.type === 'array' || m.type === 'percpu_array')
        meta.constMapKey = getConstantMapKey(env, state, reg, m.keySize);
      break;
    }
    case 'ARG_PTR_TO_MAP_VALUE':
      if (mayBeNull && isKnownZero(reg)) return;
      if (meta.mapIndex < 0) reject('invalid map_ptr to access map->value');
      checkHelperMemAccess(env, state, regno, env.maps[meta.mapIndex]!.valueSize, write, false, meta);
      break;
    case 'ARG_PTR_TO_FUNC':
      meta.subprogno = reg.subprogno;
      break;
    case 'ARG_PTR_TO_KPTR':
      meta.kptrField = processKptrFunc(env, regno, reg);
      break;
    case 'ARG_PTR_TO_DYNPTR':
      meta.dynptr = processDynptrFunc(
        env,
        state,
        regno,
        spec,
        meta.insnIdx,
        (off) => {
          checkMemAccess(env, state, { regno, off, size: BPF_REG_SIZE, t: 'write', valueRegno: -1 });
        },
        meta.clone ? meta.dynptr : undefined,
      );
      break;
    case 'ARG_PTR_TO_CONST_STR':
      checkRegConstStr(regno, reg, env.maps[reg.mapIndex]!);
      break;
    case 'ARG_PTR_TO_LONG':
      checkPtrAlignment(reg, 0, 8, true);
      checkHelperMemAccess(env, state, regno, 8, true, false, meta);
      break;
    case 'ARG_CONST_SIZE':
    case 'ARG_CONST_SIZE_OR_ZERO': {
      const prev = fn.args[arg - 1]!;
      const zeroOk = spec.type === 'ARG_CONST_SIZE_OR_ZERO';
      if (meta.funcId < 0) {
        // kernel: check_kfunc_mem_size_reg(): a kfunc's memory is checked for reading, then writing
        try {
          checkMemSizeReg(env, state, regno, false, zeroOk, meta);
          checkMemSizeReg(env, state, regno, true, zeroOk, meta);
        } catch (e) {
          if (!(e instanceof VerifierReject)) throw e;
          reject(...e.lines, `arg#${arg - 1} arg#${arg} memory, len pair leads to invalid memory access`);
        }
        break;
      }
      checkMemSizeReg(env, state, regno, hasFlag(prev, 'MEM_WRITE'), zeroOk, meta);
      break;
    }
    case 'ARG_CONST_ALLOC_SIZE_OR_ZERO':
      if (!tnum.isConst(reg.s.varOff)) reject(`R${regno} is not a known constant'`);
      meta.memSize = u64.toNumberU(tnum.value(reg.s.varOff)) ?? 0;
      markRegPrecise(env, regno);
      break;
    default:
      break;
  }
}

// kernel: check_reg_const_str(): a NUL-terminated string in a frozen read-only array map
function checkRegConstStr(regno: number, reg: RegState, m: MapInfo): void {
  if (!((m.flags ?? 0) & 0x80) || !m.frozenData) reject(`R${regno} does not point to a readonly map'`);
  if (!tnum.isConst(reg.s.varOff)) reject(`R${regno} is not a constant address'`);
  if (m.type !== 'array') reject('no direct value access support for this map type');
  checkMemRegionAccess(regno, reg, reg.off, m.valueSize - reg.off, m.valueSize);
  const off = reg.off + (u64.toNumberS(tnum.value(reg.s.varOff)) ?? 0);
  if (m.frozenData.subarray(off, m.valueSize).indexOf(0) < 0) reject('string is not zero-terminated');
}

// kernel: check_bpf_snprintf_call(): the constant format against the data length in R5
function checkSnprintfCall(env: VerifierEnv, state: VerifierState): void {
  const regs = curFrame(state).regs;
  const fmtReg = regs[3]!;
  const len = u64.toNumberU(tnum.value(regs[5]!.s.varOff)) ?? 0;
  if (len % 8) reject('Invalid format string');
  const m = env.maps[fmtReg.mapIndex]!;
  const off = fmtReg.off + (u64.toNumberS(tnum.value(fmtReg.s.varOff)) ?? 0);
  if (!bprintfFormatValid(m.frozenData!.subarray(off, m.valueSize), len / 8)) reject('Invalid format string');
}

// kernel: process_timer_func()
function processTimerFunc(env: VerifierEnv, regno: number, reg: RegState, meta: CallArgMeta): void {
  const m = env.maps[reg.mapIndex]!;
  if (!tnum.isConst(reg.s.varOff)) {
    reject(`R${regno} doesn't have constant offset. bpf_timer has to be at the constant offset`);
  }
  if (m.timerOff === undefined) reject(`map '${m.name ?? ''}' has no valid bpf_timer`);
  const off = (u64.toNumberS(tnum.value(reg.s.varOff)) ?? 0) + reg.off;
  if (off !== m.timerOff) reject(`off ${off} doesn't point to 'struct bpf_timer' that is at ${m.timerOff}`);
  meta.mapIndex = reg.mapIndex;
}

// kernel: push_async_cb() + set_timer_callback_state(): the callback is verified as its own
// program later, with (map, key, value) of the timer's map and R0 = 0 required at its exit
function pushAsyncCb(
  env: VerifierEnv,
  idx: number,
  meta: CallArgMeta,
): { state: VerifierState; insnIdx: number } {
  if (!env.hasFuncInfo) reject('missing btf func_info');
  const sp = env.subprogs[meta.subprogno];
  if (!sp) reject(`verifier bug. No program starts at subprog ${meta.subprogno}`);
  sp.isAsyncCb = true;
  const callee = newFrame(idx, 0, meta.subprogno);
  callee.regs[1] = pointer('CONST_PTR_TO_MAP', { mapIndex: meta.mapIndex });
  callee.regs[2] = pointer('PTR_TO_MAP_KEY', { mapIndex: meta.mapIndex });
  callee.regs[3] = pointer('PTR_TO_MAP_VALUE', { mapIndex: meta.mapIndex });
  callee.inAsyncCallbackFn = true;
  const st = newState(callee, sp.start);
  return { state: st, insnIdx: sp.start };
}

const mapTypeNo = (m: MapInfo): number => MAP_TYPES.indexOf(m.type as (typeof MAP_TYPES)[number]);

const RINGBUF_FNS: readonly number[] = [130, 131, 134, 198];
const QUEUE_FNS: readonly number[] = [87, 88, 89];

// kernel: check_map_func_compatibility() (the map types tsbpf knows)
function checkMapFuncCompatibility(m: MapInfo | undefined, funcId: number): void {
  if (!m) return;
  if (!mapFuncCompatible(m.type, funcId))
    reject(`cannot pass map_type ${mapTypeNo(m)} into func ${funcIdName(funcId)}#${funcId}`);
}

function mapFuncCompatible(type: string, funcId: number): boolean {
  // map type -> helpers it may be used with
  switch (type) {
    case 'ringbuf':
      if (!RINGBUF_FNS.includes(funcId)) return false;
      break;
    case 'prog_array':
      if (funcId !== 12) return false;
      break;
    case 'queue':
    case 'stack':
      if (!QUEUE_FNS.includes(funcId)) return false;
      break;
    case 'perf_event_array':
      if (funcId !== 25) return false;
      break;
    case 'array_of_maps':
    case 'hash_of_maps':
      if (funcId !== 1) return false;
      break;
  }
  // helper -> map types it accepts
  if (RINGBUF_FNS.includes(funcId) && type !== 'ringbuf') return false;
  if (funcId === 12 && type !== 'prog_array') return false;
  if (QUEUE_FNS.includes(funcId) && type !== 'queue' && type !== 'stack' && type !== 'bloom_filter')
    return false;
  if (funcId === 25 && type !== 'perf_event_array') return false;
  if (funcId === 195 && !PERCPU_MAPS.has(type)) return false;
  return true;
}

const PERCPU_MAPS = new Set(['percpu_array', 'percpu_hash', 'lru_percpu_hash']);

/** kernel: release_reference(): copies of the released reference become invalid (mark_reg_invalid()). */
export function releaseReference(env: VerifierEnv, state: VerifierState, refObjId: number): void {
  const before = state.refs.length;
  state.refs = state.refs.filter((r) => r.id !== refObjId);
  if (state.refs.length === before) reject(`verifier internal error: reference id=${refObjId} not found`);
  forEachReg(state, (r, set) => {
    if (r.refObjId === refObjId) set(invalidReg(env));
  });
}

/** After a helper wrote stack bytes: they are misc, spilled registers there are gone. */
function clobberStack(w: { frame: FuncState; minOff: number; maxOff: number }): void {
  for (let i = w.minOff; i < w.maxOff; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / BPF_REG_SIZE);
    const st = ownSlot(w.frame, spi);
    const types = writableTypes(st);
    if (types[BPF_REG_SIZE - 1] === STACK_SPILL) {
      st.spilled = unknownScalar();
      for (let j = 0; j < BPF_REG_SIZE; j++) if (types[j] !== STACK_INVALID) types[j] = STACK_MISC;
    }
    const t = types[slot % BPF_REG_SIZE]!;
    if (t === STACK_ZERO || t === STACK_INVALID) types[slot % BPF_REG_SIZE] = STACK_MISC;
  }
}

/**
 * Whether the code being verified may sleep: the program's flag, except in timer callbacks,
 * which run from a softirq. Synchronous callbacks (bpf_loop, for_each_map_elem) inherit it.
 * kernel: in_sleepable() (push_async_cb() clears it for every async callback but bpf_wq's)
 */
export const inSleepable = (env: VerifierEnv, state: VerifierState): boolean =>
  env.sleepable && !state.frames[0]!.inAsyncCallbackFn;

/**
 * A kfunc's arguments, checked as a helper's with the same argument types (kfunc.ts), each after
 * `beforeArg`, the kernel's kfunc-specific checks of that argument (kfunc-args.ts).
 */
export function checkKfuncArgs(
  env: VerifierEnv,
  state: VerifierState,
  fn: FuncProto,
  idx: number,
  clone = false,
  beforeArg?: (i: number) => void,
): DynptrArgMeta | undefined {
  const meta = emptyMeta(-1, idx);
  meta.clone = clone;
  const proto: HelperProto = { ...fn, avail: 'base' };
  for (let i = 0; i < 5; i++) {
    beforeArg?.(i);
    checkFuncArg(env, state, proto, i, meta);
  }
  for (const w of meta.writes) clobberStack(w);
  return meta.dynptr;
}

export interface CallOutcome {
  /** A state to explore as well (callback entry), pushed by the caller. */
  push?: { state: VerifierState; insnIdx: number };
}

// kernel: check_helper_call()
export function checkHelperCall(
  env: VerifierEnv,
  state: VerifierState,
  insn: Insn,
  idx: number,
): CallOutcome {
  const funcId = insn.imm;
  if (funcId < 0 || funcId >= HELPER_NAMES.length) reject(`invalid func ${funcIdName(funcId)}#${funcId}`);
  const fn = getHelperProto(funcId, env.progType, env.attachType, env.opts.unprivileged, env.opts.perfmon);
  if (!fn) reject(`program of this type cannot use helper ${funcIdName(funcId)}#${funcId}`);
  if (fn.allowed && !fn.allowed(env)) reject('helper call is not allowed in probe');
  if (fn.mightSleep && !inSleepable(env, state)) reject('helper call might sleep in a non-sleepable prog');
  if (fn.mightSleep && state.activeRcuLock)
    reject(`sleepable helper ${funcIdName(funcId)}#${funcId} in rcu_read_lock region`);
  const meta = emptyMeta(funcId, idx);
  for (let i = 0; i < 5; i++) checkFuncArg(env, state, fn, i, meta);
  // kernel: record_func_map() (its message has no newline in 6.18)
  if (funcId === 12 && env.maps[meta.mapIndex]?.type !== 'prog_array')
    reject('expected prog array map for tail call');
  // kernel: set_map_elem_callback_state() (only maps with map_for_each_callback) runs in
  // push_callback_call(), before check_map_func_compatibility()
  if (funcId === 164 && !FOR_EACH_MAPS.has(env.maps[meta.mapIndex]?.type ?? ''))
    reject('callback function not allowed for map');
  checkMapFuncCompatibility(env.maps[meta.mapIndex], funcId);
  // kernel: record_func_key(): a constant tail call index is relied on
  if (
    funcId === 12 &&
    curFrame(state).regs[3]!.type === 'SCALAR_VALUE' &&
    tnum.isConst(curFrame(state).regs[3]!.s.varOff)
  ) {
    markRegPrecise(env, 3);
  }
  if (funcId === BPF_FUNC_snprintf) checkSnprintfCall(env, state);
  if (funcId === 12 && state.refs.length) {
    reject('tail_call would lead to reference leak');
  }
  if (funcId === 12) checkNoRcuLock(state, 'tail_call');
  for (const w of meta.writes) clobberStack(w);
  if (meta.dynptrReleaseRegno) {
    const reg = curFrame(state).regs[meta.dynptrReleaseRegno]!;
    unmarkStackSlotsDynptr(env, state, reg, (ref) => releaseReference(env, state, ref));
  } else if (isReleaseHelper(funcId)) {
    if (meta.refObjId) releaseReference(env, state, meta.refObjId);
  }
  // kernel: the BPF_FUNC_dynptr_from_mem case of check_helper_call()
  if (funcId === BPF_FUNC_dynptr_from_mem && curFrame(state).regs[1]!.type !== 'PTR_TO_MAP_VALUE') {
    reject(`Unsupported reg type ${regTypeStr(curFrame(state).regs[1]!)} for bpf_dynptr_from_mem data`);
  }
  const out: CallOutcome = {};
  if (funcId === 181) out.push = loopCallbackCall(env, state, idx, meta);
  if (funcId === 164) out.push = pushCallbackCall(env, state, idx, meta);
  if (funcId === 170) out.push = pushAsyncCb(env, idx, meta);
  if (funcId === BPF_FUNC_user_ringbuf_drain) out.push = pushCallbackCall(env, state, idx, meta);
  const frame = curFrame(state);
  for (let r = 0; r <= 5; r++) {
    markRegNotInit(frame, r);
    env.log.scratchReg(r);
  }
  // kernel: the BPF_FUNC_dynptr_write case: writing through an skb dynptr may move the packet
  const skbWrite = funcId === BPF_FUNC_dynptr_write && meta.dynptr?.type === BPF_DYNPTR_TYPE_SKB;
  if (helperChangesPktData(funcId) || skbWrite) clearAllPktPointers(env, state);
  switch (fn.ret) {
    case 'RET_INTEGER':
      frame.regs[0] = unknownScalar();
      break;
    case 'RET_VOID':
      break;
    case 'RET_PTR_TO_MAP_VALUE_OR_NULL':
    case 'RET_PTR_TO_MAP_VALUE': {
      if (meta.mapIndex < 0) reject('kernel subsystem misconfigured verifier');
      const m = env.maps[meta.mapIndex]!;
      // kernel: can_elide_value_nullness(): an array lookup with a constant key in range cannot fail
      const elide =
        funcId === 1 &&
        (m.type === 'array' || m.type === 'percpu_array') &&
        meta.constMapKey >= 0 &&
        meta.constMapKey < m.maxEntries;
      const maybeNull = fn.ret === 'RET_PTR_TO_MAP_VALUE_OR_NULL' && !elide;
      frame.regs[0] = pointer('PTR_TO_MAP_VALUE', { mapIndex: meta.mapIndex, maybeNull });
      // a value holding a spin lock gets an id even when it cannot be null: the id names the lock
      if (maybeNull || m.spinLockOff !== undefined) frame.regs[0]!.id = nextId(env);
      break;
    }
    case 'RET_PTR_TO_BTF_ID':
      frame.regs[0] = btfPointer(env, fn.retBtf ?? '', { trusted: true });
      break;
    case 'RET_PTR_TO_BTF_ID_OR_NULL':
      // bpf_kptr_xchg: the object that was in the kptr, or NULL
      if (!meta.kptrField) reject('verifier internal error: no kptr for bpf_kptr_xchg');
      frame.regs[0] = kptrXchgResult(env, meta.kptrField);
      frame.regs[0]!.id = nextId(env);
      break;
    case 'RET_PTR_TO_MEM_OR_NULL':
      frame.regs[0] = pointer('PTR_TO_MEM', { maybeNull: true, ringbuf: true, memSize: meta.memSize });
      frame.regs[0]!.id = nextId(env);
      break;
    case 'RET_PTR_TO_DYNPTR_MEM_OR_NULL':
      if (!meta.dynptr) reject('verifier internal error: no dynptr argument');
      frame.regs[0] = dynptrSlice(env, meta.memSize, meta.dynptr);
      break;
    default:
      reject(`unsupported: helper return type ${fn.ret}`);
  }
  if (isAcquireHelper(funcId)) {
    const id = nextId(env);
    state.refs.push({ id, insnIdx: idx });
    frame.regs[0]!.id = id;
    frame.regs[0]!.refObjId = id;
  }
  return out;
}

// kernel: the BPF_FUNC_loop case of check_helper_call(): R1 (the loop count) bounds how many
// callback runs one path queues, so it is precise; past it the loop is over
function loopCallbackCall(
  env: VerifierEnv,
  state: VerifierState,
  idx: number,
  meta: CallArgMeta,
): { state: VerifierState; insnIdx: number } | undefined {
  markRegPrecise(env, 1);
  const caller = curFrame(state);
  if (u64.ult(u64.fromNumber(caller.callbackDepth), caller.regs[1]!.s.umax)) {
    return pushCallbackCall(env, state, idx, meta);
  }
  caller.callbackDepth = 0;
  if (env.log.level >= 2) env.log.add(`frame${state.frames.length - 1} bpf_loop iteration limit reached`);
  return undefined;
}

/** Map types with map_for_each_callback (the ones tsbpf knows). */
const BPF_FUNC_snprintf = 165;
const BPF_FUNC_kptr_xchg = 194;
const BPF_FUNC_dynptr_from_mem = 197;
const BPF_FUNC_dynptr_write = 202;
const BPF_FUNC_user_ringbuf_drain = 209;

const FOR_EACH_MAPS: ReadonlySet<string> = new Set([
  'array',
  'percpu_array',
  'hash',
  'lru_hash',
  'percpu_hash',
  'lru_percpu_hash',
]);

// kernel: push_callback_call() + set_loop_callback_state(): the callback's first iteration is
// explored later from a copy of the state before the call clobbers R1-R5
function pushCallbackCall(
  env: VerifierEnv,
  state: VerifierState,
  idx: number,
  meta: CallArgMeta,
): { state: VerifierState; insnIdx: number } {
  const subprogno = meta.subprogno;
  if (!env.hasFuncInfo) reject('missing btf func_info');
  const sp = env.subprogs[subprogno];
  if (!sp) reject(`verifier bug. No program starts at subprog ${subprogno}`);
  if (state.frames.length >= MAX_CALL_FRAMES)
    reject(`the call stack of ${state.frames.length + 1} frames is too deep`);
  const cb = copyState(state);
  const caller = curFrame(cb);
  const callee = newFrame(idx, cb.frames.length, subprogno);
  if (meta.funcId === 164) {
    // kernel: set_map_elem_callback_state(): callback(map, key, value, ctx)
    if (!FOR_EACH_MAPS.has(env.maps[meta.mapIndex]?.type ?? ''))
      reject('callback function not allowed for map');
    callee.regs[1] = copyReg(caller.regs[1]!);
    callee.regs[2] = pointer('PTR_TO_MAP_KEY', { mapIndex: meta.mapIndex });
    callee.regs[3] = pointer('PTR_TO_MAP_VALUE', { mapIndex: meta.mapIndex });
    callee.regs[4] = copyReg(caller.regs[3]!);
  } else if (meta.funcId === BPF_FUNC_user_ringbuf_drain) {
    // kernel: set_user_ringbuf_callback_state(): callback(const struct bpf_dynptr *, ctx), the
    // dynptr a local one the callee may read but not release
    callee.regs[1] = pointer('CONST_PTR_TO_DYNPTR', { id: nextId(env), dynptr: BPF_DYNPTR_TYPE_LOCAL });
    callee.regs[2] = copyReg(caller.regs[3]!);
  } else {
    callee.regs[1] = unknownScalar();
    callee.regs[2] = copyReg(caller.regs[3]!);
  }
  callee.inCallbackFn = true;
  callee.callbackRetMin = 0;
  callee.callbackRetMax = 1;
  cb.frames.push(callee);
  cb.callbackUnrollDepth++;
  caller.callbackDepth++;
  curFrame(state).callbackDepth = 0;
  return { state: cb, insnIdx: sp.start };
}

// kernel: check_func_call() + setup_func_entry()
export function checkFuncCall(env: VerifierEnv, state: VerifierState, insn: Insn, idx: number): number {
  const target = idx + insn.imm + 1;
  const subprog = env.subprogs.findIndex((s) => s.start === target);
  if (subprog < 0) reject(`verifier bug. No program starts at insn ${target}`);
  if (state.frames.length >= MAX_CALL_FRAMES) {
    reject(`the call stack of ${state.frames.length + 1} frames is too deep`);
  }
  const caller = curFrame(state);
  const global = env.globalFuncs[subprog];
  if (global) return callGlobalFunc(env, state, idx, subprog, global);
  const callee = newFrame(idx, state.frames.length, subprog);
  for (let r = 1; r <= 5; r++) callee.regs[r] = copyReg(caller.regs[r]!);
  for (let r = 0; r <= 5; r++) {
    markRegNotInit(caller, r);
  }
  state.frames.push(callee);
  if (env.log.enabled) {
    env.log.add('caller:');
    env.log.add(frameStateStr(state, caller, env.log, env.maps, true));
    env.log.add('callee:');
    env.log.add(frameStateStr(state, callee, env.log, env.maps, true));
  }
  env.log.scratchAll();
  return target;
}

// kernel: the global-function branch of check_func_call(): only the signature is checked here
function callGlobalFunc(
  env: VerifierEnv,
  state: VerifierState,
  idx: number,
  subprog: number,
  fn: GlobalFunc,
): number {
  if (heldLocks(state)) {
    reject('global function calls are not allowed while holding a lock,', 'use static function instead');
  }
  const caller = curFrame(state);
  const meta = emptyMeta(-1, idx);
  checkGlobalCall(caller, subprog, fn, {
    // kernel: check_mem_reg(): read and write access of `size` bytes, a nullable pointer as if checked
    checkMem(regno, size) {
      const saved = caller.regs[regno]!;
      if (isKnownZero(saved)) return;
      // the callee's accesses through PTR_TO_MEM run without run-time checks (src/jit/verified.ts),
      // but a buffer's size is only known when the iterator is attached (kernel: max_rdwr_access)
      if (saved.type === 'PTR_TO_BUF') {
        reject(
          `R${regno} type=${regTypeStr(saved)}: tsbpf does not pass iterator buffers to global functions`,
        );
      }
      if (saved.maybeNull) caller.regs[regno] = { ...saved, maybeNull: false };
      try {
        checkHelperMemAccess(env, state, regno, size, false, true, meta);
        checkHelperMemAccess(env, state, regno, size, true, true, meta);
      } finally {
        caller.regs[regno] = saved;
      }
    },
  });
  for (const w of meta.writes) clobberStack(w);
  if (env.log.enabled) env.log.add(`Func#${subprog} ('${fn.name}') is global and assumed valid.`);
  if (fn.changesPktData) clearAllPktPointers(env, state);
  env.globalCalled.add(subprog);
  for (let r = 0; r <= 5; r++) {
    markRegNotInit(caller, r);
    env.log.scratchReg(r);
  }
  caller.regs[0] = unknownScalar();
  return idx + 1;
}

/** R0 within [min, max] (kernel: retval_range_within() + verbose_invalid_scalar()). */
export function checkRetval(r0: RegState, ctx: string, min: number, max: number): void {
  if (!u64.slt(r0.s.smin, u64.fromS32(min)) && !u64.sgt(r0.s.smax, u64.fromS32(max))) return;
  rejectRetval(r0, ctx, min, max);
}

/** kernel: verbose_invalid_scalar(): R0's 64-bit bounds and the range it should have been in. */
export function rejectRetval(r0: RegState, ctx: string, min: number, max: number): never {
  let text = `${ctx} the register R0 has`;
  let unknown = true;
  if (!u64.eq(r0.s.smin, u64.S64_MIN)) {
    text += ` smin=${u64.toDecS(r0.s.smin)}`;
    unknown = false;
  }
  if (!u64.eq(r0.s.smax, u64.S64_MAX)) {
    text += ` smax=${u64.toDecS(r0.s.smax)}`;
    unknown = false;
  }
  if (unknown) text += ' unknown scalar value';
  return reject(`${text} should have been in [${min}, ${max}]`);
}

// kernel: prepare_func_exit(); returns the caller's next instruction
export function prepareFuncExit(env: VerifierEnv, state: VerifierState): number {
  const callee = curFrame(state);
  const r0 = callee.regs[0]!;
  if (r0.type === 'PTR_TO_STACK') reject('cannot return stack pointer to the caller');
  if (callee.inCallbackFn) {
    if (r0.type !== 'SCALAR_VALUE') reject('R0 not a scalar value');
    markRegPrecise(env, 0);
    // kernel: verbose_invalid_scalar(), as for bpf_for_each_map_elem's "has smin=2 smax=2"
    checkRetval(r0, 'At callback return', callee.callbackRetMin, callee.callbackRetMax);
  }
  state.frames.pop();
  // a callback returns to its call, which then schedules the next iteration
  const next = callee.inCallbackFn ? callee.callsite : callee.callsite + 1;
  if (!callee.inCallbackFn) curFrame(state).regs[0] = r0;
  if (env.log.enabled) {
    env.log.add('returning from callee:');
    env.log.add(frameStateStr(state, callee, env.log, env.maps, true));
    env.log.add(`to caller at ${next}:`);
    env.log.add(frameStateStr(state, curFrame(state), env.log, env.maps, true));
  }
  return next;
}
