// Soundness by sampling: for random abstract states A, B with known members a, b, the concrete
// eBPF result of `a op b` (computed with BigInt) must lie in the abstract result: in its tnum and
// within all eight bounds. 3000 samples per operation and width.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu, coerce, scalar, u64 } from '../../../src/verifier/domain/index.ts';
import type { Scalar } from '../../../src/verifier/domain/index.ts';
import { describe, int, M32, M64, pickMember, prng, samplePool, s64, u } from './gen.ts';
import type { Rnd } from './gen.ts';

const { ALU } = alu;
const N = 3000;
const draw = samplePool(99, 1500);

function swapBytes(x: bigint, bytes: number): bigint {
  let r = 0n;
  for (let k = 0; k < bytes; k++) r |= ((x >> BigInt(8 * k)) & 0xffn) << BigInt(8 * (bytes - 1 - k));
  return r;
}

/** BPF_END on a little-endian host: ALU64 swaps, ALU to_le truncates, ALU to_be swaps. */
function endConcrete(a: bigint, alu64: boolean, toLe: boolean, imm: number): bigint {
  const bytes = imm / 8;
  const low = a & ((1n << BigInt(imm)) - 1n);
  if (alu64 || !toLe) return swapBytes(low, bytes);
  return low;
}

/** eBPF semantics of `dst op= src` (RFC 9669) on u64 bit patterns; ALU32 zero-extends. */
function concrete(op: number, a: bigint, b: bigint, alu32: boolean): bigint {
  const w = alu32 ? 32n : 64n;
  const mask = alu32 ? M32 : M64;
  const sx = (x: bigint) => BigInt.asIntN(Number(w), x);
  a &= mask;
  b &= mask;
  switch (op) {
    case ALU.ADD:
      return (a + b) & mask;
    case ALU.SUB:
      return (a - b) & mask;
    case ALU.MUL:
      return (a * b) & mask;
    case ALU.DIV:
      return b === 0n ? 0n : a / b;
    case ALU.MOD:
      return b === 0n ? a : a % b;
    case ALU.OR:
      return a | b;
    case ALU.AND:
      return a & b;
    case ALU.XOR:
      return a ^ b;
    case ALU.LSH:
      return (a << (b & (w - 1n))) & mask;
    case ALU.RSH:
      return a >> (b & (w - 1n));
    case ALU.ARSH:
      return (sx(a) >> (b & (w - 1n))) & mask;
    case ALU.NEG:
      return -a & mask;
    default:
      throw new Error(`op ${op}`);
  }
}

/** Fails with a description built only on failure (the messages cost more than the checks). */
function assertMember(r: Scalar, v: bigint, what: string | (() => string)): void {
  if (scalar.contains(r, u(v & M64))) return;
  const w = typeof what === 'string' ? what : what();
  assert.fail(`${w}: result ${v & M64} (${s64(v & M64)}) not in ${describe(r)}`);
}

/** A source operand: a sampled state, or (as for BPF_K and shift amounts) a known constant. */
function source(rnd: Rnd, op: number, alu32: boolean): { state: Scalar; members: bigint[] } {
  const isShift = op === ALU.LSH || op === ALU.RSH || op === ALU.ARSH;
  if (isShift && rnd() < 0.8) {
    const n = BigInt(int(rnd, alu32 ? 32 : 64));
    return { state: scalar.known(u(n)), members: [n] };
  }
  if (rnd() < 0.3) {
    const k = BigInt.asUintN(64, BigInt(int(rnd, 2 ** 32) | 0)); // sign-extended imm
    return { state: scalar.known(u(k)), members: [k] };
  }
  return draw();
}

const OPS: [string, number][] = [
  ['add', ALU.ADD],
  ['sub', ALU.SUB],
  ['mul', ALU.MUL],
  ['div', ALU.DIV],
  ['mod', ALU.MOD],
  ['or', ALU.OR],
  ['and', ALU.AND],
  ['xor', ALU.XOR],
  ['lsh', ALU.LSH],
  ['rsh', ALU.RSH],
  ['arsh', ALU.ARSH],
  ['neg', ALU.NEG],
];

