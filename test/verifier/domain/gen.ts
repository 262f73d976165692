// Random concrete values and abstract states for the domain's sampling tests. BigInt is the
// reference arithmetic here; the domain under test never sees it.

import { scalar, tnum, u64 } from '../../../src/verifier/domain/index.ts';
import type { Scalar, Tnum, U64 } from '../../../src/verifier/domain/index.ts';
import { prng } from './diff-programs.ts';

export { prng };

export const M64 = (1n << 64n) - 1n;
export const M32 = (1n << 32n) - 1n;

export type Rnd = () => number;

export function int(rnd: Rnd, n: number): number {
  return Math.floor(rnd() * n);
}

function rand32(rnd: Rnd): bigint {
  return BigInt(int(rnd, 0x10000)) | (BigInt(int(rnd, 0x10000)) << 16n);
}

/** A u64 with the shapes bounds code cares about: small, near 2^31/2^32/2^63, all-ones, random. */
export function value(rnd: Rnd): bigint {
  const k = int(rnd, 10);
  switch (k) {
    case 0:
      return BigInt(int(rnd, 20));
    case 1:
      return -BigInt(int(rnd, 20) + 1) & M64;
    case 2:
      return ((1n << 31n) + BigInt(int(rnd, 9)) - 4n) & M64;
    case 3:
      return ((1n << 32n) + BigInt(int(rnd, 9)) - 4n) & M64;
    case 4:
      return ((1n << 63n) + BigInt(int(rnd, 9)) - 4n) & M64;
    case 5:
      return rand32(rnd);
    case 6:
      return BigInt.asUintN(64, BigInt.asIntN(32, rand32(rnd)));
    case 7:
      return (rand32(rnd) << 32n) | rand32(rnd);
    case 8:
      return 1n << BigInt(int(rnd, 64));
    default:
      return BigInt(int(rnd, 4096));
  }
}

/** A small set of related values: a base plus small offsets, or a few bits flipped. */
export function valueSet(rnd: Rnd): bigint[] {
  const base = value(rnd);
  const n = 1 + int(rnd, 6);
  const out = [base];
  for (let i = 1; i < n; i++) {
    const k = int(rnd, 4);
    if (k === 0) out.push((base + BigInt(int(rnd, 40))) & M64);
    else if (k === 1) out.push((base - BigInt(int(rnd, 40))) & M64);
    else if (k === 2) out.push(base ^ (1n << BigInt(int(rnd, 64))));
    else out.push(value(rnd));
  }
  return out;
}

export const big = (v: U64): bigint => u64.toBigInt(v);
export const u = (b: bigint): U64 => u64.fromBigInt(b);
export const s64 = (b: bigint): bigint => BigInt.asIntN(64, b);
export const s32 = (b: bigint): bigint => BigInt.asIntN(32, b & M32);

/** The tnum of exactly the known-common bits of the set. */
export function tnumOf(vals: readonly bigint[]): Tnum {
  let t = tnum.constant(u(vals[0]!));
  for (const v of vals) t = tnum.union(t, tnum.constant(u(v)));
  return t;
}

/**
 * A sound abstract state for a set of values: tnum of the common bits and the hull of the set
 * in each of the four orders, sometimes loosened, then synchronised as the kernel would.
 */
export function scalarOf(rnd: Rnd, vals: readonly bigint[]): Scalar {
  const r = scalar.unknown();
  if (rnd() < 0.8) r.varOff = tnumOf(vals);
  const us = vals.map((v) => v);
  const ss = vals.map((v) => s64(v));
  const u32s = vals.map((v) => v & M32);
  const s32s = vals.map((v) => s32(v));
  // bigint: Math.min/max do not apply
  // biome-ignore lint/complexity/useMathMinMax: bigint operands
  const min = (xs: bigint[]) => xs.reduce((a, b) => (b < a ? b : a));
  // biome-ignore lint/complexity/useMathMinMax: bigint operands
  const max = (xs: bigint[]) => xs.reduce((a, b) => (b > a ? b : a));
  const loosen = rnd() < 0.3;
  const lo = (x: bigint, floor: bigint) => (loosen && rnd() < 0.5 && x > floor ? x - 1n : x);
  const hi = (x: bigint, ceil: bigint) => (loosen && rnd() < 0.5 && x < ceil ? x + 1n : x);
  if (rnd() < 0.9) {
    r.umin = u(lo(min(us), 0n));
    r.umax = u(hi(max(us), M64));
  }
  if (rnd() < 0.9) {
    r.smin = u(lo(min(ss), -(1n << 63n)));
    r.smax = u(hi(max(ss), (1n << 63n) - 1n));
  }
  if (rnd() < 0.9) {
    r.u32min = Number(lo(min(u32s), 0n));
    r.u32max = Number(hi(max(u32s), M32));
  }
  if (rnd() < 0.9) {
    r.s32min = Number(lo(min(s32s), -(1n << 31n)));
    r.s32max = Number(hi(max(s32s), (1n << 31n) - 1n));
  }
  scalar.regBoundsSync(r);
  return r;
}

/** A random abstract value together with concrete members of it. */
export function sample(rnd: Rnd): { state: Scalar; members: bigint[] } {
  const members = valueSet(rnd);
  return { state: scalarOf(rnd, members), members };
}

/**
 * A fixed pool of sampled states: building a state costs BigInt work, so the tests draw their
 * thousands of cases from a pool (states are never mutated, callers copy before changing one).
 */
export function samplePool(seed: number, n: number): () => { state: Scalar; members: bigint[] } {
  const rnd = prng(seed);
  const pool: { state: Scalar; members: bigint[] }[] = [];
  for (let i = 0; i < n; i++) pool.push(sample(rnd));
  const pick = prng(seed ^ 0x5eed);
  return () => pool[int(pick, n)]!;
}

export function pickMember(rnd: Rnd, members: readonly bigint[]): bigint {
  return members[int(rnd, members.length)]!;
}

/** A human-readable dump for assertion messages. */
export function describe(r: Scalar): string {
  return (
    `var_off=${tnum.strn(r.varOff)} u64=[${u64.toHex(r.umin)},${u64.toHex(r.umax)}] ` +
    `s64=[${u64.toDecS(r.smin)},${u64.toDecS(r.smax)}] u32=[${r.u32min},${r.u32max}] s32=[${r.s32min},${r.s32max}]`
  );
}
