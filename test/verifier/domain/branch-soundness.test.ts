// Soundness by sampling for conditional jumps: when a member pair (a, b) takes a side of
// `if a op b`, isBranchTaken must not call that side impossible, and the refined states of that
// side must still hold a and b (with no broken invariant, since the side is not empty).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { branch, scalar } from '../../../src/verifier/domain/index.ts';
import type { Scalar } from '../../../src/verifier/domain/index.ts';
import { describe, int, M32, M64, pickMember, prng, samplePool, s32, s64, u } from './gen.ts';

const { JMP } = branch;
const N = 3000;
const draw = samplePool(99, 1500);

function holds(op: number, a: bigint, b: bigint, is32: boolean): boolean {
  const ua = is32 ? a & M32 : a;
  const ub = is32 ? b & M32 : b;
  const sa = is32 ? s32(a) : s64(a);
  const sb = is32 ? s32(b) : s64(b);
  switch (op) {
    case JMP.JEQ:
      return ua === ub;
    case JMP.JNE:
      return ua !== ub;
    case JMP.JSET:
      return (ua & ub) !== 0n;
    case JMP.JGT:
      return ua > ub;
    case JMP.JGE:
      return ua >= ub;
    case JMP.JLT:
      return ua < ub;
    case JMP.JLE:
      return ua <= ub;
    case JMP.JSGT:
      return sa > sb;
    case JMP.JSGE:
      return sa >= sb;
    case JMP.JSLT:
      return sa < sb;
    case JMP.JSLE:
      return sa <= sb;
    default:
      throw new Error(`op ${op}`);
  }
}

const OPS: [string, number][] = Object.entries(JMP).filter(([n]) => n !== 'JSET_NOT');

function check(op: number, name: string, A: Scalar, B: Scalar, a: bigint, b: bigint, is32: boolean): void {
  // descriptions are built only on failure: they cost more than the checks
  const ctx = () => `${name}${is32 ? '32' : ''} a=${a} b=${b} A=${describe(A)} B=${describe(B)}`;
  const cond = holds(op, a, b, is32);
  const pred = branch.isBranchTaken(op, A, B, is32);
  if (pred === (cond ? 0 : 1))
    assert.fail(`isBranchTaken=${pred} but the pair ${cond ? 'takes' : 'skips'} it: ${ctx()}`);
  const res = branch.regSetMinMax(op, A, B, is32);
  const side = cond ? 'taken' : 'fallthrough';
  const [ra, rb] = cond ? res.taken : res.fallthrough;
  if (!scalar.contains(ra, u(a))) assert.fail(`${side} dst lost ${a}: ${describe(ra)} ${ctx()}`);
  if (!scalar.contains(rb, u(b))) assert.fail(`${side} src lost ${b}: ${describe(rb)} ${ctx()}`);
  const bad = scalar.sanityViolation(ra, 'r1') ?? scalar.sanityViolation(rb, 'r2');
  if (bad !== null) assert.fail(`${bad} ${ctx()}`);
}

for (const is32 of [false, true]) {
  for (const [name, op] of OPS) {
    test(`jmp${is32 ? '32' : ''} ${name}: member pairs stay possible and inside the refined states`, () => {
      const rnd = prng(2000 + op + (is32 ? 1 : 0));
      for (let i = 0; i < N; i++) {
        const A = draw();
        const a = pickMember(rnd, A.members);
        const k = int(rnd, 10);
        if (k === 0) {
          // the same register on both sides
          check(op, name, A.state, A.state, a, a, is32);
          continue;
        }
        // BPF_K: a sign-extended immediate, sometimes the member itself or its neighbour
        let B: { state: Scalar; members: bigint[] };
        if (k < 4) {
          const imm =
            k === 1
              ? BigInt.asUintN(64, BigInt.asIntN(32, a))
              : BigInt.asUintN(64, BigInt(int(rnd, 2 ** 32) | 0));
          B = { state: scalar.known(u(imm)), members: [imm] };
        } else {
          // a different register that may hold an equal state: never the same object
          const d = draw();
          B = { state: scalar.copy(d.state), members: d.members };
        }
        const b = pickMember(rnd, B.members);
        check(op, name, A.state, B.state, a, b & M64, is32);
      }
    });
  }
}

test('branch: JSET refinement with single-bit constants keeps members on both sides', () => {
  const rnd = prng(4242);
  for (let i = 0; i < N; i++) {
    const A = draw();
    const a = pickMember(rnd, A.members);
    const is32 = rnd() < 0.5;
    const bit = 1n << BigInt(int(rnd, is32 ? 32 : 64));
    check(JMP.JSET, 'jset-bit', A.state, scalar.known(u(bit)), a, bit, is32);
  }
});

