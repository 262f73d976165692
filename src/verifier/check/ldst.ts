// Instruction-level wrappers around the memory checks (kernel: check_load_mem(),
// check_store_reg(), the BPF_ST case of do_check_insn(), check_atomic(), check_ld_abs(),
// check_ld_imm()).
import type { Insn } from '../../isa/index.ts';
import { opcode as opNs } from '../../isa/index.ts';
import { u64 as u64Ns } from '../domain/index.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import { knownScalar, pointer, regTypeStr, unknownScalar } from '../reg.ts';
import type { VerifierState } from '../state.ts';
import { curFrame } from '../state.ts';
import type { AccessType, MemAccess } from './mem.ts';
import { checkMemAccess } from './mem.ts';
import { checkRegArg, markRegNotInit } from './regs.ts';
import { checkNoLockHeld, checkNoRcuLock } from './spin-lock.ts';
import { isPointerValue } from '../privs.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };
const u64 = { ...u64Ns };

// Types whose accesses the kernel rewrites per instruction (kernel: reg_type_mismatch_ok() is
// false for them); tsbpf models only ctx among them.
const REWRITTEN_PTR_TYPES = new Set(['PTR_TO_CTX']);

// kernel: save_aux_ptr_type()
function saveAuxPtrType(env: VerifierEnv, type: string): void {
  const aux = env.aux[env.insnIdx]!;
  const prev = aux.ptrType;
  if (prev === undefined) aux.ptrType = type;
  else if (prev !== type && (REWRITTEN_PTR_TYPES.has(prev) || REWRITTEN_PTR_TYPES.has(type)))
    reject('same insn cannot be used with different pointers');
}

/**
 * One MemAccess for every load and store instruction, refilled per access (checkMemAccess() keeps
 * none and never comes back here): one object shape, and no object per instruction.
 */
const scratch: MemAccess = {
  regno: 0,
  off: 0,
  size: 0,
  t: 'read',
  valueRegno: -1,
  isLdsx: false,
  stImm: undefined,
  strictAlignment: false,
};

function access(
  regno: number,
  off: number,
  size: number,
  t: AccessType,
  valueRegno: number,
  isLdsx = false,
  stImm: number | undefined = undefined,
  strictAlignment = false,
): MemAccess {
  const a = scratch;
  a.regno = regno;
  a.off = off;
  a.size = size;
  a.t = t;
  a.valueRegno = valueRegno;
  a.isLdsx = isLdsx;
  a.stImm = stImm;
  a.strictAlignment = strictAlignment;
  return a;
}

// kernel: check_load_mem()
export function checkLoadMem(env: VerifierEnv, state: VerifierState, insn: Insn): void {
  const m = op.mode(insn.code);
  if ((m !== op.MODE_MEM && m !== op.MODE_MEMSX) || insn.imm !== 0) reject('BPF_LDX uses reserved fields');
  const frame = curFrame(state);
  checkRegArg(env, frame, insn.src, 'SRC_OP');
  checkRegArg(env, frame, insn.dst, 'DST_OP_NO_MARK');
  const size = op.sizeBytes(insn.code);
  const srcType = frame.regs[insn.src]!.type;
  const v = checkMemAccess(
    env,
    state,
    access(insn.src, insn.off, size, 'read', insn.dst, m === op.MODE_MEMSX),
  );
  saveAuxPtrType(env, srcType);
  curFrame(state).regs[insn.dst] = v ?? unknownScalar();
}

// kernel: check_store_reg() and BPF_ST
export function checkStore(env: VerifierEnv, state: VerifierState, insn: Insn): void {
  const frame = curFrame(state);
  const c = op.cls(insn.code);
  const size = op.sizeBytes(insn.code);
  if (c === op.CLASS_STX) {
    if (op.mode(insn.code) === op.MODE_ATOMIC) {
      checkAtomic(env, state, insn);
      return;
    }
    if (op.mode(insn.code) !== op.MODE_MEM || insn.imm !== 0) reject('BPF_STX uses reserved fields');
    checkRegArg(env, frame, insn.src, 'SRC_OP');
    checkRegArg(env, frame, insn.dst, 'SRC_OP');
    const dstType = frame.regs[insn.dst]!.type;
    checkMemAccess(env, state, access(insn.dst, insn.off, size, 'write', insn.src));
    saveAuxPtrType(env, dstType);
  } else {
    if (op.mode(insn.code) !== op.MODE_MEM || insn.src !== 0) reject('BPF_ST uses reserved fields');
    checkRegArg(env, frame, insn.dst, 'SRC_OP');
    const dstType = frame.regs[insn.dst]!.type;
    checkMemAccess(env, state, access(insn.dst, insn.off, size, 'write', -1, false, insn.imm));
    saveAuxPtrType(env, dstType);
  }
}

const ATOMIC_OPS = new Set([
  op.ATOMIC_ADD,
  op.ATOMIC_OR,
  op.ATOMIC_AND,
  op.ATOMIC_XOR,
  op.ATOMIC_ADD | op.ATOMIC_FETCH,
  op.ATOMIC_OR | op.ATOMIC_FETCH,
  op.ATOMIC_AND | op.ATOMIC_FETCH,
  op.ATOMIC_XOR | op.ATOMIC_FETCH,
  op.ATOMIC_XCHG,
  op.ATOMIC_CMPXCHG,
]);

