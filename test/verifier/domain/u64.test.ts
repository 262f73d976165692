import assert from 'node:assert/strict';
import { test } from 'node:test';
import { u64 } from '../../../src/verifier/domain/index.ts';
import { big, M64, prng, s64, u, value } from './gen.ts';

test('u64: constants and conversions', () => {
  assert.equal(big(u64.MAX), M64);
  assert.equal(big(u64.S64_MIN), 1n << 63n);
  assert.equal(big(u64.S64_MAX), (1n << 63n) - 1n);
  assert.equal(big(u64.fromS32(-1)), M64);
  assert.equal(big(u64.fromS32(0x7fffffff)), 0x7fffffffn);
  assert.equal(big(u64.fromU32(-1)), 0xffffffffn);
  assert.equal(big(u64.fromNumber(-2)), M64 - 1n);
  assert.equal(big(u64.fromNumber(2 ** 53 - 1)), 2n ** 53n - 1n);
  assert.throws(() => u64.fromNumber(2 ** 53), RangeError);
  assert.equal(u64.toNumberU(u64.fromNumber(123456789012)), 123456789012);
  assert.equal(u64.toNumberU(u64.MAX), undefined);
  assert.equal(u64.toNumberS(u64.MAX), -1);
  assert.equal(u64.toBigIntS(u64.S64_MIN), -(1n << 63n));
});

test('u64: printing like the kernel (%#llx, decimal)', () => {
  assert.equal(u64.toHex(u64.ZERO), '0x0');
  assert.equal(u64.toHex(u64.fromNumber(255)), '0xff');
  assert.equal(u64.toHex(u64.fromBigInt(0xffffffff00000001n)), '0xffffffff00000001');
  assert.equal(u64.toHex(u64.fromBigInt(0x100000000n)), '0x100000000');
  assert.equal(u64.toDecS(u64.MAX), '-1');
  assert.equal(u64.toDecU(u64.MAX), '18446744073709551615');
});

test('u64: fls (kernel fls64)', () => {
  assert.equal(u64.fls(u64.ZERO), 0);
  assert.equal(u64.fls(u64.ONE), 1);
  assert.equal(u64.fls(u64.fromNumber(4)), 3);
  assert.equal(u64.fls(u64.fromBigInt(1n << 32n)), 33);
  assert.equal(u64.fls(u64.MAX), 64);
});

test('u64: arithmetic agrees with BigInt on 20000 sampled pairs', () => {
  const rnd = prng(7);
  for (let i = 0; i < 20000; i++) {
    const a = value(rnd);
    const b = value(rnd);
    const A = u(a);
    const B = u(b);
    const n = Math.floor(rnd() * 64);
    const ctx = `a=${a} b=${b} n=${n}`;
    assert.equal(big(u64.add(A, B)), (a + b) & M64, ctx);
    assert.equal(big(u64.sub(A, B)), (a - b) & M64, ctx);
    assert.equal(big(u64.mul(A, B)), (a * b) & M64, ctx);
    assert.equal(big(u64.neg(A)), -a & M64, ctx);
    assert.equal(big(u64.and(A, B)), a & b, ctx);
    assert.equal(big(u64.or(A, B)), a | b, ctx);
    assert.equal(big(u64.xor(A, B)), a ^ b, ctx);
    assert.equal(big(u64.not(A)), ~a & M64, ctx);
    assert.equal(big(u64.shl(A, n)), (a << BigInt(n)) & M64, ctx);
    assert.equal(big(u64.shr(A, n)), a >> BigInt(n), ctx);
    assert.equal(big(u64.sar(A, n)), BigInt.asUintN(64, s64(a) >> BigInt(n)), ctx);
    assert.equal(u64.cmpU(A, B), a < b ? -1 : a > b ? 1 : 0, ctx);
    assert.equal(u64.cmpS(A, B), s64(a) < s64(b) ? -1 : s64(a) > s64(b) ? 1 : 0, ctx);
    assert.equal(u64.uaddOverflows(A, B), a + b > M64, ctx);
    assert.equal(u64.usubOverflows(A, B), a < b, ctx);
    const sa = s64(a);
    const sb = s64(b);
    const inS64 = (x: bigint) => x >= -(1n << 63n) && x < 1n << 63n;
    assert.equal(u64.saddOverflows(A, B), !inS64(sa + sb), ctx);
    assert.equal(u64.ssubOverflows(A, B), !inS64(sa - sb), ctx);
    assert.equal(u64.umulOverflows(A, B), a * b > M64, ctx);
    assert.equal(u64.smulOverflows(A, B), !inS64(sa * sb), ctx);
  }
});

test('u64: signed multiply overflow at the S64_MIN edge', () => {
  const min = u64.S64_MIN;
  assert.equal(u64.smulOverflows(min, u64.ONE), false);
  assert.equal(u64.smulOverflows(min, u64.MAX), true); // -2^63 * -1 = 2^63
  assert.equal(u64.smulOverflows(u64.fromBigInt(1n << 62n), u64.fromNumber(-2)), false); // = -2^63
  assert.equal(u64.smulOverflows(u64.fromBigInt(1n << 62n), u64.fromNumber(2)), true);
});
