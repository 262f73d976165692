import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tnum, u64 } from '../../../src/verifier/domain/index.ts';
import type { Tnum } from '../../../src/verifier/domain/index.ts';
import { big, int, M32, M64, prng, s32, s64, tnumOf, u, valueSet } from './gen.ts';
import type { Rnd } from './gen.ts';

const T = (v: bigint, m: bigint): Tnum => tnum.of(u(v), u(m));
const str = (t: Tnum): string => `(${u64.toHex(tnum.value(t))}; ${u64.toHex(tnum.mask(t))})`;

// Expected values below are worked by hand from the formulas in kernel/bpf/tnum.c.

test('tnum: constructors', () => {
  assert.equal(str(tnum.range(u(0n), u(2n))), '(0x0; 0x3)'); // chi=2, fls=2, delta=3
  assert.equal(str(tnum.range(u(4n), u(7n))), '(0x4; 0x3)');
  assert.equal(str(tnum.range(u(5n), u(5n))), '(0x5; 0x0)'); // min == max: a constant
  assert.ok(tnum.isUnknown(tnum.range(u(0n), u(M64)))); // fls64 = 64: special case
  assert.ok(tnum.isUnknown(tnum.range(u(1n), u(1n << 63n))));
  assert.ok(tnum.isConst(tnum.constant(u(42n))));
});

test('tnum: arithmetic examples', () => {
  // add: sm=3, sv=1, sigma=4, chi=5, mu=7
  assert.equal(str(tnum.add(T(0n, 3n), T(1n, 0n))), '(0x0; 0x7)');
  // sub: dv=16, alpha=16, beta=15, chi=31
  assert.equal(str(tnum.sub(T(16n, 0n), T(0n, 1n))), '(0x0; 0x1f)');
  // neg of the constant 1 is the constant -1
  assert.equal(str(tnum.neg(T(1n, 0n))), '(0xffffffffffffffff; 0x0)');
  // mul, the kernel comment's example: 11 * x1 = union(0011, 1001) = x0x1
  assert.equal(str(tnum.mul(T(1n, 2n), T(3n, 0n))), '(0x1; 0xa)');
  assert.equal(str(tnum.mul(T(6n, 0n), T(7n, 0n))), '(0x2a; 0x0)'); // constants multiply exactly
});

test('tnum: bitwise and set examples', () => {
  assert.equal(str(tnum.and(T(1n, 2n), T(3n, 0n))), '(0x1; 0x2)');
  assert.equal(str(tnum.or(T(0n, 3n), T(4n, 0n))), '(0x4; 0x3)');
  assert.equal(str(tnum.xor(T(1n, 2n), T(3n, 0n))), '(0x0; 0x2)');
  assert.equal(str(tnum.intersect(T(1n, 2n), T(0n, 3n))), '(0x1; 0x2)');
  // disagreeing known bits: the kernel's intersect says known 1
  assert.equal(str(tnum.intersect(T(1n, 0n), T(2n, 0n))), '(0x3; 0x0)');
  assert.equal(str(tnum.union(T(1n, 0n), T(2n, 0n))), '(0x0; 0x3)');
  assert.ok(tnum.overlap(T(1n, 2n), T(3n, 0n)));
  assert.ok(!tnum.overlap(T(1n, 2n), T(0n, 0n)));
});

