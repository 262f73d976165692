// domain/sync.ts (reg_bounds_sync() on plain numbers) against the object-based steps it replaces
// (scalar.ts's updateReg32Bounds(), updateReg64Bounds(), regDeduceBounds(), regBoundOffset(),
// composed as the kernel's reg_bounds_sync()), on sound states and on arbitrary, possibly
// contradictory ones (dead branches produce those, and the sanity check must see the same).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scalar, tnum, u64 } from '../../../src/verifier/domain/index.ts';
import type { Scalar } from '../../../src/verifier/domain/index.ts';
import { describe, int, prng, type Rnd, sample, u, value } from './gen.ts';

/** The reference: reg_bounds_sync() written with the object-based steps, as before sync.ts. */
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

/** Bounds drawn independently of each other and of the tnum: often contradictory. */
function arbitrary(rnd: Rnd): Scalar {
  const r = scalar.unknown();
  const pick = () => u(value(rnd));
  if (rnd() < 0.8) {
    // a well-formed tnum: no bit both known and unknown
    const mask = rnd() < 0.3 ? u64.ZERO : pick();
    r.varOff = tnum.of(u64.and(pick(), u64.not(mask)), mask);
  }
  if (rnd() < 0.6) r.umin = pick();
  if (rnd() < 0.6) r.umax = pick();
  if (rnd() < 0.6) r.smin = pick();
  if (rnd() < 0.6) r.smax = pick();
  if (rnd() < 0.6) r.u32min = pick().lo;
  if (rnd() < 0.6) r.u32max = pick().lo;
  if (rnd() < 0.6) r.s32min = pick().lo | 0;
  if (rnd() < 0.6) r.s32max = pick().lo | 0;
  return r;
}

function check(r: Scalar, what: string): void {
  const fast = scalar.copy(r);
  const ref = scalar.copy(r);
  scalar.regBoundsSync(fast);
  referenceSync(ref);
  assert.ok(
    scalar.equals(fast, ref),
    `${what}: ${describe(r)}\n fast ${describe(fast)}\n  ref ${describe(ref)}`,
  );
  const up = scalar.copy(r);
  const upRef = scalar.copy(r);
  scalar.updateRegBounds(up);
  scalar.updateReg32Bounds(upRef);
  scalar.updateReg64Bounds(upRef);
  assert.ok(scalar.equals(up, upRef), `updateRegBounds ${what}: ${describe(r)}`);
}

test('regBoundsSync on numbers equals the object-based steps on 20,000 sound states', () => {
  const rnd = prng(7);
  for (let i = 0; i < 20000; i++) {
    const s = scalar.copy(sample(rnd).state);
    // narrow one bound the way a branch does, so the sync has something to learn
    const k = int(rnd, 5);
    if (k === 0) s.umax = u(value(rnd));
    else if (k === 1) s.smin = u(value(rnd));
    else if (k === 2) s.u32max = u(value(rnd)).lo;
    else if (k === 3) s.s32min = u(value(rnd)).lo | 0;
    check(s, `sound #${i}`);
  }
});

test('regBoundsSync on numbers equals the object-based steps on 20,000 arbitrary states', () => {
  const rnd = prng(11);
  for (let i = 0; i < 20000; i++) check(arbitrary(rnd), `arbitrary #${i}`);
});

test('regBoundsSync: a u64 range [5, 5] makes a constant of an unknown register', () => {
  const r = scalar.unknown();
  r.umin = u(5n);
  r.umax = u(5n);
  scalar.regBoundsSync(r);
  assert.ok(tnum.isConst(r.varOff));
  assert.deepEqual([r.varOff.vLo, r.s32min, r.u32max, u64.toBigInt(r.smax)], [5, 5, 5, 5n]);
});
