// JIT throughput: the compute loops of bench/interp.ts through the Wasm JIT, compile time per
// 1,000 instructions, and the per-run overhead of an XDP_PASS program.
// Run: node --import tsx bench/jit.ts [--quick] [--dispatch] [--loop-budget]
import { assembleConformance } from '../src/isa/asm/conformance.ts';
import type { Insn } from '../src/isa/insn.ts';
import { JitEngine } from '../src/jit/index.ts';
import { compile } from '../src/jit/compile.ts';
import { Vm } from '../src/vm/index.ts';
import { computeLoops, cpuMs, type LoopCase } from './loops.ts';

const quick = process.argv.includes('--quick');
const dispatch = process.argv.includes('--dispatch');
const exactBudget = !process.argv.includes('--loop-budget');

// The loops of bench/loops.ts (shared with bench/interp.ts) plus a call-heavy one.
const SCALE = quick ? 0.1 : 1;

const N4 = Math.round(1_000_000 * SCALE);
const calls: LoopCase = {
  name: 'bpf-to-bpf call per iteration',
  asm: `
    mov %r6, ${N4}
    mov %r7, 0
  loop:
    mov %r1, %r6
    call local f
    add %r7, %r0
    sub %r6, 1
    jne %r6, 0, loop
    mov %r0, %r7
    exit
  f:
    mov %r0, %r1
    mul %r0, 3
    add %r0, 1
    exit`,
  // sum over k = 1..N of 3k + 1
  expect: () => (3n * BigInt(N4) * BigInt(N4 + 1)) / 2n + BigInt(N4),
};

const cases = [...computeLoops(SCALE), calls];

function throughput(checked: boolean): void {
  const jit = new JitEngine({ dispatch, exactBudget });
  for (const c of cases) {
    const vm = new Vm({ checked, engine: jit.run });
    const prog = vm.load(assembleConformance(c.asm, { file: c.name }), { name: c.name });
    const want = c.expect();
    let best = Number.POSITIVE_INFINITY;
    let insns = 0;
    for (let rep = 0; rep < (quick ? 3 : 6); rep++) {
      const t = cpuMs();
      const r = vm.run(prog);
      best = Math.min(best, cpuMs() - t);
      if (r.value !== want) throw new Error(`${c.name}: r0 = ${r.value}, want ${want}`);
      insns = r.insns;
    }
    const mode = checked ? 'checked  ' : 'unchecked';
    const detail = `${(insns / 1e6).toFixed(1)} M insns in ${best.toFixed(1)} ms CPU`;
    console.log(
      `jit ${mode} ${c.name.padEnd(30)} ${(insns / best / 1000).toFixed(1).padStart(7)} M insns/s  (${detail})`,
    );
  }
}

/** A straight-line program of n instructions with forward branches, as clang emits a lot of. */
function bigProgram(n: number): Insn[] {
  const lines: string[] = ['mov %r0, 0', 'mov %r2, 7'];
  for (let i = 0; lines.length < n - 1; i++) {
    const r = 1 + (i % 5);
    lines.push(`add %r${r}, ${i}`, `xor %r0, %r${r}`, `stxdw [%r10-${8 + 8 * (i % 16)}], %r0`);
    lines.push(`ldxdw %r3, [%r10-${8 + 8 * ((i + 3) % 16)}]`, `jgt %r3, %r2, +1`, `mul %r0, 3`);
  }
  lines.push('exit');
  return assembleConformance(lines.join('\n'), { file: 'big' });
}

function compileTime(): void {
  const vm = new Vm();
  const progs = [1000, 10000, 100000].map((n) => vm.load(bigProgram(n), { name: `big${n}` }));
  // The first compiles also run our code generator cold (before V8 optimizes it): report
  // the first one, then the best of several warm ones.
  for (const [k, prog] of progs.entries()) {
    const first = compile(prog, { checked: false, dispatch });
    const reps = k === 2 ? 8 : 20;
    let best = first;
    for (let rep = 0; rep < reps; rep++) {
      const c = compile(prog, { checked: false, dispatch });
      if (c.compileMs < best.compileMs) best = c;
    }
    const per = (ms: number) => ((ms * 1000) / prog.len).toFixed(3);
    console.log(
      `compile ${String(prog.len).padStart(6)} insns: first ${first.compileMs.toFixed(2)} ms, best ${best.compileMs.toFixed(2)} ms = ${per(best.compileMs)} ms per 1,000 insns (code generation ${per(best.codegenMs)}, WebAssembly.Module the rest; ${best.wasmBytes} Wasm bytes)`,
    );
  }
  // V8's fixed cost per module dominates small programs.
  const tiny = Array.from({ length: 200 }, (_, i) =>
    vm.load(assembleConformance(`mov %r0, ${i}\nexit`, { file: 'tiny' }), { name: 'tiny' }),
  );
  let total = 0;
  let gen = 0;
  for (const p of tiny) {
    const c = compile(p, { checked: false, dispatch });
    total += c.compileMs;
    gen += c.codegenMs;
  }
  console.log(
    `compile 2-insn programs: ${(total / tiny.length).toFixed(3)} ms each (code generation ${(gen / tiny.length).toFixed(3)} ms)`,
  );
}

function overhead(): void {
  const pass = assembleConformance('mov %r0, 2\nexit', { file: 'xdp_pass' });
  for (const checked of [true, false]) {
    const jit = new JitEngine();
    const vm = new Vm({ checked, engine: jit.run });
    const prog = vm.load(pass, { name: 'xdp_pass' });
    const lo = new Int32Array(16);
    const hi = new Int32Array(16);
    const N = quick ? 200_000 : 2_000_000;
    let best = Number.POSITIVE_INFINITY;
    for (let rep = 0; rep < 5; rep++) {
      const t = performance.now();
      for (let i = 0; i < N; i++) {
        lo[0] = 0;
        hi[0] = 0;
        lo[10] = vm.stackTop;
        lo[1] = 4096;
        jit.run(vm, prog, lo, hi, 0);
      }
      best = Math.min(best, performance.now() - t);
    }
    if (lo[0] !== 2) throw new Error('xdp_pass returned the wrong value');
    let bestVm = Number.POSITIVE_INFINITY;
    for (let rep = 0; rep < 3; rep++) {
      const t = performance.now();
      for (let i = 0; i < N / 4; i++) vm.run(prog, { args: [4096] });
      bestVm = Math.min(bestVm, performance.now() - t);
    }
    const mode = checked ? 'checked  ' : 'unchecked';
    console.log(
      `per-run ${mode} XDP_PASS: ${((best * 1e6) / N).toFixed(1)} ns engine call, ${((bestVm * 1e6) / (N / 4)).toFixed(1)} ns Vm.run`,
    );
  }
}

throughput(false);
throughput(true);
compileTime();
overhead();
