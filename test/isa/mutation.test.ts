// Garbage in, only InputError out: random and mutated bytes and text never crash the decoders/assemblers.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors.ts';
import { assembleConformance, parseConformanceFile } from '../../src/isa/asm/conformance.ts';
import { assembleAuto } from '../../src/isa/asm/index.ts';
import { assemble } from '../../src/isa/asm/llvm.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import { disassemble, formatKernelInsn } from '../../src/isa/disasm.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { prng, randomProgram } from './gen.ts';
import { SHARED_DIR } from '../shared-dir.ts';

/** Runs f; returns true if it succeeded, false if it threw an InputError; fails the test otherwise. */
function onlyInputErrors(f: () => unknown, what: () => string): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (e instanceof InputError) {
      assert.ok(e.message.length > 0);
      return false;
    }
    assert.fail(`${what()} threw ${e instanceof Error ? e.stack : String(e)}`);
  }
}

test('decodeProgram: 1500 random and mutated byte strings', () => {
  const rand = prng(99);
  let ok = 0;
  let rejected = 0;
  for (let k = 0; k < 1500; k++) {
    let bytes: Uint8Array;
    if (k % 3 === 0) {
      bytes = new Uint8Array(Math.floor(rand() * 80));
      for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(rand() * 256);
    } else {
      bytes = encodeProgram(randomProgram(rand, 1 + Math.floor(rand() * 20)));
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips && bytes.length; f++)
        bytes[Math.floor(rand() * bytes.length)] ^= 1 << Math.floor(rand() * 8);
      if (k % 7 === 0) bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
    }
    const passed = onlyInputErrors(
      () => {
        const p = decodeProgram(bytes, { file: 'fuzz' });
        // Whatever decodes must print and re-encode to the same bytes.
        assert.deepEqual(encodeProgram(p), bytes);
        for (let idx = 0; idx < p.length; idx++) formatKernelInsn(p, idx);
        assert.deepEqual(encodeProgram(assemble(disassemble(p))), bytes);
      },
      () => Buffer.from(bytes).toString('hex'),
    );
    if (passed) ok++;
    else rejected++;
  }
  // Both outcomes must occur, or the fuzzer is not exercising anything.
  assert.ok(ok > 100 && rejected > 100, `ok ${ok}, rejected ${rejected}`);
});

const ALPHABET = ' \t\n,:+-*()[]#;%rw0123456789xabcdefghijklmnopqrstuvwxyz=<>&|^!s_.ll';

function mutateText(rand: () => number, s: string): string {
  const chars = [...s];
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (chars.length + 1));
    const r = rand();
    const ch = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
    if (r < 0.33) chars.splice(at, 1);
    else if (r < 0.66) chars.splice(at, 0, ch);
    else chars[at] = ch;
  }
  return chars.join('');
}

test('assemblers: 1500 mutated LLVM and conformance texts', () => {
  const rand = prng(7);
  const dir = `${SHARED_DIR}/conformance/tests`;
  const corpus = readdirSync(dir)
    .filter((f) => f.endsWith('.data'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'latin1'));
  let rejected = 0;
  for (let k = 0; k < 1500; k++) {
    let text: string;
    if (k % 2 === 0) text = mutateText(rand, disassemble(randomProgram(rand, 8), { labels: rand() < 0.5 }));
    else text = mutateText(rand, corpus[Math.floor(rand() * corpus.length)]!);
    const show = () => JSON.stringify(text);
    if (!onlyInputErrors(() => assemble(text, { file: 'f.s' }), show)) rejected++;
    onlyInputErrors(() => assembleAuto(text, 'f'), show);
    onlyInputErrors(() => parseConformanceFile(text, 'f.data'), show);
    onlyInputErrors(() => assembleConformance(text, { file: 'f.data' }), show);
  }
  assert.ok(rejected > 500, `rejected ${rejected}`);
});

test('printers never throw, even on slots that do not decode', () => {
  const rand = prng(31337);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  let invalid = 0;
  for (let k = 0; k < 300; k++) {
    const p = Array.from({ length: int(1, 6) }, () => ({
      code: int(0, 255),
      dst: int(0, 15),
      src: int(0, 15),
      off: int(-32768, 32767),
      imm: int(-(2 ** 31), 2 ** 31 - 1),
    }));
    for (const opts of [{}, { labels: true, slotNumbers: true, helperNames: true }]) {
      const text = disassemble(p, opts);
      assert.equal(typeof text, 'string');
      if (text.includes('<invalid')) invalid++;
    }
    for (let idx = 0; idx < p.length; idx++)
      assert.match(formatKernelInsn(p, idx), /^(\([0-9a-f]{2}\) |BUG_)/);
  }
  assert.ok(invalid > 0);
});
