// bpf_loop calls the JIT compiles in place (src/jit/inline.ts): the same programs run in two
// collections, interpreted and on the JIT, must give the same r0, instruction count, stack
// effects and faults; and the JIT must really have inlined the calls it is meant to.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { copyCollectionSpec } from '../../src/elf/spec.ts';
import { sharedJitEngine } from '../../src/jit/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';

interface RawInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const file = 'examples/xdp-parse/xdp_parse.bpf.o';
const base = loadCollectionSpec(readFileSync(file), { file });

// A tiny assembler with labels: jumps and function addresses name a label.
type Item =
  | RawInsn
  | { label: string }
  | { ja: number; dst: number; imm: number; to: string }
  | { fn: string }
  | { callLocal: string };
const ins = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({
  code,
  dst,
  src,
  off,
  imm,
});
const mov = (d: number, imm: number) => ins(0xb7, d, 0, 0, imm);
const movr = (d: number, s: number) => ins(0xbf, d, s, 0, 0);
const add = (d: number, imm: number) => ins(0x07, d, 0, 0, imm);
const addr = (d: number, s: number) => ins(0x0f, d, s, 0, 0);
const ldx = (d: number, s: number, off: number) => ins(0x79, d, s, off, 0);
const stx = (d: number, off: number, s: number) => ins(0x7b, d, s, off, 0);
const call = (id: number) => ins(0x85, 0, 0, 0, id);
const exit = ins(0x95, 0, 0, 0, 0);
const label = (name: string) => ({ label: name });
/** if dst == imm goto label */
const jeq = (dst: number, imm: number, to: string) => ({ ja: 0x15, dst, imm, to });
const jlt = (dst: number, imm: number, to: string) => ({ ja: 0xa5, dst, imm, to });
/** r2 = the address of function `fn` (lddw src=BPF_PSEUDO_FUNC). */
const fnAddr = (fn: string) => ({ fn });

function assemble(items: Item[]): RawInsn[] {
  const at = new Map<string, number>();
  let n = 0;
  for (const it of items) {
    if ('label' in it) at.set(it.label, n);
    else n += 'fn' in it ? 2 : 1;
  }
  const out: RawInsn[] = [];
  for (const it of items) {
    if ('label' in it) continue;
    const i = out.length;
    if ('fn' in it) {
      out.push(ins(0x18, 2, 4, 0, at.get(it.fn)! - i - 1), ins(0, 0, 0, 0, 0));
    } else if ('callLocal' in it) out.push(ins(0x85, 0, 1, 0, at.get(it.callLocal)! - i - 1));
    else if ('ja' in it) out.push(ins(it.ja, it.dst, 0, at.get(it.to)! - i - 1, it.imm));
    else out.push(it);
  }
  return out;
}

/** bpf_loop(nr, fn, r10-8 as ctx, flags) from the main program; returns *(r10-8). */
function loopMain(nr: number, fn: string, flags = 0, init = 0): Item[] {
  return [
    mov(1, init),
    stx(10, -8, 1),
    mov(1, nr),
    fnAddr(fn),
    movr(3, 10),
    add(3, -8),
    mov(4, flags),
    call(181),
    ldx(1, 10, -8),
    // r0 = (loop result << 32) + *(r10-8), so both are compared
    ins(0x67, 0, 0, 0, 32),
    addr(0, 1),
    exit,
  ];
}

interface Outcome {
  r0?: string;
  insns?: number;
  error?: string;
}

function run(insns: RawInsn[], engine: 'interp' | 'jit', checked: boolean, budget?: number): Outcome {
  const spec = copyCollectionSpec(base);
  const p = spec.programs[0]!;
  Object.assign(p, { insns, relocs: [], funcInfo: [], lineInfo: [], coreRelos: [] });
  const coll = newCollection(spec, { verify: false, engine, vm: { checked, ...(budget ? { budget } : {}) } });
  try {
    const r = coll.program(p.name).run({ data: new Uint8Array(64) });
    return { r0: r.r0.toString(16), insns: r.insns };
  } catch (e) {
    return { error: e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e) };
  } finally {
    coll.close();
  }
}

function same(name: string, items: Item[], want: Outcome, opts: { inlined?: number; budget?: number } = {}) {
  test(`inlined bpf_loop: ${name}`, () => {
    const insns = assemble(items);
    for (const checked of [true, false]) {
      const interp = run(insns, 'interp', checked, opts.budget);
      const jit = run(insns, 'jit', checked, opts.budget);
      assert.deepEqual(jit, interp, `checked=${checked}`);
      if (want.r0 !== undefined) assert.equal(interp.r0, want.r0);
      // Unchecked, the interpreter reads the guard page instead of faulting.
      if (want.error !== undefined && checked) assert.match(interp.error ?? '', new RegExp(want.error));
    }
    // The JIT inlined the expected number of call sites.
    const spec = copyCollectionSpec(base);
    const p = spec.programs[0]!;
    Object.assign(p, { insns, relocs: [], funcInfo: [], lineInfo: [], coreRelos: [] });
    const coll = newCollection(spec, { verify: false });
    try {
      const loaded = coll.program(p.name).loaded;
      assert.equal(sharedJitEngine().compile(loaded).inlinedLoops.size, opts.inlined ?? 1);
    } finally {
      coll.close();
    }
  });
}

