// The allocation-free fast paths of the scalar domain against BigInt references of the kernel's
// formulas: tnum_mul() on halves, scalar_min_max_{add,sub}() with their overflow checks on halves,
// reg_bounds_sync()'s early return for states it cannot change, and the shared immediates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { immOperand, sharedKnownS32, sharedKnownU32 } from '../../../src/verifier/check/imm.ts';
import { alu, scalar, tnum, u64 } from '../../../src/verifier/domain/index.ts';
import type { Scalar, Tnum } from '../../../src/verifier/domain/index.ts';
import { big, describe, int, M64, prng, type Rnd, sample, u, value } from './gen.ts';

interface BigTnum {
  v: bigint;
  m: bigint;
}
const toBig = (t: Tnum): BigTnum => ({ v: big(tnum.value(t)), m: big(tnum.mask(t)) });

// kernel/bpf/tnum.c on BigInt: tnum_add(), tnum_union(), tnum_mul()
function refAdd(a: BigTnum, b: BigTnum): BigTnum {
  const sm = (a.m + b.m) & M64;
  const sv = (a.v + b.v) & M64;
  const sigma = (sm + sv) & M64;
  const mu = (sigma ^ sv) | a.m | b.m;
  return { v: sv & ~mu & M64, m: mu };
}
function refUnion(a: BigTnum, b: BigTnum): BigTnum {
  const mu = (a.v ^ b.v) | a.m | b.m;
  return { v: a.v & b.v & ~mu & M64, m: mu };
}
function refMul(a: BigTnum, b: BigTnum): BigTnum {
  let acc: BigTnum = { v: 0n, m: 0n };
  while (a.v || a.m) {
    if (a.v & 1n) acc = refAdd(acc, b);
    else if (a.m & 1n) acc = refUnion(acc, refAdd(acc, b));
    a = { v: a.v >> 1n, m: a.m >> 1n };
    b = { v: (b.v << 1n) & M64, m: (b.m << 1n) & M64 };
  }
  return acc;
}

function randomTnum(rnd: Rnd): Tnum {
  const k = int(rnd, 4);
  const mask = k === 0 ? 0n : k === 1 ? value(rnd) & 0xffn : value(rnd);
  return tnum.of(u(value(rnd) & ~mask & M64), u(mask));
}

test('tnum.mul on halves equals the kernel formula on BigInt', () => {
  const rnd = prng(0x6d756c);
  for (let i = 0; i < 4000; i++) {
    const a = randomTnum(rnd);
    const b = randomTnum(rnd);
    const got = toBig(tnum.mul(a, b));
    const want = refMul(toBig(a), toBig(b));
    assert.deepEqual(got, want, `mul ${tnum.strn(a)} * ${tnum.strn(b)}`);
  }
  // the kernel comment's example, 11 * x1 = x0x1 ... and an all-unknown operand stays unknown
  assert.equal(tnum.strn(tnum.mul(tnum.of(u(1n), u(2n)), tnum.of(u(3n), u(0n)))), '(0x1; 0xa)');
  assert.ok(tnum.isUnknown(tnum.mul(tnum.unknown, tnum.of(u(3n), u(0n)))));
});

const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;
const sx = (v: bigint): bigint => BigInt.asIntN(64, v);

/** scalar_min_max_add()/sub() on BigInt: [smin, smax, umin, umax] as u64 bit patterns. */
function refAddSub(dst: Scalar, src: Scalar, sub: boolean): bigint[] {
  const [dsmin, dsmax, dumin, dumax] = [sx(big(dst.smin)), sx(big(dst.smax)), big(dst.umin), big(dst.umax)];
  const [ssmin, ssmax, sumin, sumax] = [sx(big(src.smin)), sx(big(src.smax)), big(src.umin), big(src.umax)];
  const lo = sub ? dsmin - ssmax : dsmin + ssmin;
  const hi = sub ? dsmax - ssmin : dsmax + ssmax;
  const sOk = lo >= S64_MIN && lo <= S64_MAX && hi >= S64_MIN && hi <= S64_MAX;
  const ulo = sub ? dumin - sumax : dumin + sumin;
  const uhi = sub ? dumax - sumin : dumax + sumax;
  const wraps = (x: bigint): boolean => x < 0n || x > M64;
  // add: only "max wraps, min does not" loses the order; sub: only "min wraps, max does not"
  const uLost = sub ? wraps(ulo) && !wraps(uhi) : !wraps(ulo) && wraps(uhi);
  return [
    sOk ? lo & M64 : 1n << 63n,
    sOk ? hi & M64 : S64_MAX,
    uLost ? 0n : ulo & M64,
    uLost ? M64 : uhi & M64,
  ];
}

/** Bounds drawn independently: many overflow on one end only. */
function randomBounds(rnd: Rnd): Scalar {
  const r = scalar.unknown();
  r.smin = u(value(rnd));
  r.smax = u(value(rnd));
  r.umin = u(value(rnd));
  r.umax = u(value(rnd));
  return r;
}

