// Bounds bookkeeping and log printing, checked against examples from the kernel's own comments
// (kernel/bpf/verifier.c) and against register states the 6.18 kernel printed for small programs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu, coerce, print, scalar, tnum, u64 } from '../../../src/verifier/domain/index.ts';
import type { Scalar } from '../../../src/verifier/domain/index.ts';
import { big, M64, u } from './gen.ts';

const { ALU } = alu;
const K = (v: bigint): Scalar => scalar.known(u(v & M64));

function withBounds(f: (r: Scalar) => void): Scalar {
  const r = scalar.unknown();
  f(r);
  return r;
}

test('__reg32_deduce_bounds: u64 range with one upper half gives the u32 range (kernel comment)', () => {
  const r = withBounds((r) => {
    r.umin = u(0x10000000an);
    r.umax = u(0x10000000fn);
  });
  scalar.reg32DeduceBounds(r);
  assert.deepEqual([r.u32min, r.u32max, r.s32min, r.s32max], [0xa, 0xf, 0xa, 0xf]);
});

test('__reg32_deduce_bounds: s64 range over two upper halves gives an s32 range (kernel comment)', () => {
  const r = withBounds((r) => {
    r.smin = u(0xfffffff0fffffff0n);
    r.smax = u(0xfffffff100000010n);
  });
  scalar.reg32DeduceBounds(r);
  assert.deepEqual([r.s32min, r.s32max], [-16, 16]);
});

test('__reg64_deduce_bounds: a negative s64 range is also a u64 range (kernel comment)', () => {
  const r = withBounds((r) => {
    r.smin = u(-3n & M64);
    r.smax = u(-1n & M64);
  });
  scalar.reg64DeduceBounds(r);
  assert.deepEqual([big(r.umin), big(r.umax)], [M64 - 2n, M64]);
});

test('__reg_deduce_mixed_bounds: 32-bit bounds tighten the 64-bit ones (kernel comment)', () => {
  const r = withBounds((r) => {
    r.umin = u(0x100000000n);
    r.umax = u(0x380000000n);
    r.smin = r.umin;
    r.smax = r.umax;
    r.s32min = 1;
    r.s32max = 0x7fffffff;
    r.u32min = 1;
    r.u32max = 0x7fffffff;
  });
  scalar.regDeduceMixedBounds(r);
  assert.deepEqual([big(r.umin), big(r.umax)], [0x100000001n, 0x37fffffffn]);
});

test('reg_bounds_sync: bounds from var_off and var_off from bounds', () => {
  const r = scalar.unknown();
  r.varOff = tnum.of(u(0n), u(0xffn));
  scalar.regBoundsSync(r);
  assert.deepEqual([big(r.umin), big(r.umax), big(r.smin), big(r.smax)], [0n, 255n, 0n, 255n]);
  assert.deepEqual([r.u32min, r.u32max, r.s32min, r.s32max], [0, 255, 0, 255]);
  const q = scalar.unknown();
  q.umax = u(10n);
  scalar.regBoundsSync(q);
  assert.equal(tnum.strn(q.varOff), '(0x0; 0xf)');
});

test('reg_bounds_sync: a tnum meeting the range in one value makes a constant (6.18 stable)', () => {
  // var_off (0x0; 0x100) holds 0 and 256; with umin = 1 only 256 is left (the kernel printed R8=256)
  const r = scalar.unknown();
  r.varOff = tnum.of(u(0n), u(0x100n));
  r.umin = u(1n);
  scalar.regBoundsSync(r);
  assert.ok(tnum.equalsConst(r.varOff, u(256n)));
  assert.equal(print.scalarState(r), '256');
});

test('reg_bounds_sanity_check: messages and the reset', () => {
  const bad = scalar.unknown();
  bad.varOff = tnum.constant(u(5n));
  assert.equal(
    scalar.sanityViolation(bad, 'ctx'),
    'REG INVARIANTS VIOLATION (ctx): const tnum out of sync with range bounds u64=[0x0, 0xffffffffffffffff] ' +
      's64=[0x8000000000000000, 0x7fffffffffffffff] u32=[0x0, 0xffffffff] s32=[0x80000000, 0x7fffffff] var_off=(0x5, 0x0)',
  );
  const sub = scalar.unknown();
  sub.varOff = tnum.of(u(0x5n), u(0xffffffff00000000n));
  assert.match(scalar.sanityViolation(sub, 'x') ?? '', /const subreg tnum out of sync/);
  assert.equal(scalar.sanityViolation(K(7n), 'x'), null);
  const r = scalar.copy(bad);
  assert.notEqual(scalar.regBoundsSanityCheck(r, 'ctx'), null);
  assert.ok(u64.eq(r.umax, u64.MAX) && r.s32min === -0x80000000);
  assert.throws(
    () => scalar.regBoundsSanityCheck(scalar.copy(bad), 'ctx', true),
    /REG INVARIANTS VIOLATION \(ctx\)/,
  );
});

