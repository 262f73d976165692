// JitEngine behaviour beyond plain results: faults name the instruction (region checks, Wasm
// traps, budget, call depth), tail calls, memory growth between runs, the module cache and
// the dispatcher fallback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuntimeFault } from '../../src/errors.ts';
import { assembleConformance } from '../../src/isa/asm/conformance.ts';
import { JitEngine } from '../../src/jit/index.ts';
import { baseHelpers, type LoadedProgram, Vm, type VmOptions } from '../../src/vm/index.ts';

const asm = (text: string) => assembleConformance(text, { file: 'test' });

function both(text: string, opts: VmOptions = {}, args: number[] = []): [unknown, unknown] {
  const out: unknown[] = [];
  for (const engine of [undefined, new JitEngine().run]) {
    const vm = new Vm({ seed: 1, ...opts, engine });
    try {
      out.push(vm.run(vm.load(asm(text)), { args }).value);
    } catch (e) {
      assert.ok(e instanceof RuntimeFault, String(e));
      out.push({ kind: e.kind, insnIdx: e.where.insnIdx, message: e.message });
    }
  }
  return [out[0], out[1]];
}

test('an out-of-arena access traps and names the instruction (unchecked)', () => {
  // insn 2 reads 1 GiB past r1: outside the memory, so Wasm traps and DataView throws.
  const [want, got] = both('mov %r0, 1\nmov %r1, 0x40000000\nldxw %r0, [%r1]\nexit', { checked: false });
  // The messages quote the engines' own errors (DataView vs Wasm trap); the rest must agree.
  assert.deepEqual({ ...(got as object), message: '' }, { ...(want as object), message: '' });
  assert.equal((got as { insnIdx: number }).insnIdx, 2);
  assert.equal((got as { kind: string }).kind, 'mem');
});

test('a region check fails with the interpreter message (checked)', () => {
  const [want, got] = both('mov %r0, 1\nldxdw %r0, [%r1+4]\nexit', {}, [16]);
  assert.deepEqual(got, want);
  assert.match((got as { message: string }).message, /NULL pointer dereference \(insn 1/);
});

test('an endless loop stops at the budget, as in the interpreter', () => {
  const [want, got] = both('mov %r0, 0\nadd %r0, 1\nja -2\nexit', { budget: 1000 });
  assert.deepEqual(got, want);
  assert.equal((got as { kind: string }).kind, 'budget');
});

test('runaway recursion stops at MAX_CALL_FRAMES', () => {
  const [want, got] = both('call local f\nexit\nf:\ncall local f\nexit');
  assert.deepEqual(got, want);
  assert.equal((got as { kind: string }).kind, 'call');
});

test('falling off the end is a fault', () => {
  const [want, got] = both('mov %r0, 1\njeq %r0, 1, +1\nexit\nmov %r0, 2');
  assert.deepEqual(got, want);
  assert.equal((got as { kind: string }).kind, 'pc');
});

test('tail calls replace the program and keep the registers', () => {
  for (const engine of [undefined, new JitEngine().run]) {
    const helpers = baseHelpers();
    const vm: Vm = new Vm({ helpers, engine });
    const targets: LoadedProgram[] = [];
    helpers.register({
      id: 12,
      name: 'bpf_tail_call',
      proto: { ret: 'RET_VOID', args: [] },
      impl: (_ctx, r1) => {
        vm.tailCall(targets[r1]!);
        return 0;
      },
    });
    targets.push(
      vm.load(asm('mov %r0, %r6\nadd %r0, 100\nexit'), { name: 't0' }),
      // Tail-calls itself until the 33-call limit makes the helper fall through.
      vm.load(asm('add %r6, 1\nmov %r1, 1\ncall 12\nmov %r0, %r6\nexit'), { name: 't1' }),
    );
    const main = vm.load(asm('mov %r6, 5\nmov %r1, 0\ncall 12\nmov %r0, 1\nexit'), { name: 'main' });
    assert.equal(vm.run(main).value, 105n, 'r6 survives the tail call');
    const loop = vm.load(asm('mov %r6, 0\nmov %r1, 1\ncall 12\nmov %r0, 99\nexit'), { name: 'loop' });
    // 33 tail calls succeed (r6 = 33), the 34th falls through in t1, which returns r6.
    assert.equal(vm.run(loop).value, 33n);
  }
});

test('runs see memory grown between runs', () => {
  const jit = new JitEngine();
  const vm = new Vm({ engine: jit.run });
  const prog = vm.load(asm('ldxdw %r0, [%r1]\nexit'));
  const a = vm.arena.alloc(8, 8, { kind: 'mem', writable: true });
  vm.arena.dv.setUint32(a, 7, true);
  assert.equal(vm.run(prog, { args: [a] }).value, 7n);
  const size = vm.arena.size;
  const big = vm.arena.alloc(4 * size, 8, { kind: 'mem', writable: true });
  assert.ok(vm.arena.size > size, 'the arena grew');
  vm.arena.dv.setUint32(big + 4 * size - 8, 9, true);
  assert.equal(vm.run(prog, { args: [big + 4 * size - 8] }).value, 9n);
});

test('the cache compiles equal programs once', () => {
  const jit = new JitEngine();
  const vm = new Vm({ engine: jit.run });
  const text = 'mov %r0, 3\nexit';
  vm.run(vm.load(asm(text)));
  vm.run(vm.load(asm(text)));
  vm.run(vm.load(asm('mov %r0, 4\nexit')));
  assert.equal(jit.stats.compiles, 2);
  assert.equal(jit.stats.hits, 1);
});

test('the dispatcher and the structured layout compute the same', () => {
  const text = `
    mov %r0, 0
    mov %r2, 50
  outer:
    mov %r3, %r2
  inner:
    add %r0, %r3
    jset %r0, 4, skip
    xor %r0, 0x55
  skip:
    sub %r3, 1
    jne %r3, 0, inner
    sub %r2, 1
    jsgt %r2, 0, outer
    exit`;
  const values = [undefined, new JitEngine().run, new JitEngine({ dispatch: true }).run].map((engine) => {
    const vm = new Vm({ engine });
    return vm.run(vm.load(asm(text))).value;
  });
  assert.equal(values[1], values[0]);
  assert.equal(values[2], values[0]);
  const compiled = new JitEngine({ dispatch: true }).compile(new Vm().load(asm(text)));
  assert.equal(compiled.funcs[0]!.structured, false);
  assert.equal(new JitEngine().compile(new Vm().load(asm(text))).funcs[0]!.structured, true);
});
