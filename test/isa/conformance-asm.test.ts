// Every file of the vendored conformance corpus parses and assembles; lddw.data's raw words
// equal the assembly's encoding (README: "the two give identical encodings").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AsmError } from '../../src/errors.ts';
import { assembleConformance, parseConformanceFile } from '../../src/isa/asm/conformance.ts';
import { encodeProgram, slotWord } from '../../src/isa/encode.ts';
import * as op from '../../src/isa/opcode.ts';
import { validateProgram } from '../../src/isa/valid.ts';
import { SHARED_DIR } from '../shared-dir.ts';

const dir = `${SHARED_DIR}/conformance/tests`;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.data'))
  .sort();

test('corpus has 313 files', () => {
  assert.equal(files.length, 313);
});

test('every conformance file parses and assembles', () => {
  let memFiles = 0;
  for (const f of files) {
    const t = parseConformanceFile(readFileSync(join(dir, f), 'latin1'), f);
    if (t.mem.length) memFiles++;
    const insns = assembleConformance(t.asm, { file: f });
    assert.ok(insns.length > 0, f);
    assert.equal(encodeProgram(insns).length, insns.length * 8);
    validateProgram(insns, { file: f });
  }
  assert.equal(memFiles, 40); // README: 40 files have -- mem
});

test('lddw.data: raw words equal the assembly encoding', () => {
  const t = parseConformanceFile(readFileSync(join(dir, 'lddw.data'), 'latin1'), 'lddw.data');
  assert.ok(t.raw);
  assert.equal(t.result, 0x1122334455667788n);
  const insns = assembleConformance(t.asm);
  assert.deepEqual(insns.map(slotWord), t.raw);
});

test('hand-checked encodings from the README table', () => {
  const enc = (s: string) => slotWord(assembleConformance(s)[0]!);
  // mov %r0, 0x80000000 in a 64-bit op: imm keeps the raw 32-bit pattern.
  assert.equal(enc('mov %r0, 0x80000000'), 0x80000000_000000b7n);
  assert.equal(enc('sdiv32 %r1, %r2'), 0x00000000_0001213cn);
  assert.equal(enc('movsx1632 %r4, %r3'), 0x00000000_001034bcn);
  assert.equal(enc('be16 %r3'), 0x00000010_000003dcn);
  assert.equal(enc('bswap64 %r3'), 0x00000040_000003d7n);
  assert.equal(enc('lock fetch add32 [%r10-4], %r1'), 0x00000001_fffc1ac3n);
  assert.equal(enc('lock cmpxchg [%r10-8], %r1'), 0x000000f1_fff81adbn);
  assert.equal(enc('call %r2'), 0x00000000_0000028dn);
  assert.equal(enc('ldxsh %r0, [%r10-2]'), 0x00000000_fffea089n);
  assert.equal(enc('stw [%r1+0x10], -1'), 0xffffffff_00100162n);
  const [ja32] = assembleConformance('ja32 +3\nexit\nexit\nexit\nexit');
  assert.deepEqual(ja32, { code: op.OP_JA32, dst: 0, src: 0, off: 0, imm: 3 });
});

test('labels: implicit exit, local call, backward jumps', () => {
  const p = assembleConformance('jeq %r1, 0, exit\ncall local f\nexit\nf:\nja -4');
  assert.equal(p[0]!.off, 1); // to slot 2
  assert.deepEqual([p[1]!.src, p[1]!.imm], [1, 1]); // slot 3
  assert.equal(p[3]!.off, -4);
});

test('errors carry the line', () => {
  const cases: [string, RegExp, number][] = [
    ['mov %r0, 1\nmov %r11, 1', /unknown register/, 2],
    ['\n\nfoo %r0', /unknown mnemonic/, 3],
    ['ja nowhere', /not defined/, 1],
    ['mov %r0, 0x100000000', /32 bits/, 1],
    ['mov %r0, 2147483648', /int32/, 1],
    ['ldxw %r0, [%r1+40000]', /16 bits/, 1],
    ['add %r0', /2 operands/, 1],
    ['mov %r0, 1\nmov %r10, 1', /r10/, 2],
    ['exit\nja +5', /out of range/, 2],
  ];
  for (const [src, re, line] of cases) {
    assert.throws(
      () => assembleConformance(src, { file: 'x.data' }),
      (e: unknown) =>
        e instanceof AsmError && re.test(e.message) && e.where.line === line && e.where.file === 'x.data',
      src,
    );
  }
});

test('parse errors: missing sections, bad result', () => {
  assert.throws(() => parseConformanceFile('-- result\n0x1\n', 'a'), AsmError);
  assert.throws(() => parseConformanceFile('-- asm\nexit\n', 'a'), AsmError);
  assert.throws(() => parseConformanceFile('-- asm\nexit\n-- result\nzz\n', 'a'), /bad result/);
  const t = parseConformanceFile(
    '# c\r\n-- asm\r\nexit # done\r\n-- mem\r\n01 ff\r\n-- result\r\n0\r\n',
    'a',
  );
  assert.deepEqual([...t.mem], [1, 255]);
  assert.equal(t.result, 0n);
  assert.equal(t.asm.split('\n')[2], 'exit'); // line numbers kept
});
