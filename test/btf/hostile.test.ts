// Hand-built BTF that would make naive graph walks exponential or unbounded: every query must
// either answer or throw BtfError, promptly (the test runner's timeout is the only clock).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { btfToJson, formatBtf, parseBtf } from '../../src/btf/index.ts';
import { BtfError } from '../../src/errors.ts';

/** Encodes types (already laid out as u32 words) and a string table into a .BTF section. */
function encodeBtf(words: number[], strings: string[]): Uint8Array {
  const str = `\0${strings.join('\0')}\0`;
  const typeLen = words.length * 4;
  const out = new Uint8Array(24 + typeLen + str.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, str.length, true);
  words.forEach((w, i) => {
    dv.setUint32(24 + i * 4, w >>> 0, true);
  });
  for (let i = 0; i < str.length; i++) out[24 + typeLen + i] = str.charCodeAt(i);
  return out;
}

const info = (kind: number, vlen: number, kflag = 0) => (kflag << 31) | (kind << 24) | vlen;

test('a deep DAG of anonymous structs (2 members each) stays fast for every query', () => {
  // [1] int; [2..N+1]: struct {anon a; anon b} where anon = next struct; the last holds two ints.
  const N = 30;
  const words: number[] = [1, info(1, 0), 4, (1 << 24) | 32]; // "int" at name offset 1
  for (let i = 0; i < N; i++) {
    const id = 2 + i;
    const member = i === N - 1 ? 1 : id + 1;
    // Sizes are not consistent (that is the point: hostile input), only offsets are aligned.
    words.push(0, info(4, 2), 8);
    // Anonymous member at bit 0, except in the innermost struct: an int named "missing2".
    words.push(i === N - 1 ? 10 : 0, member, 0);
    words.push(0, member, 32); // and another one at bit 32
  }
  // A named root so the dumper prints the whole thing.
  words.push(5, info(4, 1), 8, 0, 2, 0); // "root" at name offset 5
  const btf = parseBtf(encodeBtf(words, ['int', 'root', 'missing2']));
  const root = btf.typeByName('root', 'struct');
  assert.throws(() => btf.memberOffset(root.id, 'missing'), BtfError);
  assert.equal(btf.alignof(root.id), 4);
  assert.equal(btf.sizeof(root.id), 8);
  // Found through 30 levels of anonymous members, on the first path tried.
  assert.equal(btf.memberOffset(root.id, 'missing2').bitOffset, 0);
  // The C dump inlines anonymous structs 2^30 times over: it must give up, not run out of memory.
  assert.throws(
    () => formatBtf(btf),
    (e: unknown) => e instanceof BtfError && /exceed/.test(e.message),
  );
  assert.equal(btfToJson(btf).types.length, N + 2);
});

test('a struct of absurd size does not print gigabytes of padding', () => {
  // [1] int; [2] struct big { int x; } with size 2^31.
  const words = [1, info(1, 0), 4, (1 << 24) | 32, 5, info(4, 1), 0x80000000, 7, 1, 0];
  const btf = parseBtf(encodeBtf(words, ['int', 'big', 'x']));
  assert.throws(
    () => formatBtf(btf, { file: 'x.o' }),
    (e: unknown) => e instanceof BtfError && e.where.file === 'x.o',
  );
});

test('typedef cycles and self-containing arrays are reported', () => {
  // [1] typedef a → [2], [2] typedef b → [1]; [3] array of [3].
  const words = [1, info(8, 0), 2, 3, info(8, 0), 1, 0, info(3, 0), 0, 3, 3, 5];
  const btf = parseBtf(encodeBtf(words, ['a', 'b']));
  assert.throws(() => btf.resolve(1), BtfError);
  assert.throws(() => btf.sizeof(3), BtfError);
  assert.throws(() => btf.alignof(3), BtfError);
  assert.ok(typeof formatBtf(btf) === 'string', 'the dumper prints what it can');
});
