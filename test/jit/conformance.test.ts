// The bpf_conformance corpus through the JIT (checked and unchecked) and the interpreter: r0
// must equal `-- result`, and the engines must agree on r0, memory and faults.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assembleConformance, parseConformanceFile } from '../../src/isa/asm/conformance.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { JitEngine } from '../../src/jit/index.ts';
import { Vm } from '../../src/vm/index.ts';
import { SHARED_DIR } from '../shared-dir.ts';

const dir = `${SHARED_DIR}/conformance/tests`;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.data'))
  .sort();

/** `-- raw` words are slots read as little-endian u64. */
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

const jit = new JitEngine();
const interp = new Vm({ seed: 1 });
const jitVms = [new Vm({ seed: 1, engine: jit.run }), new Vm({ seed: 1, engine: jit.run, checked: false })];

type Outcome = { r0: string; insns: number; mem: string } | { fault: string };

function runOn(vm: Vm, insns: Insn[], mem: Uint8Array, name: string): Outcome {
  const prog = vm.load(insns, { name });
  const len = mem.length;
  const buf = len > 0 ? vm.arena.alloc(len, 8, { kind: 'mem', writable: true, name: 'mem' }) : 0;
  try {
    if (len > 0) vm.arena.write(buf, mem);
    const r = vm.run(prog, { args: [buf, len] });
    return {
      r0: `0x${r.value.toString(16)}`,
      insns: r.insns,
      mem: Buffer.from(vm.arena.read(buf, len)).toString('hex'),
    };
  } catch (e) {
    return { fault: e instanceof Error ? `${e.constructor.name}` : String(e) };
  } finally {
    if (len > 0) vm.arena.freeBlock(buf);
  }
}

let passed = 0;
for (const f of files) {
  test(f, () => {
    const t = parseConformanceFile(readFileSync(join(dir, f), 'latin1'), f);
    const insns = t.raw ? fromRaw(t.raw) : assembleConformance(t.asm, { file: f });
    const ref = runOn(interp, insns, t.mem, f);
    for (const vm of jitVms) {
      const got = runOn(vm, insns, t.mem, f);
      if ('r0' in got) assert.equal(got.r0, `0x${t.result.toString(16)}`);
      assert.deepEqual(got, ref);
    }
    passed++;
  });
}

after(() => {
  assert.equal(jit.stats.interpreted, 0, 'every run went through compiled code');
  const s = jit.stats;
  console.log(
    `jit conformance: ${passed}/${files.length}, ${s.compiles} modules in ${s.compileMs.toFixed(1)} ms`,
  );
});