test('range_within and equals', () => {
  const wide = withBounds((r) => {
    r.umax = u(100n);
  });
  scalar.regBoundsSync(wide);
  const narrow = withBounds((r) => {
    r.umax = u(10n);
  });
  scalar.regBoundsSync(narrow);
  assert.ok(scalar.rangeWithin(wide, narrow));
  assert.ok(!scalar.rangeWithin(narrow, wide));
  assert.ok(scalar.within(wide, narrow));
  // same bounds, but a var_off that is no subset: not within
  const odd = scalar.copy(narrow);
  odd.varOff = tnum.of(u(1n), u(0n));
  assert.ok(!scalar.within(scalar.fromImm(0), odd));
  assert.equal(scalar.regWidth(narrow), 4);
  assert.ok(u64.eq(scalar.fromImm(-1).umax, u64.MAX));
  assert.ok(scalar.equals(narrow, scalar.copy(narrow)));
  assert.ok(!scalar.equals(narrow, wide));
});

/** Applies `dst op= imm` as the kernel does for BPF_K (a sign-extended immediate). */
function op(r: Scalar, code: number, imm: number, alu32 = false): Scalar {
  alu.adjustScalarMinMaxVals(code, r, K(BigInt(imm)), alu32);
  return r;
}

// Each expected string below was printed by the Linux 6.18 verifier for the same instructions
// applied to the result of bpf_get_prandom_u32() (an unknown scalar).
test('printing: states the 6.18 kernel printed for the same instructions', () => {
  const p = (r: Scalar) => print.scalarState(r);
  assert.equal(p(scalar.unknown()), 'scalar()');
  assert.equal(
    p(op(scalar.unknown(), ALU.AND, 255)),
    'scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))',
  );
  const a = op(scalar.unknown(), ALU.OR, -16);
  assert.equal(
    p(a),
    'scalar(smin=smin32=-16,smax=smax32=-1,umin=0xfffffffffffffff0,umin32=0xfffffff0,var_off=(0xfffffffffffffff0; 0xf))',
  );
  assert.equal(
    p(op(a, ALU.ADD, 32)),
    'scalar(smin=umin=smin32=umin32=16,smax=umax=smax32=umax32=31,var_off=(0x10; 0xf))',
  );
  const w = op(scalar.unknown(), ALU.OR, -16, true);
  assert.equal(
    p(w),
    'scalar(smin=umin=umin32=0xfffffff0,smax=umax=0xffffffff,smin32=-16,smax32=-1,var_off=(0xfffffff0; 0xf))',
  );
  assert.equal(p(op(scalar.unknown(), ALU.ARSH, 63)), 'scalar(smin=smin32=-1,smax=smax32=0)');
  const m = op(op(op(scalar.unknown(), ALU.AND, 15), ALU.SUB, 8), ALU.MUL, 3);
  assert.equal(p(m), 'scalar(smin=smin32=-24,smax=smax32=21)');
  const n = op(op(scalar.unknown(), ALU.AND, 3), ALU.MUL, 3);
  assert.equal(p(n), 'scalar(smin=smin32=0,smax=umax=smax32=umax32=9,var_off=(0x0; 0xf))');
  alu.adjustScalarMinMaxVals(ALU.NEG, n, n, false);
  assert.equal(p(n), 'scalar(smin=smin32=-9,smax=smax32=0)');
  const sw = op(scalar.unknown(), ALU.AND, 255);
  alu.adjustScalarMinMaxVals(ALU.END, sw, sw, false, { toLe: true, imm: 64 });
  assert.equal(
    p(sw),
    'scalar(smax=0x7f00000000000000,umax=0xff00000000000000,smin32=0,smax32=umax32=0,var_off=(0x0; 0xff00000000000000))',
  );
  const be = scalar.unknown();
  alu.adjustScalarMinMaxVals(ALU.END, be, be, true, { toLe: false, imm: 32 });
  assert.equal(p(be), 'scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))');
  assert.equal(p(scalar.known(u64.fromU32(-267))), '0xfffffef5'); // w6 = -267 (ALU32 mov: zero-extended)
  assert.equal(p(K(0xffffffffc213e738n)), '0xffffffffc213e738');
  assert.equal(p(K(-1n)), '-1');
  assert.equal(print.scalarState(K(1n), { precise: true }), 'P1');
  assert.equal(print.scalarState(scalar.unknown(), { id: 1 }), 'scalar(id=1)');
  const r8 = op(scalar.unknown(), ALU.AND, 191);
  assert.equal(
    print.scalarState(r8, { id: 2, addConstOff: 0 }),
    'scalar(id=2+0,smin=smin32=0,smax=umax=smax32=umax32=191,var_off=(0x0; 0xbf))',
  );
});

test('printing: hex for values beyond s16/u16 and no merging of negative with positive', () => {
  assert.equal(print.snum(u(32767n)), '32767');
  assert.equal(print.snum(u(32768n)), '0x8000');
  assert.equal(print.snum(u(-32768n & M64)), '-32768');
  assert.equal(print.snum(u(-32769n & M64)), '0xffffffffffff7fff');
  assert.equal(print.unum(u(65535n)), '65535');
  assert.equal(print.unum(u(65536n)), '0x10000');
  // MOVSX on an unknown, as the kernel printed `w7 = (s16)w6` and `r8 = (s8)r6`
  assert.equal(
    print.scalarState(coerce.movSx64(scalar.unknown(), 8)),
    'scalar(smin=smin32=-128,smax=smax32=127)',
  );
  assert.equal(
    print.scalarState(coerce.movSx32(scalar.unknown(), 16)),
    'scalar(smin=0,smax=umax=0xffffffff,smin32=-32768,smax32=32767,var_off=(0x0; 0xffffffff))',
  );
});
