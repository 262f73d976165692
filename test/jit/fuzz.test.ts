// Differential fuzzing: random terminating programs (test/jit/gen.ts) run on the interpreter and
// on the JIT with the same inputs; r0, the buffer, the whole stack region and the fault (kind
// and instruction) must be identical. Seeded, so a failure names a reproducible program.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { RuntimeFault } from '../../src/errors.ts';
import { disassemble } from '../../src/isa/disasm.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { JitEngine } from '../../src/jit/index.ts';
import { Vm } from '../../src/vm/index.ts';
import { BUF_SIZE, ProgramGen, prng } from './gen.ts';

const PROGRAMS = Number(process.env.JIT_FUZZ_N ?? 10_000);

interface Outcome {
  r0?: string;
  fault?: string;
  buf: string;
  stack: string;
}

function makeVm(checked: boolean, engine?: JitEngine, budget?: number): Vm {
  return new Vm({ checked, seed: 42, clock: () => 1_000_000, engine: engine?.run, budget });
}

function runOn(vm: Vm, insns: Insn[], input: Uint8Array, packet: boolean): Outcome {
  const prog = vm.load(insns, { name: 'fuzz' });
  const buf = vm.arena.alloc(BUF_SIZE, 8, { kind: 'mem', writable: true, name: 'buf' });
  try {
    vm.arena.write(buf, input);
    vm.clearStack();
    let r0: string | undefined;
    let fault: string | undefined;
    try {
      const r = vm.run(prog, {
        args: [buf, BUF_SIZE],
        packet: packet ? { start: buf, len: BUF_SIZE } : undefined,
      });
      r0 = `${r.value.toString(16)} after ${r.insns} insns`;
    } catch (e) {
      if (!(e instanceof RuntimeFault)) throw e;
      fault = `${e.kind}@${e.where.insnIdx}`;
    }
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    return {
      r0,
      fault,
      buf: hex(vm.arena.read(buf, BUF_SIZE)),
      // A digest: the stack region is 8 KiB, too long for a readable failure message.
      stack: createHash('sha256')
        .update(vm.arena.read(vm.stackBase, vm.stackTop - vm.stackBase))
        .digest('hex'),
    };
  } finally {
    vm.arena.freeBlock(buf);
  }
}

function listing(insns: Insn[]): string {
  try {
    return disassemble(insns);
  } catch {
    return JSON.stringify(insns);
  }
}

test(`interpreter and JIT agree on ${PROGRAMS} random programs`, () => {
  const jit = new JitEngine();
  const vms = {
    interpChecked: makeVm(true),
    jitChecked: makeVm(true, jit),
    interpUnchecked: makeVm(false),
    jitUnchecked: makeVm(false, jit),
  };
  // Every tenth program also through the br_table dispatcher layout.
  const dispatcher = new JitEngine({ dispatch: true });
  // Small budgets: the engine that tests the budget after every taken jump, as the interpreter.
  const exact = new JitEngine({ exactBudget: true });
  let faults = 0;
  let dispatched = 0;
  let budgetFaults = 0;
  let withLoops = 0;
  for (let seed = 1; seed <= PROGRAMS; seed++) {
    const rnd = prng(seed * 7919);
    // Every fourth program runs unchecked; those stay inside their regions, since an unchecked
    // program may scribble anywhere in the arena (the JIT's scratch block included).
    const checked = seed % 4 !== 0;
    const ldAbs = seed % 3 === 0;
    const insns = new ProgramGen(rnd, { wildMemory: checked, ldAbs }).program();
    const input = new Uint8Array(BUF_SIZE);
    for (let i = 0; i < BUF_SIZE; i++) input[i] = rnd() & 0xff;
    const [a, b] = checked ? [vms.interpChecked, vms.jitChecked] : [vms.interpUnchecked, vms.jitUnchecked];
    const want = runOn(a, insns, input, ldAbs);
    const got = runOn(b, insns, input, ldAbs);
    if (want.fault) faults++;
    // Irreducible flow (from the generator's tangled segments) must reach the dispatcher.
    if (seed % 10 === 5 && jit.compile(a.load(insns), checked).funcs.some((f) => !f.structured))
      dispatched += 10;
    if (insns.some((i, k) => (i.code & 7) >= 5 && (i.code & 7) <= 6 && i.off < 0 && k >= 0)) withLoops++;
    assert.deepEqual(got, want, `seed ${seed} (${checked ? 'checked' : 'unchecked'}):\n${listing(insns)}`);
    if (seed % 7 === 3) {
      // A small instruction budget: both engines must stop at the same jump (or both finish).
      const budget = 10 + (rnd() % 300);
      const ref = runOn(makeVm(checked, undefined, budget), insns, input, ldAbs);
      const got = runOn(makeVm(checked, exact, budget), insns, input, ldAbs);
      assert.deepEqual(got, ref, `seed ${seed} (budget ${budget})`);
      if (ref.fault?.startsWith('budget')) budgetFaults++;
    }
    if (checked && seed % 10 === 1) {
      // Fresh VMs on both sides: helpers such as bpf_get_prandom_u32 carry state.
      const ref = runOn(makeVm(true), insns, input, ldAbs);
      assert.deepEqual(
        runOn(makeVm(true, dispatcher), insns, input, ldAbs),
        ref,
        `seed ${seed} (dispatcher)`,
      );
    }
  }
  assert.equal(jit.stats.interpreted, 0);
  assert.ok(budgetFaults > PROGRAMS / 100, `only ${budgetFaults} runs ran out of budget`);
  assert.ok(dispatched > PROGRAMS / 100, `only ${dispatched} programs needed the dispatcher`);
  // The generator must exercise both outcomes and loops, or the comparison proves little.
  assert.ok(faults > PROGRAMS / 100, `only ${faults} runs faulted`);
  assert.ok(faults < PROGRAMS / 2, `${faults} runs faulted`);
  assert.ok(withLoops > PROGRAMS / 5, `only ${withLoops} programs loop`);
  console.log(
    `fuzz: ${PROGRAMS} programs, ${faults} faulted, ${withLoops} with loops, ~${dispatched} needing the dispatcher, ${jit.stats.compileMs.toFixed(0)} ms compiling`,
  );
});