// kernel: check_atomic_rmw()
function checkAtomic(env: VerifierEnv, state: VerifierState, insn: Insn): void {
  if (!ATOMIC_OPS.has(insn.imm)) {
    reject(`BPF_ATOMIC uses invalid atomic opcode ${(insn.imm & 0xff).toString(16).padStart(2, '0')}`);
  }
  const size = op.sizeBytes(insn.code);
  if (size !== 4 && size !== 8) reject('invalid atomic operand size');
  const frame = curFrame(state);
  checkRegArg(env, frame, insn.src, 'SRC_OP');
  checkRegArg(env, frame, insn.dst, 'SRC_OP');
  if (insn.imm === op.ATOMIC_CMPXCHG) {
    checkRegArg(env, frame, 0, 'SRC_OP');
    if (isPointerValue(env, frame.regs[0]!)) reject('R0 leaks addr into mem');
  }
  if (isPointerValue(env, frame.regs[insn.src]!)) reject(`R${insn.src} leaks addr into mem`);
  const dst = frame.regs[insn.dst]!;
  const okType = dst.type === 'PTR_TO_STACK' || dst.type === 'PTR_TO_MAP_VALUE' || dst.type === 'PTR_TO_MEM';
  if (!okType) reject(`BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(dst)} is not allowed`);
  let loadReg = -1;
  if (insn.imm & op.ATOMIC_FETCH) {
    loadReg = insn.imm === op.ATOMIC_CMPXCHG ? 0 : insn.src;
    checkRegArg(env, frame, loadReg, 'DST_OP');
  }
  // atomics check alignment on every pointer type (kernel: strict_alignment_once)
  const { dst: d, off } = insn;
  checkMemAccess(env, state, access(d, off, size, 'read', -1, false, undefined, true));
  const loaded =
    loadReg >= 0
      ? checkMemAccess(env, state, access(d, off, size, 'read', loadReg, false, undefined, true))
      : null;
  checkMemAccess(env, state, access(d, off, size, 'write', -1, false, undefined, true));
  // the old value, as a load of that size would give it
  if (loadReg >= 0) curFrame(state).regs[loadReg] = loaded ?? unknownScalar();
}

// kernel: check_ld_abs()
export function checkLdAbs(env: VerifierEnv, state: VerifierState, insn: Insn): void {
  const t = env.progType;
  if (t !== 'socket_filter' && t !== 'sched_cls' && t !== 'sched_act') {
    reject('BPF_LD_[ABS|IND] instructions not allowed for this program type');
  }
  const m = op.mode(insn.code);
  if (
    insn.dst !== 0 ||
    insn.off !== 0 ||
    op.size(insn.code) === op.SIZE_DW ||
    (m === op.MODE_ABS && insn.src !== 0)
  ) {
    reject('BPF_LD_[ABS|IND] uses reserved fields');
  }
  const frame = curFrame(state);
  checkRegArg(env, frame, 6, 'SRC_OP');
  checkNoLockHeld(state, 'BPF_LD_[ABS|IND]');
  if (state.refs.length) {
    reject(
      `Unreleased reference id=${state.refs[0]!.id} alloc_insn=${state.refs[0]!.insnIdx}`,
      'BPF_LD_[ABS|IND] would lead to reference leak',
    );
  }
  checkNoRcuLock(state, 'BPF_LD_[ABS|IND]');
  if (frame.regs[6]!.type !== 'PTR_TO_CTX') reject('at the time of BPF_LD_ABS|IND R6 != pointer to skb');
  if (m === op.MODE_IND) checkRegArg(env, frame, insn.src, 'SRC_OP');
  if (frame.regs[6]!.off) reject(`dereference of modified ctx ptr R6 off=${frame.regs[6]!.off} disallowed`);
  for (let r = 0; r <= 5; r++) {
    markRegNotInit(frame, r);
    env.log.scratchReg(r);
  }
  frame.regs[0] = unknownScalar();
}

// kernel: check_ld_imm()
export function checkLdImm(env: VerifierEnv, state: VerifierState, insn: Insn): void {
  if (op.size(insn.code) !== op.SIZE_DW) reject('invalid BPF_LD_IMM insn');
  if (insn.off !== 0) reject('BPF_LD_IMM64 uses reserved fields');
  const frame = curFrame(state);
  checkRegArg(env, frame, insn.dst, 'DST_OP');
  switch (insn.src) {
    case 0:
      frame.regs[insn.dst] = knownScalar(u64.make(insn.imm >>> 0, (insn.imm64Hi ?? 0) >>> 0));
      return;
    case op.PSEUDO_FUNC: {
      if (!env.hasFuncInfo) reject('missing btf func_info');
      const target = env.insnIdx + insn.imm + 1;
      const subprogno = env.subprogs.findIndex((s) => s.start === target);
      frame.regs[insn.dst] = pointer('PTR_TO_FUNC', { subprogno });
      return;
    }
    case op.PSEUDO_MAP_FD:
    case op.PSEUDO_MAP_IDX:
      frame.regs[insn.dst] = pointer('CONST_PTR_TO_MAP', { mapIndex: insn.imm });
      return;
    case op.PSEUDO_MAP_VALUE:
    case op.PSEUDO_MAP_IDX_VALUE:
      frame.regs[insn.dst] = pointer('PTR_TO_MAP_VALUE', { mapIndex: insn.imm, off: insn.imm64Hi ?? 0 });
      return;
    default:
      reject('bpf verifier is misconfigured');
  }
}
