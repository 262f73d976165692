// LEB128 writers against a BigInt reference decoder, and the builder's section layout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from '../../src/jit/wasm/encoder.ts';
import { FuncBody, ModuleBuilder } from '../../src/jit/wasm/module.ts';
import { prng } from './gen.ts';

function decodeSigned(bytes: Uint8Array): bigint {
  let v = 0n;
  let shift = 0n;
  for (const b of bytes) {
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) {
      if (b & 0x40) v -= 1n << shift;
      return v;
    }
  }
  throw new Error('unterminated LEB128');
}

test('sleb64 round-trips edge and random values', () => {
  const rnd = prng(3);
  const values: bigint[] = [
    0n,
    1n,
    -1n,
    63n,
    64n,
    -64n,
    -65n,
    2n ** 31n,
    -(2n ** 31n),
    2n ** 63n - 1n,
    -(2n ** 63n),
  ];
  for (let i = 0; i < 2000; i++) values.push(BigInt.asIntN(64, (BigInt(rnd()) << 32n) | BigInt(rnd())));
  for (const v of values) {
    const w = new ByteWriter();
    w.sleb64(Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
    const bytes = w.finish();
    assert.equal(decodeSigned(bytes), v);
    assert.ok(bytes.length <= 10);
  }
});

test('sleb32 and uleb match the reference', () => {
  for (const v of [0, 1, -1, 63, 64, -64, -65, 0x7fffffff, -0x80000000, 1234567]) {
    const w = new ByteWriter();
    w.sleb32(v);
    assert.equal(decodeSigned(w.finish()), BigInt(v));
  }
  const w = new ByteWriter();
  w.uleb(0xffffffff);
  assert.deepEqual([...w.finish()], [0xff, 0xff, 0xff, 0xff, 0x0f]);
});

test('a built module validates and runs', () => {
  const mb = new ModuleBuilder();
  const f = new FuncBody(1);
  f.get(0);
  f.i64(5, 0);
  f.op(0x7c); // i64.add
  f.op(0x0b);
  mb.exportFunc('add5', mb.addFunc({ params: [0x7e], results: [0x7e] }, f));
  const { bytes } = mb.finish();
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
  assert.equal((inst.exports.add5 as (x: bigint) => bigint)(37n), 42n);
});
