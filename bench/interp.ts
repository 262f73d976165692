// Interpreter throughput: eBPF instructions executed per second on three compute loops.
// Run: node --import tsx bench/interp.ts [--unchecked] [--quick]
import { assembleConformance } from '../src/isa/asm/conformance.ts';
import { Vm } from '../src/vm/index.ts';
import { computeLoops, cpuMs, type LoopCase } from './loops.ts';

const quick = process.argv.includes('--quick');
const SCALE = quick ? 0.1 : 1;

function bench(c: LoopCase, checked: boolean): { mips: number; ms: number; insns: number } {
  const vm = new Vm({ checked });
  const prog = vm.load(assembleConformance(c.asm, { file: c.name }), { name: c.name });
  const want = c.expect();
  let best = Number.POSITIVE_INFINITY;
  let insns = 0;
  for (let rep = 0; rep < (quick ? 2 : 5); rep++) {
    const t = cpuMs();
    const r = vm.run(prog);
    best = Math.min(best, cpuMs() - t);
    if (r.value !== want) throw new Error(`${c.name}: r0 = ${r.value}, want ${want}`);
    insns = r.insns;
  }
  return { mips: insns / best / 1000, ms: best, insns };
}

const modes = process.argv.includes('--unchecked') ? [false] : [true, false];
for (const checked of modes) {
  for (const c of computeLoops(SCALE)) {
    const { mips, ms, insns } = bench(c, checked);
    const mode = checked ? 'checked  ' : 'unchecked';
    const detail = `${(insns / 1e6).toFixed(1)} M insns in ${ms.toFixed(1)} ms CPU`;
    console.log(`${mode} ${c.name.padEnd(30)} ${mips.toFixed(1).padStart(7)} M insns/s  (${detail})`);
  }
}
