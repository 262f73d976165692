// Runs every file of the vendored bpf_conformance corpus through the interpreter, with the
// calling convention of /work/shared/conformance/README.md: r1 = address of a writable copy of
// `-- mem`, r2 = its length; the full 64-bit r0 must equal `-- result`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assembleConformance, parseConformanceFile } from '../../src/isa/asm/conformance.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { Vm } from '../../src/vm/index.ts';

const dir = '/work/shared/conformance/tests';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.data'))
  .sort();

/** `-- raw` words are slots read as little-endian u64 (README: bits 0-7 opcode, 8-11 dst, ...). */
function fromRaw(words: readonly bigint[]): Insn[] {
  const out: Insn[] = [];
  for (const w of words) {
    const i: Insn = {
      code: Number(w & 0xffn),
      dst: Number((w >> 8n) & 0xfn),
      src: Number((w >> 12n) & 0xfn),
      off: Number(BigInt.asIntN(16, w >> 16n)),
      imm: Number(BigInt.asIntN(32, w >> 32n)),
    };
    const prev = out[out.length - 1];
    if (prev && prev.code === 0x18 && prev.imm64Hi === undefined && i.code === 0) prev.imm64Hi = i.imm;
    out.push(i);
  }
  return out;
}

// One VM for the whole corpus: it also exercises arena reuse (alloc/free per test).
const vm = new Vm({ seed: 1 });
let passed = 0;

for (const f of files) {
  test(f, () => {
    const t = parseConformanceFile(readFileSync(join(dir, f), 'latin1'), f);
    const insns = t.raw ? fromRaw(t.raw) : assembleConformance(t.asm, { file: f });
    const prog = vm.load(insns, { name: f });
    const len = t.mem.length;
    const buf = len > 0 ? vm.arena.alloc(len, 8, { kind: 'mem', writable: true, name: 'mem' }) : 0;
    try {
      if (len > 0) vm.arena.write(buf, t.mem);
      const r = vm.run(prog, { args: [buf, len] });
      assert.equal(`0x${r.value.toString(16)}`, `0x${t.result.toString(16)}`);
      passed++;
    } finally {
      if (len > 0) vm.arena.freeBlock(buf);
    }
  });
}

after(() => {
  console.log(`conformance: ${passed}/${files.length} passed`);
});
