// Round trips between bytes, Insn[], conformance text and LLVM text.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assembleConformance, parseConformanceFile } from '../../src/isa/asm/conformance.ts';
import { assembleAuto } from '../../src/isa/asm/index.ts';
import { assemble } from '../../src/isa/asm/llvm.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import { disassemble } from '../../src/isa/disasm.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import * as op from '../../src/isa/opcode.ts';
import { VALID_OPCODES } from '../../src/isa/valid.ts';
import { prng, randomProgram } from './gen.ts';
import { SHARED_DIR } from '../shared-dir.ts';

const dir = `${SHARED_DIR}/conformance/tests`;
const files = readdirSync(dir).filter((f) => f.endsWith('.data'));

test('conformance corpus: bytes → text → bytes is the identity, in every disassembly mode', () => {
  assert.equal(files.length, 313);
  for (const f of files) {
    const t = parseConformanceFile(readFileSync(join(dir, f), 'latin1'), f);
    const bytes = encodeProgram(assembleConformance(t.asm, { file: f }));
    const insns = decodeProgram(bytes, { file: f });
    for (const opts of [{}, { labels: true }, { slotNumbers: true, helperNames: true }]) {
      const text = disassemble(insns, opts);
      assert.deepEqual(encodeProgram(assemble(text, { file: f })), bytes, `${f} ${JSON.stringify(opts)}`);
    }
    // The whole .data file also goes through dialect detection.
    assert.deepEqual(encodeProgram(assembleAuto(readFileSync(join(dir, f), 'latin1'), f)), bytes, f);
  }
});

test('random programs: decode∘encode and assemble∘disassemble are identities (≥ 5000 insns, all opcodes)', () => {
  const rand = prng(0x5eed);
  const seen = new Set<number>();
  let count = 0;
  for (let round = 0; round < 60; round++) {
    const p = randomProgram(rand, 100);
    for (const i of p) if (i.code) seen.add(i.code);
    count += p.length;
    const bytes = encodeProgram(p);
    const back = decodeProgram(bytes);
    assert.deepEqual(back, p);
    assert.deepEqual(encodeProgram(back), bytes);
    for (const opts of [{}, { labels: true, slotNumbers: true, helperNames: true }]) {
      const text = disassemble(p, opts);
      assert.deepEqual(assemble(text), p, text);
    }
  }
  assert.ok(count >= 5000, `${count} slots`);
  assert.deepEqual(
    [...VALID_OPCODES].filter((c) => !seen.has(c)),
    [],
    'every valid opcode was generated',
  );
});

/** Bytes of .text from an ELF64 little-endian relocatable object. */
function elfText(obj: Uint8Array): Uint8Array {
  const v = new DataView(obj.buffer, obj.byteOffset, obj.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  const sec = (k: number) => {
    const at = shoff + k * shentsize;
    return {
      name: v.getUint32(at, true),
      off: Number(v.getBigUint64(at + 0x18, true)),
      size: Number(v.getBigUint64(at + 0x20, true)),
    };
  };
  const strs = sec(shstrndx);
  for (let k = 0; k < shnum; k++) {
    const s = sec(k);
    let name = '';
    for (let c = strs.off + s.name; obj[c]; c++) name += String.fromCharCode(obj[c]!);
    if (name === '.text') return obj.subarray(s.off, s.off + s.size);
  }
  throw new Error('no .text');
}

function hasLlvmMc(): boolean {
  try {
    execFileSync('llvm-mc-19', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('llvm-mc-19 assembles our disassembly to the same bytes', {
  skip: hasLlvmMc() ? false : 'llvm-mc-19 not installed',
}, () => {
  const rand = prng(1234);
  const p = randomProgram(rand, 600, { llvmSafe: true });
  const classes = new Set(p.map((i) => op.cls(i.code)));
  assert.equal(classes.size, 8);
  const work = mkdtempSync(join(tmpdir(), 'tsbpf-llvm-'));
  try {
    writeFileSync(join(work, 'p.s'), `${disassemble(p)}\n`);
    execFileSync('llvm-mc-19', [
      '-triple',
      'bpfel',
      '-mcpu=v4',
      '-filetype=obj',
      join(work, 'p.s'),
      '-o',
      join(work, 'p.o'),
    ]);
    const got = elfText(new Uint8Array(readFileSync(join(work, 'p.o'))));
    const want = encodeProgram(p);
    assert.equal(got.length, want.length);
    for (let slot = 0; slot < want.length / 8; slot++) {
      const a = Buffer.from(got.subarray(slot * 8, slot * 8 + 8)).toString('hex');
      const b = Buffer.from(want.subarray(slot * 8, slot * 8 + 8)).toString('hex');
      assert.equal(a, b, `slot ${slot}: ${disassemble([p[slot]!, p[slot + 1] ?? p[slot]!]).split('\n')[0]}`);
    }
    // And the other way: llvm-objdump's own listing (hex immediates, w registers, `<.text+0x..>`
    // jump comments, slot prefixes) goes through our assembler to the same bytes.
    const listing = execFileSync(
      'llvm-objdump-19',
      ['-d', '--no-show-raw-insn', '--mcpu=v4', join(work, 'p.o')],
      {
        encoding: 'utf8',
      },
    );
    const body = listing
      .split('\n')
      .filter((l) => /^\s*\d+:\s/.test(l))
      .join('\n');
    assert.deepEqual(encodeProgram(assemble(body)), want);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
