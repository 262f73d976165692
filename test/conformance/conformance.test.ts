// Runs every file of the vendored bpf_conformance corpus through the interpreter, with the
// calling convention of /work/shared/conformance/README.md: r1 = address of a writable copy of
// `-- mem`, r2 = its length; the full 64-bit r0 must equal `-- result`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assembleConformance, parseConformanceFile } from '../../src/isa/asm/conformance.ts';
import { TsbpfError } from '../../src/errors.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { Vm } from '../../src/vm/index.ts';
import { SHARED_DIR } from '../shared-dir.ts';

const dir = `${SHARED_DIR}/conformance/tests`;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.data'))
  .sort();

/** `-- raw` words are slots read as little-endian u64. */
function fromRaw(words: readonly bigint[]): Insn[] {
  const bytes = new Uint8Array(words.length * 8);
  const dv = new DataView(bytes.buffer);
  words.forEach((w, k) => {
    dv.setBigUint64(k * 8, BigInt.asUintN(64, w), true);
  });
  return decodeProgram(bytes);
}

// One VM for the whole corpus: it also exercises arena reuse (alloc/free per test).
const vm = new Vm({ seed: 1 });
// The unchecked path (for verified code) must give the same results.
const fast = new Vm({ seed: 1, checked: false });
let passed = 0;

for (const f of files) {
  test(f, () => {
    const t = parseConformanceFile(readFileSync(join(dir, f), 'latin1'), f);
    const len = t.mem.length;
    const buf = len > 0 ? vm.arena.alloc(len, 8, { kind: 'mem', writable: true, name: 'mem' }) : 0;
    try {
      if (len > 0) vm.arena.write(buf, t.mem);
      const run = () => {
        const insns = t.raw ? fromRaw(t.raw) : assembleConformance(t.asm, { file: f });
        return vm.run(vm.load(insns, { name: f }), { args: [buf, len] });
      };
      if (t.error !== undefined) {
        // Upstream compares the plugin's message; ours differ, so only the failure is checked.
        assert.throws(run, TsbpfError);
        passed++;
        return;
      }
      const r = run();
      assert.equal(`0x${r.value.toString(16)}`, `0x${t.result.toString(16)}`);
      const copy = len > 0 ? fast.arena.alloc(len, 8, { kind: 'mem', writable: true }) : 0;
      if (len > 0) fast.arena.write(copy, t.mem);
      const insns = t.raw ? fromRaw(t.raw) : assembleConformance(t.asm, { file: f });
      const u = fast.run(fast.load(insns, { name: f }), { args: [copy, len] });
      if (len > 0) fast.arena.free(copy);
      assert.equal(u.value, r.value, 'unchecked mode');
      passed++;
    } finally {
      if (len > 0) vm.arena.freeBlock(buf);
    }
  });
}

after(() => {
  console.log(`conformance: ${passed}/${files.length} passed`);
});
