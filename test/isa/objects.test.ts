// Real clang-built objects (examples/, test/fixtures/): every code section decodes, and its
// LLVM-syntax disassembly assembles back to the same bytes. When llvm-objdump-19 is present,
// our instruction count per section matches its listing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assemble } from '../../src/isa/asm/llvm.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import { disassemble } from '../../src/isa/disasm.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { OP_LDDW } from '../../src/isa/opcode.ts';
import { codeSections } from './elf-code.ts';

const root = new URL('../..', import.meta.url).pathname;

function objects(dir: string, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) objects(p, out);
    else if (n.endsWith('.o')) out.push(p);
  }
  return out;
}

const files = [...objects(join(root, 'examples')), ...objects(join(root, 'test/fixtures'))].sort();

function objdumpCounts(file: string): Map<string, number> | undefined {
  try {
    const text = execFileSync('llvm-objdump-19', ['-d', '--no-show-raw-insn', file], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const counts = new Map<string, number>();
    let section = '';
    for (const line of text.split('\n')) {
      const s = /^Disassembly of section (.*):$/.exec(line);
      if (s) section = s[1]!;
      else if (/^\s*\d+:\s/.test(line)) counts.set(section, (counts.get(section) ?? 0) + 1);
    }
    return counts;
  } catch {
    return undefined;
  }
}

test('example and fixture objects: decode, disassemble, assemble back', {
  skip: files.length ? false : 'no objects',
}, () => {
  let slots = 0;
  let sections = 0;
  for (const f of files) {
    const counts = objdumpCounts(f);
    for (const sec of codeSections(new Uint8Array(readFileSync(f)))) {
      const where = { file: f, section: sec.name };
      const insns = decodeProgram(sec.bytes, where, { unlinked: true });
      const text = disassemble(insns, { labels: true });
      assert.deepEqual(
        encodeProgram(assemble(text, { file: `${f}:${sec.name}` }, { unlinked: true })),
        sec.bytes,
        `${f} ${sec.name}`,
      );
      if (counts) {
        const ours = insns.length - insns.filter((i) => i.code === OP_LDDW).length;
        assert.equal(ours, counts.get(sec.name), `${f} ${sec.name}: instruction count vs llvm-objdump`);
      }
      slots += insns.length;
      sections++;
    }
  }
  assert.ok(sections >= files.length, `${sections} sections`);
  assert.ok(slots > 1000, `${slots} slots`);
});
