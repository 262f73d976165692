import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleConformance } from '../isa/asm/conformance.ts';
import { type Insn, insn } from '../isa/insn.ts';
import { bprintfFormatValid } from './bprintf.ts';
import { baseHelpers, HelperTable } from './helpers.ts';
import { Vm } from './vm.ts';

/** Puts `s` (NUL-terminated) on the stack at r10-64 and calls trace_printk with args r3..r5. */
function printk(vm: Vm, fmt: string, args: bigint[]): string[] {
  const bytes = new TextEncoder().encode(`${fmt}\0`);
  const insns: Insn[] = [];
  for (const [i, b] of bytes.entries()) insns.push(insn(0x72, 10, 0, -64 + i, b)); // stb [r10-64+i], b
  const regs = [3, 4, 5];
  args.forEach((v, i) => {
    const lo = Number(BigInt.asIntN(32, v));
    const hi = Number(BigInt.asIntN(32, v >> 32n));
    insns.push({ ...insn(0x18, regs[i]!, 0, 0, lo), imm64Hi: hi }, insn(0, 0, 0, 0, hi));
  });
  insns.push(insn(0xbf, 1, 10), insn(0x07, 1, 0, 0, -64), insn(0xb7, 2, 0, 0, bytes.length));
  insns.push(insn(0x85, 0, 0, 0, 6), insn(0x95));
  vm.run(vm.load(insns));
  return lines.splice(0);
}
const lines: string[] = [];

test('bpf_trace_printk formats like the kernel and writes to the sink', () => {
  const vm = new Vm({ printk: (l) => lines.push(l) });
  assert.deepEqual(printk(vm, 'x=%d y=%u', [-5n, 7n]), ['x=-5 y=7']);
  assert.deepEqual(printk(vm, '%x %llx %%', [255n, 0x123456789an]), ['ff 123456789a %']);
  assert.deepEqual(printk(vm, '%lld', [(1n << 64n) - 2n]), ['-2']);
  assert.deepEqual(printk(vm, '%d', [0xffffffffn]), ['-1'], '%d takes the low 32 bits');
  assert.deepEqual(printk(vm, '[%5d|%-3u|%05x]', [42n, 1n, 0xabn]), ['[   42|1  |000ab]']);
  assert.deepEqual(printk(vm, '%c%c', [104n, 105n]), ['hi']);
  assert.deepEqual(printk(vm, 'bad %q', [1n]), [], 'unknown conversion: -EINVAL, nothing printed');
});

test('bpf_trace_printk %s reads a string from the arena', () => {
  const vm = new Vm({ printk: (l) => lines.push(l) });
  const s = vm.arena.alloc(8, 8, { kind: 'mem', writable: false });
  vm.arena.write(s, new TextEncoder().encode('tsbpf\0'));
  assert.deepEqual(printk(vm, 'name=%s', [BigInt(s)]), ['name=tsbpf']);
  // kernel: bpf_bprintf_prepare() copies the string first; a failed copy is an empty string
  assert.deepEqual(printk(vm, 'name=%s', [0n]), ['name=']);
});

test('bpf_trace_printk refuses what bpf_bprintf_prepare() refuses (-EINVAL, no line)', () => {
  const vm = new Vm({ printk: (l) => lines.push(l) });
  // no length modifiers but l/ll, no precision, no '#', no %o/%z: the kernel's subset, not C's
  for (const f of ['%hd', '%hhu', '%.3d', '%#x', '%o', '%zd', '%5.2s', '%d%s1'])
    assert.deepEqual(printk(vm, f, [1n, 2n]), [], f);
  // a fourth conversion has no argument: trace_printk passes three
  assert.deepEqual(printk(vm, '%d %d %d %d', [1n, 2n, 3n]), []);
  assert.deepEqual(printk(vm, '%d %d %d', [1n, 2n, 3n]), ['1 2 3']);
  // the verifier's load-time check of a constant bpf_snprintf format is the same function
  const valid = (f: string, n: number) => bprintfFormatValid(new TextEncoder().encode(`${f}\0`), n);
  assert.equal(valid('%d %s', 2), true);
  assert.equal(valid('%hd', 1), false);
  assert.equal(valid('%d %d', 1), false);
  assert.equal(valid('%pI4', 1), true);
});

