// The isa-v4 example (clang -mcpu=v4: ALU32, JMP32, SDIV/SMOD, sign-extending loads,
// MOVSX, BSWAP, atomic fetch ops, xchg, cmpxchg) run by the kernel on edge-case and
// random operands; each of its 40 results is recomputed with BigInt (isa-v4-model.ts)
// from the C semantics the source states.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { le, M32, M64, model, u64 } from './isa-v4-model.ts';
import { hexToBytes, leHex, prepareKobj, runKobj } from './kobj.ts';

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