test('tnum: shifts, casts, subregisters, byte swaps', () => {
  assert.equal(str(tnum.lshift(T(1n, 2n), 4)), '(0x10; 0x20)');
  assert.equal(str(tnum.rshift(T(0x10n, 0x20n), 4)), '(0x1; 0x2)');
  assert.equal(str(tnum.arshift(T(0x80000000n, 0n), 4, 32)), '(0xf8000000; 0x0)');
  assert.equal(str(tnum.arshift(T(1n << 63n, 0n), 4, 64)), '(0xf800000000000000; 0x0)');
  assert.equal(str(tnum.arshift(T(0n, 1n << 63n), 1, 64)), '(0x0; 0xc000000000000000)');
  assert.equal(str(tnum.cast(T(0x123456789abc00f0n, 0xff00n), 2)), '(0xf0; 0xff00)');
  assert.equal(str(tnum.cast(T(0x123456789abc00f0n, 0xff00n), 5)), '(0x789abc00f0; 0xff00)');
  assert.equal(str(tnum.subreg(T(0x500000001n, 0x200000002n))), '(0x1; 0x2)');
  assert.equal(str(tnum.clearSubreg(T(0x500000001n, 0x200000002n))), '(0x500000000; 0x200000000)');
  assert.equal(str(tnum.withSubreg(T(0x500000001n, 0n), T(0x7n, 0x8n))), '(0x500000007; 0x8)');
  assert.equal(str(tnum.constSubreg(T(0x500000001n, 0x10n), 0xffffffff)), '(0x5ffffffff; 0x0)');
  assert.ok(tnum.subregIsConst(T(0x5n, 0x100000000n)));
  assert.equal(str(tnum.bswap16(T(0x1200n, 0xffn))), '(0x12; 0xff00)');
  assert.equal(str(tnum.bswap32(T(0x11223300n, 0x44n))), '(0x332211; 0x44000000)');
  assert.equal(str(tnum.bswap64(T(0x0102030405060708n, 0n))), '(0x807060504030201; 0x0)');
});

test('tnum: predicates and printing', () => {
  assert.ok(tnum.isIn(T(0n, 3n), T(2n, 0n)));
  assert.ok(!tnum.isIn(T(0n, 3n), T(4n, 0n)));
  assert.ok(!tnum.isIn(T(0n, 3n), T(0n, 4n)));
  // the kernel header's warning: tnum_range(0, 2) holds 3 as well
  assert.ok(tnum.isIn(tnum.range(u(0n), u(2n)), tnum.constant(u(3n))));
  assert.ok(tnum.isAligned(T(8n, 0x30n), u(8n)));
  assert.ok(!tnum.isAligned(T(8n, 0x30n), u(16n)));
  assert.ok(tnum.isAligned(T(1n, 0n), u(0n)));
  assert.equal(tnum.strn(T(0n, 0xffn)), '(0x0; 0xff)');
  assert.equal(tnum.strn(T(5n, 0n)), '5');
  assert.equal(tnum.strn(T(65535n, 0n)), '65535');
  assert.equal(tnum.strn(T(0x10000n, 0n)), '0x10000');
  assert.equal(tnum.strn(tnum.unknown), '(0x0; 0xffffffffffffffff)');
  assert.equal(tnum.sbin(T(1n, 2n)), `${'0'.repeat(62)}x1`);
  assert.equal(tnum.sbin(T(1n << 63n, 1n)), `1${'0'.repeat(62)}x`);
});

test('tnum: step (smallest member above z), the kernel comment example and brute force', () => {
  // t = x11100x0, z = 241 -> 242
  assert.equal(big(tnum.step(T(0b01110000n, 0b10000010n), u(241n))), 242n);
  const rnd = prng(11);
  for (let i = 0; i < 3000; i++) {
    // masks with few bits, so that members can be listed
    let m = 0n;
    for (let k = 0; k < 1 + int(rnd, 8); k++) m |= 1n << BigInt(int(rnd, 64));
    const v = (BigInt(int(rnd, 1 << 30)) * BigInt(int(rnd, 1 << 30)) * BigInt(int(rnd, 64) + 1)) & M64 & ~m;
    const members: bigint[] = [];
    for (let s = m; ; s = (s - 1n) & m) {
      members.push(v | s);
      if (s === 0n) break;
    }
    members.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const t = T(v, m);
    const tmax = v | m;
    const probes = [0n, v, tmax, M64, members[int(rnd, members.length)]!, (v + BigInt(int(rnd, 1000))) & M64];
    for (const z of probes) {
      const want = z >= tmax ? tmax : z < v ? v : members.find((x) => x > z)!;
      assert.equal(big(tnum.step(t, u(z))), want, `t=${str(t)} z=${z}`);
    }
  }
});

