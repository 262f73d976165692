// Spectre v1 rules for pointer arithmetic when the loader lacks CAP_PERFMON (kernel:
// sanitize_ptr_alu(), retrieve_ptr_limit(), update_alu_sanitation_state(), sanitize_val_alu(),
// sanitize_check_bounds(), sanitize_err()). The kernel later masks the offset of each such
// instruction to its alu_limit; the verifier has to make sure one mask fits every path and
// explores the instruction after it once more with the offset masked to 0 (a speculative path).
import type { Insn } from '../../isa/index.ts';
import { opcode as opNs } from '../../isa/index.ts';
import { tnum as tnumNs } from '../domain/index.ts';
import type { InsnAux, VerifierEnv } from '../env.ts';
import { reject, VerifierReject } from '../env.ts';
import { bypassSpecV1 } from '../privs.ts';
import type { RegState } from '../reg.ts';
import { checkMemRegionAccess } from './mem.ts';

const op = { ...opNs };
const tnum = { ...tnumNs };

/** kernel: MAX_BPF_STACK */
const MAX_BPF_STACK = 512;

// kernel: BPF_ALU_* in struct bpf_insn_aux_data.alu_state
const BPF_ALU_SANITIZE_SRC = 1;
const BPF_ALU_SANITIZE_DST = 2;
const BPF_ALU_NEG_VALUE = 4;
const BPF_ALU_NON_POINTER = 8;
const BPF_ALU_IMMEDIATE = 16;

// kernel: the REASON_* codes of sanitize_err()
type Reason = 'bounds' | 'type' | 'paths' | 'limit';

/** What the first sanitize_ptr_alu() call found, for the second (kernel: struct bpf_sanitize_info). */
export interface SanitizeInfo {
  aluState: number;
  aluLimit: number;
  maskToLeft: boolean;
}

const sanitizeNeeded = (opc: number): boolean => opc === op.ALU_ADD || opc === op.ALU_SUB;

// kernel: can_skip_alu_sanitation()
function canSkip(env: VerifierEnv, insn: Insn, aux: InsnAux): boolean {
  return bypassSpecV1(env) || op.srcBit(insn.code) === op.SRC_K || aux.nospec;
}

// kernel: retrieve_ptr_limit(): how far the pointer may move (u32), or why it may not
function retrievePtrLimit(env: VerifierEnv, ptr: RegState, maskToLeft: boolean): number | Reason {
  let max: number;
  let limit: number;
  if (ptr.type === 'PTR_TO_STACK') {
    max = MAX_BPF_STACK + (maskToLeft ? 1 : 0);
    limit = -(ptr.s.varOff.vLo + ptr.off) >>> 0;
  } else if (ptr.type === 'PTR_TO_MAP_VALUE') {
    max = env.maps[ptr.mapIndex]?.valueSize ?? 0;
    limit = ((maskToLeft ? ptr.s.smin.lo : ptr.s.umax.lo) + ptr.off) >>> 0;
  } else {
    return 'type';
  }
  return limit >= max ? 'limit' : limit;
}

// kernel: update_alu_sanitation_state(): one mask per instruction, whatever the path
function updateAluSanitationState(aux: SanitizeInfo | InsnAux, state: number, limit: number): Reason | null {
  if (aux.aluState && (aux.aluState !== state || aux.aluLimit !== limit)) return 'paths';
  aux.aluState = state;
  aux.aluLimit = limit;
  return null;
}

// kernel: sanitize_err()
function sanitizeErr(insn: Insn, regs: readonly RegState[], reason: Reason): never {
  const err = 'pointer arithmetic with it prohibited for !root';
  const opName = op.aluOp(insn.code) === op.ALU_ADD ? 'add' : 'sub';
  const srcScalar = regs[insn.src]?.type === 'SCALAR_VALUE';
  switch (reason) {
    case 'bounds':
      reject(`R${srcScalar ? insn.src : insn.dst} has unknown scalar with mixed signed bounds, ${err}`);
      break;
    case 'type':
      reject(`R${srcScalar ? insn.dst : insn.src} has pointer with unsupported alu operation, ${err}`);
      break;
    case 'paths':
      reject(`R${insn.dst} tried to ${opName} from different maps, paths or scalars, ${err}`);
      break;
    case 'limit':
      reject(`R${insn.dst} tried to ${opName} beyond pointer bounds, ${err}`);
  }
}

/**
 * kernel: sanitize_val_alu(): scalar += scalar at an instruction another path used for pointer
 * arithmetic cannot be masked.
 */