test('scalar_min_max_add/sub on halves equal the BigInt overflow rules', () => {
  const rnd = prng(0x616464);
  for (let i = 0; i < 20000; i++) {
    const dst = rnd() < 0.5 ? randomBounds(rnd) : sample(rnd).state;
    const src = rnd() < 0.5 ? randomBounds(rnd) : sample(rnd).state;
    for (const sub of [false, true]) {
      const d = scalar.copy(dst);
      if (sub) alu.scalarMinMaxSub(d, src);
      else alu.scalarMinMaxAdd(d, src);
      const got = [d.smin, d.smax, d.umin, d.umax].map(big);
      assert.deepEqual(
        got,
        refAddSub(dst, src, sub),
        `${sub ? 'sub' : 'add'} ${describe(dst)} ${describe(src)}`,
      );
    }
  }
  // `r += r`: the source read before any bound is written
  const r = scalar.copy(randomBounds(prng(7)));
  const want = refAddSub(r, r, false);
  alu.scalarMinMaxAdd(r, r);
  assert.deepEqual([r.smin, r.smax, r.umin, r.umax].map(big), want);
});

/** reg_bounds_sync() from the object-based steps, as test/verifier/domain/sync.test.ts does. */
function referenceSync(r: Scalar): void {
  scalar.updateReg32Bounds(r);
  scalar.updateReg64Bounds(r);
  for (let round = 0; round < 3; round++) {
    const before = scalar.copy(r);
    scalar.regDeduceBounds(r);
    if (scalar.equals(before, r)) break;
  }
  scalar.regBoundOffset(r);
  scalar.updateReg32Bounds(r);
  scalar.updateReg64Bounds(r);
}

test('regBoundsSync on constants (also with 32-bit bounds forgotten) and unknowns equals the full sync, near misses too', () => {
  const rnd = prng(0x73796e);
  const states: Scalar[] = [scalar.unknown()];
  for (let i = 0; i < 2000; i++) states.push(scalar.known(u(value(rnd))));
  for (let i = 0; i < 2000; i++) {
    // a constant pointer offset after adjust_ptr_min_max_vals(): 32-bit bounds forgotten
    const r = scalar.known(u(value(rnd)));
    scalar.mark32Unbounded(r);
    states.push(r);
  }
  for (let i = 0; i < 2000; i++) {
    // one field of a fixed point moved: the early return must not take these
    const r = rnd() < 0.5 ? scalar.known(u(value(rnd))) : scalar.unknown();
    const v = u(value(rnd));
    switch (int(rnd, 9)) {
      case 0:
        r.umin = v;
        break;
      case 1:
        r.umax = v;
        break;
      case 2:
        r.smin = v;
        break;
      case 3:
        r.smax = v;
        break;
      case 4:
        r.u32min = v.lo;
        break;
      case 5:
        r.u32max = v.lo;
        break;
      case 6:
        r.s32min = v.lo | 0;
        break;
      case 7:
        r.s32max = v.lo | 0;
        break;
      default:
        r.varOff = tnum.of(tnum.value(r.varOff), u64.make(tnum.mask(r.varOff).lo, 1));
    }
    states.push(r);
  }
  for (const r of states) {
    const fast = scalar.copy(r);
    const ref = scalar.copy(r);
    scalar.regBoundsSync(fast);
    referenceSync(ref);
    assert.ok(
      scalar.equals(fast, ref),
      `sync ${describe(r)}\n fast ${describe(fast)}\n  ref ${describe(ref)}`,
    );
    const up = scalar.copy(r);
    const upRef = scalar.copy(r);
    scalar.updateRegBounds(up);
    scalar.updateReg32Bounds(upRef);
    scalar.updateReg64Bounds(upRef);
    assert.ok(scalar.equals(up, upRef), `updateRegBounds ${describe(r)}`);
  }
});

test('shared immediates are the kernel operands and are reused', () => {
  for (const imm of [0, 1, -1, 0x7fffffff, -0x80000000, 4096, -4096]) {
    const op = immOperand(imm);
    assert.equal(op.type, 'SCALAR_VALUE');
    assert.equal(op.id, 0);
    assert.ok(scalar.equals(op.s, scalar.known(u64.fromS32(imm))), `operand ${imm}`);
    assert.equal(immOperand(imm), op, 'one object per value');
    assert.ok(scalar.equals(sharedKnownS32(imm), scalar.known(u64.fromS32(imm))));
    assert.ok(scalar.equals(sharedKnownU32(imm), scalar.known(u64.fromU32(imm >>> 0))));
  }
  // -1 sign-extends to all ones, zero-extends to u32 max
  assert.equal(big(sharedKnownS32(-1).umax), M64);
  assert.equal(big(sharedKnownU32(-1).umax), 0xffffffffn);
});