test('branch: decisions on known constants', () => {
  const k = (v: bigint) => scalar.known(u(v & M64));
  assert.equal(branch.isBranchTaken(JMP.JEQ, k(5n), k(5n), false), 1);
  assert.equal(branch.isBranchTaken(JMP.JNE, k(5n), k(5n), false), 0);
  assert.equal(branch.isBranchTaken(JMP.JSGT, k(-1n), k(1n), false), 0);
  assert.equal(branch.isBranchTaken(JMP.JGT, k(-1n), k(1n), false), 1);
  // only the low halves count on 32 bits
  assert.equal(branch.isBranchTaken(JMP.JEQ, k(0x100000005n), k(5n), true), 1);
  assert.equal(branch.isBranchTaken(JMP.JEQ, k(0x100000005n), k(5n), false), 0);
  assert.equal(branch.isBranchTaken(JMP.JSET, k(6n), k(2n), false), 1);
  assert.equal(branch.isBranchTaken(JMP.JSET, k(4n), k(2n), false), 0);
});

test('branch: refinement examples worked from regs_refine_cond_op()', () => {
  // r in [0, 255] (var_off (0x0; 0xff)); `if r > 10`: taken [11, 255], fall-through [0, 10]
  const r = scalar.unknown();
  r.umax = u(255n);
  scalar.regBoundsSync(r);
  const ten = scalar.known(u(10n));
  const [t] = branch.refineCondOp(JMP.JGT, r, ten, false);
  const [f] = branch.refineCondOp(branch.revOpcode(JMP.JGT), r, ten, false);
  assert.deepEqual([Number(t.umin.lo), Number(t.umax.lo), t.s32min, t.s32max], [11, 255, 11, 255]);
  assert.deepEqual([Number(f.umin.lo), Number(f.umax.lo), f.u32min, f.u32max], [0, 10, 0, 10]);
  // var_off of [0, 10]: tnum_range(0, 10) = (0x0; 0xf) intersected with (0x0; 0xff)
  assert.equal(f.varOff.mLo, 0xf);
  // `if r != 0` falls through only when r == 0, which makes it a constant
  const [z] = branch.refineCondOp(JMP.JEQ, r, scalar.known(u(0n)), false);
  assert.ok(scalar.isRegConst(z, false));
  // JNE at the range's edge moves the edge: [0, 255] != 0 -> [1, 255]
  const [n] = branch.refineCondOp(JMP.JNE, r, scalar.known(u(0n)), false);
  assert.equal(n.umin.lo, 1);
  // JSET with a single bit learns that bit; its negation clears the tested bits
  const [s] = branch.refineCondOp(JMP.JSET, r, scalar.known(u(4n)), false);
  assert.equal(s.varOff.vLo, 4);
  const [ns] = branch.refineCondOp(JMP.JSET_NOT, r, scalar.known(u(6n)), false);
  assert.equal(ns.varOff.mLo, 0xf9);
  // comparing a register with itself: the kernel refines through the aliased state
  const [same] = branch.refineCondOp(JMP.JGT, r, r, false);
  assert.deepEqual([same.umin.lo, same.umax.lo], [1, 254]);
});

test('branch: a contradiction on the same register is reported like the kernel and reset', () => {
  // r in s64 [-1, 0]; `if w s>= w` falls through only when w s< w, which cannot happen.
  // The kernel (6.18) logs this exact text and forgets the bounds (reg_bounds_sanity_check()).
  const r = scalar.unknown();
  r.smin = u(M64);
  r.smax = u(0n);
  r.s32min = -1;
  r.s32max = 0;
  scalar.regBoundsSync(r);
  const res = branch.regSetMinMax(JMP.JSGE, r, r, true);
  assert.deepEqual(res.violations, [
    'REG INVARIANTS VIOLATION (false_reg1): range bounds violation u64=[0x0, 0xffffffffffffffff] ' +
      's64=[0x0, 0xffffffffffffffff] u32=[0x0, 0xffffffff] s32=[0x0, 0xffffffff] var_off=(0x0, 0xffffffffffffffff)',
  ]);
  assert.ok(scalar.equals(res.fallthrough[0], scalar.unknown()));
  assert.throws(() => branch.regSetMinMax(JMP.JSGE, r, r, true, true), /REG INVARIANTS VIOLATION/);
});
