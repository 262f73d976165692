import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32, mulberry32Below, mulberry32Float } from './prng.ts';

test('mulberry32 gives the reference sequence for seed 0', () => {
  // The first outputs of mulberry32 for seed 0, computed independently with Python's
  // arbitrary-precision integers masked to 32 bits.
  const next = mulberry32(0);
  assert.deepEqual([next(), next(), next()], [1144304738, 1416247, 958946056]);
});

test('the float and remainder forms follow the same sequence', () => {
  const u = mulberry32(42);
  const f = mulberry32Float(42);
  const b = mulberry32Below(42);
  for (let i = 0; i < 100; i++) {
    const x = u();
    assert.ok(x >= 0 && x < 2 ** 32 && Number.isInteger(x));
    assert.equal(f(), x / 2 ** 32);
    assert.equal(b(1000), x % 1000);
  }
});
