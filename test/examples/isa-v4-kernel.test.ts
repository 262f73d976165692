// The isa-v4 example (clang -mcpu=v4: ALU32, JMP32, SDIV/SMOD, sign-extending loads,
// MOVSX, BSWAP, atomic fetch ops, xchg, cmpxchg) run by the kernel on edge-case and
// random operands; each of its 40 results is recomputed here with BigInt from the C
// semantics the source states.  tsbpf's interpreter and JIT can reuse model().
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hexToBytes, leHex, prepareKobj, runKobj } from './kobj.ts';

const M64 = (1n << 64n) - 1n;
const M32 = (1n << 32n) - 1n;
const u64 = (v: bigint) => BigInt.asUintN(64, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);
const s = (bits: number, v: bigint) => BigInt.asIntN(bits, v);
const le = (p: Uint8Array, off: number, size: number) => {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(p[off + i]!);
  return v;
};
const bswap = (v: bigint, bytes: number) => {
  let r = 0n;
  for (let i = 0; i < bytes; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
};
// C's truncating division and remainder on signed values (BigInt / truncates too).
const sdiv = (x: bigint, y: bigint) => x / y;
const smod = (x: bigint, y: bigint) => x % y;

export function model(p: Uint8Array): bigint[] {
  const a = le(p, 0, 8);
  const b = le(p, 8, 8);
  const c = le(p, 16, 4);
  const d = le(p, 20, 4);
  const r: bigint[] = [];
  r[0] = u32(c * d);
  const dd = d | 1n;
  r[1] = c / dd;
  r[2] = c % dd;
  r[3] = c >> (d & 31n);
  r[4] = u32(s(32, c) >> (d & 31n));
  r[5] = u32(c + d - (c ^ d));
  r[6] = u32(-c);
  let sb = s(64, b | 1n);
  if (sb === -1n) sb = 3n;
  r[7] = u64(sdiv(s(64, a), sb));
  r[8] = u64(smod(s(64, a), sb));
  let sd = s(32, d | 1n);
  if (sd === -1n) sd = 3n;
  r[9] = u32(sdiv(s(32, c), sd));
  r[10] = u32(smod(s(32, c), sd));
  r[11] = u64(s(8, le(p, 24, 1)));
  r[12] = u64(s(16, le(p, 26, 2)));
  r[13] = u64(s(32, le(p, 28, 4)));
  r[14] = u64(s(8, a));
  r[15] = u64(s(16, a));
  r[16] = u64(s(32, a));
  r[17] = u32(s(8, c));
  r[18] = u32(s(16, c));
  r[19] = bswap(a & 0xffffn, 2);
  r[20] = bswap(a & M32, 4);
  r[21] = bswap(a, 8);
  const [sc, sdd] = [s(32, c), s(32, d)];
  const conds = [c === d, c !== d, c > d, c >= d, c < d, c <= d, sc > sdd, sc >= sdd, sc < sdd, sc <= sdd];
  conds.push((c & d) !== 0n, sc < 0n);
  r[22] = conds.reduce((m, t, i) => (t ? m | (1n << BigInt(i)) : m), 0n);
  const [sa, sbb] = [s(64, a), s(64, b)];
  r[23] = (sa < sbb ? 1n : 0n) | (sa > sbb ? 2n : 0n) | (a < b ? 4n : 0n);
  let x = a;
  const step64 = (next: bigint) => {
    const old = x;
    x = u64(next);
    return old;
  };
  r[24] = step64(x + b);
  r[25] = step64(x | (c << 32n));
  r[26] = step64(x & (~d & M64));
  r[27] = step64(x ^ 0xff00ff00ff00ff00n);
  r[28] = step64(b);
  r[29] = step64(x === b ? a : x); // cmpxchg(b -> a)
  r[30] = step64(x === (~a & M64) ? 7n : x); // cmpxchg(~a -> 7): never equal
  x = u64(x + 1n);
  r[31] = x;
  let y = c;
  const step32 = (next: bigint) => {
    const old = y;
    y = u32(next);
    return old;
  };
  r[32] = step32(y + d);
  r[33] = step32(y | 0x80000001n);
  r[34] = step32(y & d);
  r[35] = step32(y ^ c);
  r[36] = step32(d);
  r[37] = step32(y === d ? c : y);
  r[38] = y;
  r[39] = 40n;
  return r;
}

function prng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t ^= t << 13;
    t ^= t >>> 17;
    t ^= t << 5;
    t >>>= 0;
    return t & 0xff;
  };
}

function inputs(): Uint8Array[] {
  const fromWords = (a: bigint, b: bigint, c: bigint, d: bigint, tail: bigint) =>
    hexToBytes(leHex(a, 8) + leHex(b, 8) + leHex(c, 4) + leHex(d, 4) + leHex(tail, 8) + '00'.repeat(32));
  const edge = [
    fromWords(0n, 0n, 0n, 0n, 0n),
    fromWords(M64, M64, M32, M32, M64), // b | 1 = -1 and d | 1 = -1: the guards
    fromWords(1n << 63n, 1n, 1n << 31n, 1n, 0x8000_7fff_80_7fn),
    fromWords(0x0123456789abcdefn, 0xfedcba9876543210n, 0x80000000n, 0x7fffffffn, 0x80_ff_8001_80000001n),
    fromWords(12345n, (1n << 64n) - 7n, 0xfffffff9n, 5n, 0x7f_80_7fff_7fffffffn),
    fromWords(5n, 5n, 5n, 5n, 5n),
  ];
  const rnd = prng(0xc0ffee);
  const random = Array.from({ length: 24 }, () => Uint8Array.from({ length: 64 }, rnd));
  return [...edge, ...random];
}

const skip = prepareKobj();
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-isa-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('model sanity: known values', () => {
  const p = hexToBytes(
    leHex(-7n & M64, 8) +
      leHex(2n, 8) +
      leHex(0xfffffff9n, 4) +
      leHex(2n, 4) +
      leHex(0xff_80_0080_fffffffen, 8),
  );
  const r = model(p);
  assert.equal(r[7], u64(-2n)); // -7 / 3 (b | 1 = 3) truncates toward zero
  assert.equal(r[8], u64(-1n)); // remainder takes the dividend's sign
  assert.equal(r[11], u64(-2n)); // byte 0xfe
  assert.equal(r[21], 0xf9ffffffffffffffn);
});

test('kernel: isa_v4 results match the model on edge and random operands', { skip }, () => {
  inputs().forEach((p, n) => {
    const f = join(tmp, `${n}.bin`);
    writeFileSync(f, p);
    const r = runKobj(['--run', 'isa_v4', '--data', f, '--dump-maps', 'examples/isa-v4/isa_v4.bpf.o']);
    assert.equal(r.retval, 2, `input ${n}: ${r.stdout}`);
    const got = model(p).map((_, i) => {
      const v = r.mapValues.get('results')?.get(leHex(i, 4))?.[0];
      assert.ok(v, `input ${n}: results[${i}] missing`);
      return le(hexToBytes(v), 0, 8);
    });
    const want = model(p);
    want.forEach((w, i) => {
      assert.equal(
        got[i],
        w,
        `input ${n}, result ${i}: kernel 0x${got[i]!.toString(16)}, model 0x${w.toString(16)}`,
      );
    });
  });
});