for (const alu32 of [false, true]) {
  for (const [name, op] of OPS) {
    test(`alu${alu32 ? 32 : 64} ${name}: concrete results lie in the abstract result`, () => {
      const rnd = prng(1000 + op + (alu32 ? 7 : 0));
      let tracked = 0;
      for (let i = 0; i < N; i++) {
        const A = draw();
        const B = source(rnd, op, alu32);
        const a = pickMember(rnd, A.members);
        const b = pickMember(rnd, B.members);
        const dst = scalar.copy(A.state);
        const src = op === ALU.NEG ? dst : B.state;
        if (alu.adjustScalarMinMaxVals(op, dst, src, alu32)) tracked++;
        const want = concrete(op, a, op === ALU.NEG ? a : b, alu32);
        assertMember(dst, want, () => `${name} a=${a} b=${b} A=${describe(A.state)} B=${describe(B.state)}`);
        assert.equal(scalar.sanityViolation(dst, 'dst'), null);
      }
      // the kernel gives up on DIV and MOD only (and on non-constant shifts)
      if (op !== ALU.DIV && op !== ALU.MOD) assert.ok(tracked > N / 2, `${name}: tracked only ${tracked}`);
      else assert.equal(tracked, 0);
    });
  }
}

test('alu: AND/OR fork of a dst known to be -1 or 0 keeps each member on its side', () => {
  const rnd = prng(77);
  for (let i = 0; i < N; i++) {
    const alu32 = rnd() < 0.5;
    const op = rnd() < 0.5 ? ALU.AND : ALU.OR;
    // dst in [-1, 0] on the forked width, plus unrelated upper bits for the 32-bit case
    const hi = alu32 ? (BigInt(int(rnd, 4)) << 32n) & M64 : 0n;
    const members = [hi | (alu32 ? M32 : M64), hi];
    const dst = scalar.unknown();
    if (alu32) {
      dst.s32min = -1;
      dst.s32max = 0;
    } else {
      dst.smin = u64.MAX;
      dst.smax = u64.ZERO;
    }
    scalar.regBoundsSync(dst);
    const k = BigInt.asUintN(64, BigInt(int(rnd, 2 ** 32) | 0));
    const src = scalar.known(u(k));
    const zero = alu.maybeForkScalars(dst);
    assert.ok(zero !== null);
    alu.adjustScalarMinMaxVals(op, dst, src, alu32);
    alu.adjustScalarMinMaxVals(op, zero, src, alu32);
    assertMember(dst, concrete(op, members[0]!, k, alu32), () => `fork -1 side op=${op} alu32=${alu32}`);
    assertMember(zero, concrete(op, members[1]!, k, alu32), () => `fork 0 side op=${op} alu32=${alu32}`);
  }
});

test('alu: byte swaps (BPF_END, tracked in 6.18 stable) keep concrete results', () => {
  const rnd = prng(91);
  for (let i = 0; i < N; i++) {
    const A = draw();
    const a = pickMember(rnd, A.members);
    const alu64 = rnd() < 0.5;
    const toLe = alu64 ? true : rnd() < 0.5;
    const imm = [16, 32, 64][int(rnd, 3)]!;
    const dst = scalar.copy(A.state);
    alu.adjustScalarMinMaxVals(ALU.END, dst, dst, !alu64, { toLe, imm });
    assertMember(
      dst,
      endConcrete(a, alu64, toLe, imm),
      () => `end alu64=${alu64} toLe=${toLe} imm=${imm} a=${a}`,
    );
  }
});

test('alu: `r op= r` with the same register reads the old value twice', () => {
  const rnd = prng(5);
  for (let i = 0; i < N; i++) {
    const A = draw();
    const a = pickMember(rnd, A.members);
    const alu32 = rnd() < 0.5;
    const [name, op] = OPS[int(rnd, OPS.length)]!;
    const dst = scalar.copy(A.state);
    alu.adjustScalarMinMaxVals(op, dst, dst, alu32);
    assertMember(dst, concrete(op, a, a, alu32), () => `${name} same register a=${a}`);
  }
});

test('coerce: truncation, zero-extension and sign-extension keep concrete results', () => {
  const rnd = prng(13);
  for (let i = 0; i < N; i++) {
    const A = draw();
    const a = pickMember(rnd, A.members);
    const size = [1, 2, 4][int(rnd, 3)]!;
    const bits = BigInt(size * 8);
    const low = a & ((1n << bits) - 1n);
    const sext = BigInt.asUintN(64, BigInt.asIntN(Number(bits), low));

    const t = scalar.copy(A.state);
    coerce.coerceRegToSize(t, size);
    assertMember(t, low, () => `coerce_reg_to_size(${size}) a=${a}`);

    assertMember(coerce.movSx64(A.state, size * 8), sext, () => `movsx64 ${bits} a=${a}`);
    assertMember(coerce.mov32(A.state), a & M32, () => `mov32 a=${a}`);
    if (size < 4) assertMember(coerce.movSx32(A.state, size * 8), sext & M32, () => `movsx32 ${bits} a=${a}`);

    const z = scalar.copy(A.state);
    coerce.zext32To64(z);
    scalar.regBoundsSync(z);
    assertMember(z, a & M32, () => `zext_32_to_64 a=${a}`);
  }
});