test('prandom is seedable; ktime uses the given clock; smp id is configurable', () => {
  const prog = assembleConformance('call 7\nmov %r6, %r0\ncall 7\nlsh %r0, 32\nor %r0, %r6\nexit');
  const seq = (seed: number) => {
    const vm = new Vm({ seed });
    const p = vm.load(prog);
    return [vm.run(p).value, vm.run(p).value];
  };
  assert.deepEqual(seq(42), seq(42));
  assert.notDeepEqual(seq(42), seq(43));
  const [a, b] = seq(42);
  assert.notEqual(a, b, 'the generator advances');
  assert.ok(a! >> 32n <= 0xffffffffn);

  let now = 5_000_000_000;
  const vm = new Vm({ clock: () => now, cpu: 3 });
  for (const id of [5, 125, 160]) {
    const p = vm.load([insn(0x85, 0, 0, 0, id), insn(0x95)]);
    assert.equal(vm.run(p).value, 5_000_000_000n, `helper ${id}`);
  }
  now += 10;
  assert.equal(vm.run(vm.load([insn(0x85, 0, 0, 0, 5), insn(0x95)])).value, 5_000_000_010n);
  assert.equal(vm.run(vm.load([insn(0x85, 0, 0, 0, 8), insn(0x95)])).value, 3n);
});

test('callx resolves the helper id at run time and faults on unknown ids', () => {
  const vm = new Vm({ cpu: 9 });
  const ok = vm.load(assembleConformance('mov %r2, 8\ncall %r2\nexit'));
  assert.equal(vm.run(ok).value, 9n);
  const bad = vm.load(assembleConformance('mov %r2, 4242\ncall %r2\nexit'));
  assert.throws(() => vm.run(bad), /callx to unknown helper id 4242/);
});

test('helper tables: register more helpers, protos carry kernel arg types, negative returns sign-extend', () => {
  const t = baseHelpers().clone();
  t.register({
    id: 1000,
    name: 'test_add',
    proto: { ret: 'RET_INTEGER', args: [{ type: 'ARG_ANYTHING' }, { type: 'ARG_ANYTHING' }] },
    impl: (_ctx, a, b) => a - b,
  });
  assert.ok(!baseHelpers().has(1000), 'clone leaves the base table alone');
  assert.equal(t.get(6)?.proto.args[0]?.type, 'ARG_PTR_TO_MEM');
  assert.deepEqual(t.get(6)?.proto.args[0]?.flags, ['MEM_RDONLY']);
  assert.equal(t.get(6)?.proto.args.length, 2, 'kernel: r3..r5 of trace_printk are ARG_DONTCARE');
  assert.equal(t.get(6)?.proto.gplOnly, true);
  const vm = new Vm({ helpers: t });
  const p = vm.load(assembleConformance('mov %r1, 3\nmov %r2, 5\ncall 1000\nexit'));
  assert.equal(vm.run(p).value, (1n << 64n) - 2n);
  assert.throws(() => new HelperTable().register({ ...t.get(5)!, id: 0 }), /bad id/);
});

test('a helper can run a callback program; the outer registers and stack survive', () => {
  const t = baseHelpers().clone();
  let vm: Vm | undefined;
  const cb = assembleConformance('stdw [%r10-8], 1000\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit');
  t.register({
    id: 2000,
    name: 'test_callback',
    proto: { ret: 'RET_INTEGER', args: [{ type: 'ARG_ANYTHING' }] },
    impl: (ctx, a) => {
      const r = vm!.run(vm!.load(cb), { args: [a] });
      assert.equal(ctx.argLo(1), a, 'arguments still read from the outer registers');
      return r.u32;
    },
  });
  vm = new Vm({ helpers: t });
  const outer = assembleConformance(`
    mov %r6, 7
    stdw [%r10-8], 50
    mov %r1, 3
    call 2000
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    add %r0, %r6
    exit`);
  assert.equal(vm.run(vm.load(outer)).value, 1003n + 50n + 7n);
});

test('tail calls: the target continues in the same frame; at most 33 chained calls', () => {
  const t = baseHelpers().clone();
  let target: ReturnType<Vm['load']> | undefined;
  let vm: Vm | undefined;
  t.register({
    id: 3000,
    name: 'test_tail_call',
    proto: { ret: 'RET_INTEGER', args: [{ type: 'ARG_PTR_TO_CTX' }] },
    impl: () => (vm!.tailCall(target!) ? 0 : -2),
  });
  vm = new Vm({ helpers: t });
  const a = vm.load(assembleConformance('mov %r6, 5\nstdw [%r10-8], 40\ncall 3000\nmov %r0, 1\nexit'));
  target = vm.load(assembleConformance('ldxdw %r0, [%r10-8]\nadd %r0, %r6\nexit'));
  assert.equal(vm.run(a).value, 45n, 'registers and the stack frame carry over');
  // A program that tail-calls itself counts r6 up until the kernel's limit makes the call fall through.
  target = vm.load(assembleConformance('add %r6, 1\ncall 3000\nmov %r0, %r6\nexit'));
  assert.equal(vm.run(vm.load(assembleConformance('mov %r6, 0\ncall 3000\nmov %r0, 999\nexit'))).value, 33n);
  assert.equal(vm.run(a).value, 5n + 33n, 'the count restarts with every run');
});
