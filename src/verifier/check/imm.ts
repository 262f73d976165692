// Scalars built from an instruction's immediate, made once per value and shared: ALU and jump
// instructions with a BPF_K operand, and `r = imm`, are among the most frequent, and building a
// fresh known scalar (state, bounds, tnum) for each was a large part of the verifier's garbage.
// Sharing is safe because register scalars are never changed in place (see copyRegSharingScalar());
// with TSBPF_VERIFIER_FREEZE=1 the shared objects are frozen so a violation throws.
import { scalar as scalarNs, u64 as u64Ns } from '../domain/index.ts';
import type { Scalar } from '../domain/index.ts';
import type { RegState } from '../reg.ts';
import { FREEZE_SHARED, scalarOf } from '../reg.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const scalar = { ...scalarNs };
const u64 = { ...u64Ns };

/** Entries kept per cache; programs use few distinct immediates, so this is rarely reached. */
const MAX_ENTRIES = 4096;

const operands = new Map<number, RegState>();
const operands32 = new Map<number, RegState>();
const sext = new Map<number, Scalar>();
const zext = new Map<number, Scalar>();

function remember<T>(cache: Map<number, T>, key: number, value: T): T {
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(key, value);
  return value;
}

/** The known scalar imm sign-extended to 64 bits (an ALU64 `r = imm`); never change it. */
export function sharedKnownS32(imm: number): Scalar {
  const hit = sext.get(imm);
  if (hit !== undefined) return hit;
  const s = scalar.known(u64.fromS32(imm));
  if (FREEZE_SHARED) Object.freeze(s);
  return remember(sext, imm, s);
}

/** The known scalar imm zero-extended from 32 bits (an ALU32 `w = imm`); never change it. */
export function sharedKnownU32(imm: number): Scalar {
  const hit = zext.get(imm);
  if (hit !== undefined) return hit;
  const s = scalar.known(u64.fromU32(imm >>> 0));
  if (FREEZE_SHARED) Object.freeze(s);
  return remember(zext, imm, s);
}

/**
 * The source operand the kernel builds for a BPF_K ALU or jump instruction, and the register of
 * an ALU64 `r = imm`: a known scalar register holding imm sign-extended. Never changed in place:
 * marked shared, so a state that holds it copies it before a write (ownReg()).
 */
export function immOperand(imm: number): RegState {
  const hit = operands.get(imm);
  if (hit !== undefined) return hit;
  return sharedImmReg(operands, imm, sharedKnownS32(imm));
}

/** The register of a 32-bit `w = imm` (imm zero-extended); held shared (copy-on-write) like immOperand()'s. */
export function immReg32(imm: number): RegState {
  const hit = operands32.get(imm);
  if (hit !== undefined) return hit;
  return sharedImmReg(operands32, imm, sharedKnownU32(imm));
}

function sharedImmReg(cache: Map<number, RegState>, imm: number, s: Scalar): RegState {
  const r = scalarOf(s);
  // a state may hold it (`r = imm`, `*(u64 *)(r10 - 8) = imm`): as a register copies share, so
  // every in-place write takes its own copy first (ownReg())
  r.shared = true;
  if (FREEZE_SHARED) Object.freeze(r);
  return remember(cache, imm, r);
}