/** A random member of t. */
function member(rnd: Rnd, t: Tnum): bigint {
  const m = big(tnum.mask(t));
  const r = (BigInt(int(rnd, 2 ** 32)) << 32n) | BigInt(int(rnd, 2 ** 32));
  return big(tnum.value(t)) | (r & m);
}

function randomTnum(rnd: Rnd): { t: Tnum; vals: bigint[] } {
  const vals = valueSet(rnd);
  const t = tnumOf(vals);
  return { t, vals };
}

test('tnum: every operation contains the concrete results (sampled, 6000 pairs)', () => {
  const rnd = prng(3);
  const has = (t: Tnum, x: bigint, what: string) =>
    assert.ok(tnum.contains(t, u(x & M64)), `${what}: ${x & M64} not in ${str(t)}`);
  for (let i = 0; i < 6000; i++) {
    const A = randomTnum(rnd);
    const B = randomTnum(rnd);
    const a = rnd() < 0.5 ? A.vals[int(rnd, A.vals.length)]! : member(rnd, A.t);
    const b = rnd() < 0.5 ? B.vals[int(rnd, B.vals.length)]! : member(rnd, B.t);
    const ctx = `A=${str(A.t)} B=${str(B.t)} a=${a} b=${b}`;
    has(tnum.add(A.t, B.t), a + b, `add ${ctx}`);
    has(tnum.sub(A.t, B.t), a - b, `sub ${ctx}`);
    has(tnum.mul(A.t, B.t), a * b, `mul ${ctx}`);
    has(tnum.neg(A.t), -a, `neg ${ctx}`);
    has(tnum.and(A.t, B.t), a & b, `and ${ctx}`);
    has(tnum.or(A.t, B.t), a | b, `or ${ctx}`);
    has(tnum.xor(A.t, B.t), a ^ b, `xor ${ctx}`);
    has(tnum.union(A.t, B.t), a, `union ${ctx}`);
    has(tnum.union(A.t, B.t), b, `union ${ctx}`);
    if (tnum.contains(B.t, u(a))) has(tnum.intersect(A.t, B.t), a, `intersect ${ctx}`);
    const n = int(rnd, 64);
    has(tnum.lshift(A.t, n), a << BigInt(n), `lshift ${n} ${ctx}`);
    has(tnum.rshift(A.t, n), a >> BigInt(n), `rshift ${n} ${ctx}`);
    has(tnum.arshift(A.t, n, 64), s64(a) >> BigInt(n), `arshift64 ${n} ${ctx}`);
    const n32 = int(rnd, 32);
    has(tnum.arshift(tnum.subreg(A.t), n32, 32), (s32(a) >> BigInt(n32)) & M32, `arshift32 ${n32} ${ctx}`);
    const size = 1 + int(rnd, 8);
    has(tnum.cast(A.t, size), a & ((1n << BigInt(size * 8)) - 1n), `cast ${size} ${ctx}`);
    has(tnum.withSubreg(A.t, B.t), (a & ~M32) | (b & M32), `with_subreg ${ctx}`);
    // biome-ignore lint/complexity/useMathMinMax: bigint operands
    const lo = a < b ? a : b;
    // biome-ignore lint/complexity/useMathMinMax: bigint operands
    const hi = a < b ? b : a;
    has(tnum.range(u(lo), u(hi)), lo + ((hi - lo) >> 1n), `range ${ctx}`);
    const sw = (x: bigint, bytes: number) => {
      let r = 0n;
      for (let k = 0; k < bytes; k++) r |= ((x >> BigInt(8 * k)) & 0xffn) << BigInt(8 * (bytes - 1 - k));
      return r;
    };
    has(tnum.bswap16(A.t), sw(a & 0xffffn, 2), `bswap16 ${ctx}`);
    has(tnum.bswap32(A.t), sw(a & M32, 4), `bswap32 ${ctx}`);
    has(tnum.bswap64(A.t), sw(a, 8), `bswap64 ${ctx}`);
  }
});