// cb(i, ctx): *ctx += i + 1; return 0
const sumCb: Item[] = [label('cb'), ldx(3, 2, 0), addr(3, 1), add(3, 1), stx(2, 0, 3), mov(0, 0), exit];

same('sums over 100 iterations', [...loopMain(100, 'cb'), ...sumCb], {
  r0: (100n * 2n ** 32n + 5050n).toString(16),
});
same('no iterations', [...loopMain(0, 'cb', 0, 7), ...sumCb], { r0: '7' });
same(
  'nr_loops > 1<<23 gives -E2BIG without calling back',
  [...loopMain((1 << 23) + 1, 'cb', 0, 3), ...sumCb],
  {
    r0: BigInt.asUintN(64, (-7n << 32n) + 3n).toString(16),
  },
);
same('nr_loops = 1<<23 is allowed', [...loopMain(1 << 23, 'first', 0, 5), label('first'), mov(0, 1), exit], {
  r0: ((1n << 32n) + 5n).toString(16),
});
same('flags != 0 gives -EINVAL', [...loopMain(5, 'cb', 1, 3), ...sumCb], {});
same(
  'a callback returning 1 stops the loop (r0 = iterations run)',
  [
    ...loopMain(100, 'stop'),
    label('stop'),
    // *ctx = i; return i == 9
    stx(2, 0, 1),
    mov(0, 0),
    jeq(1, 9, 'one'),
    exit,
    label('one'),
    mov(0, 1),
    exit,
  ],
  { r0: (10n * 2n ** 32n + 9n).toString(16) },
);
same(
  'the callback uses its own stack and a bpf-to-bpf call',
  [
    ...loopMain(20, 'cb'),
    label('cb'),
    // r6 = ctx; spill i; local call f(i) = i * 3 (f spills too); *ctx += reload + f(i)
    movr(6, 2),
    stx(10, -16, 1),
    { callLocal: 'f' },
    ldx(1, 10, -16),
    addr(0, 1),
    ldx(3, 6, 0),
    addr(3, 0),
    stx(6, 0, 3),
    mov(0, 0),
    exit,
    label('f'),
    stx(10, -8, 1),
    ldx(0, 10, -8),
    ins(0x27, 0, 0, 0, 3),
    exit,
  ],
  { r0: (20n * 2n ** 32n + 190n * 4n).toString(16) },
);
same(
  'nested loops: the inner callback sees the outer callback stack through ctx',
  [
    ...loopMain(10, 'outer'),
    label('outer'),
    // outer(i, ctx): r10-8 = 0; bpf_loop(i, inner, r10-8, 0); *ctx += *(r10-8); return 0
    movr(6, 2),
    mov(3, 0),
    stx(10, -8, 3),
    fnAddr('inner'),
    movr(3, 10),
    add(3, -8),
    mov(4, 0),
    call(181),
    ldx(1, 10, -8),
    ldx(3, 6, 0),
    addr(3, 1),
    stx(6, 0, 3),
    mov(0, 0),
    exit,
    label('inner'),
    // inner(j, ctx): *ctx += j + 1
    ldx(3, 2, 0),
    addr(3, 1),
    add(3, 1),
    stx(2, 0, 3),
    mov(0, 0),
    exit,
  ],
  // sum over i < 10 of i(i+1)/2 = 165
  { r0: (10n * 2n ** 32n + 165n).toString(16) },
  { inlined: 2 },
);

/** Main → cb1 → cb2 → … → cbN, each calling bpf_loop(1, next): N callback levels. */
function chain(n: number): Item[] {
  const items: Item[] = [...loopMain(1, 'cb1')];
  for (let k = 1; k < n; k++)
    items.push(label(`cb${k}`), mov(1, 1), fnAddr(`cb${k + 1}`), mov(3, 0), mov(4, 0), call(181), exit);
  items.push(label(`cb${n}`), mov(0, 0), exit);
  return items;
}
same(
  'seven callback levels below the program run',
  chain(7),
  { r0: (1n << 32n).toString(16) },
  { inlined: 7 },
);
same(
  'an eighth level faults as the VM does',
  chain(8),
  { error: 'callbacks nested more than 8 levels deep' },
  {
    inlined: 8,
  },
);
same(
  'a callback that never ends exhausts the budget',
  [...loopMain(3, 'spin'), label('spin'), add(1, 1), jlt(1, 1 << 30, 'spin'), mov(0, 0), exit],
  { error: 'budget' },
  { budget: 5000 },
);
same(
  'a callback reading through a bad pointer faults at the same instruction',
  [...loopMain(3, 'bad'), label('bad'), ldx(0, 1, 0), exit],
  { error: 'invalid read of 8 bytes at 0x0' },
);
same(
  'a callback that calls a helper is not inlined',
  [...loopMain(4, 'h'), label('h'), call(7), mov(0, 0), exit],
  {},
  { inlined: 0 },
);