export function sanitizeValAlu(env: VerifierEnv, insn: Insn, regs: readonly RegState[]): void {
  const aux = env.aux[env.insnIdx]!;
  if (!sanitizeNeeded(op.aluOp(insn.code)) || canSkip(env, insn, aux)) return;
  const r = updateAluSanitationState(aux, BPF_ALU_NON_POINTER, 0);
  if (r) sanitizeErr(insn, regs, r);
}

/**
 * kernel: the first sanitize_ptr_alu() call, before the pointer moves. Returns the info for
 * sanitizePtrAluCommit() and whether the instruction after this one must be explored again
 * with the pointer unmoved (a variable offset masked to 0), or null when nothing is sanitized.
 */
export function sanitizePtrAlu(
  env: VerifierEnv,
  insn: Insn,
  ptr: RegState,
  offReg: RegState,
  ptrIsDst: boolean,
  regs: readonly RegState[],
  speculative: boolean,
): { info: SanitizeInfo; simulate: boolean } | null {
  const opc = op.aluOp(insn.code);
  const aux = env.aux[env.insnIdx]!;
  if (!sanitizeNeeded(opc) || canSkip(env, insn, aux)) return null;
  const offIsImm = tnum.isConst(offReg.s.varOff);
  const info: SanitizeInfo = { aluState: 0, aluLimit: 0, maskToLeft: false };
  // on a speculative path the mask was chosen on the real ones: only the simulation is left
  if (!speculative) {
    const offIsNeg = (offReg.s.smin.hi | 0) < 0;
    if (!offIsImm && offIsNeg !== (offReg.s.smax.hi | 0) < 0) sanitizeErr(insn, regs, 'bounds');
    info.maskToLeft = (opc === op.ALU_ADD && offIsNeg) || (opc === op.ALU_SUB && !offIsNeg);
    const limit = retrievePtrLimit(env, ptr, info.maskToLeft);
    if (typeof limit !== 'number') sanitizeErr(insn, regs, limit);
    let state = offIsNeg ? BPF_ALU_NEG_VALUE : 0;
    state |= offIsImm ? BPF_ALU_IMMEDIATE : 0;
    state |= ptrIsDst ? BPF_ALU_SANITIZE_SRC : BPF_ALU_SANITIZE_DST;
    updateAluSanitationState(info, state, limit);
    // other paths must reach here with their own offsets to check their masks
    if (!offIsImm) env.exploreAluLimits = true;
  }
  return { info, simulate: !offIsImm };
}

/** kernel: the second sanitize_ptr_alu() call (commit_window), after the pointer moved. */
export function sanitizePtrAluCommit(
  env: VerifierEnv,
  insn: Insn,
  dst: RegState,
  info: SanitizeInfo,
  regs: readonly RegState[],
  speculative: boolean,
): void {
  if (speculative) return;
  const limit = retrievePtrLimit(env, dst, info.maskToLeft);
  if (typeof limit !== 'number') sanitizeErr(insn, regs, limit);
  const r = updateAluSanitationState(env.aux[env.insnIdx]!, info.aluState, Math.abs(info.aluLimit - limit));
  if (r) sanitizeErr(insn, regs, r);
}

/**
 * kernel: sanitize_check_bounds(): without CAP_PERFMON pointer arithmetic must stay inside the
 * stack or the map value (other pointer types are left to retrieve_ptr_limit()).
 */
export function sanitizeCheckBounds(env: VerifierEnv, insn: Insn, dst: RegState): void {
  if (bypassSpecV1(env)) return;
  const regno = insn.dst;
  if (dst.type === 'PTR_TO_STACK') {
    // kernel: check_stack_access_for_ptr_arithmetic()
    const v = dst.s.varOff;
    const off = (v.vLo | 0) + dst.off;
    if (!tnum.isConst(v)) {
      reject(`R${regno} variable stack access prohibited for !root, var_off=${tnum.strn(v)} off=${off}`);
    }
    if (off >= 0 || off < -MAX_BPF_STACK) {
      reject(`R${regno} stack pointer arithmetic goes out of range, prohibited for !root; off=${off}`);
    }
  } else if (dst.type === 'PTR_TO_MAP_VALUE') {
    try {
      checkMemRegionAccess(regno, dst, dst.off, 1, env.maps[dst.mapIndex]?.valueSize ?? 0);
    } catch (e) {
      if (!(e instanceof VerifierReject)) throw e;
      reject(...e.lines, `R${regno} pointer arithmetic of map value goes out of range, prohibited for !root`);
    }
  }
}
