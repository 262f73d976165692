// BPF_PROG_TEST_RUN with `repeat`: the kernel runs the program `repeat` times on the same
// context and packet without resetting them (net/bpf/test_run.c, bpf_test_run()), so a program
// that changes the packet sees its own changes, and `repeat: n` ends where n single runs, each
// fed the previous data_out, end. Checked here on both engines and against the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleConformance } from '../../src/isa/asm/conformance.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { sharedJitEngine } from '../../src/jit/engine.ts';
import { type TestRunProgType, testRun } from '../../src/runtime/test-run.ts';
import { interpret } from '../../src/vm/interp.ts';
import { type Engine, Vm } from '../../src/vm/vm.ts';
import { prepareKbpf, runKbpfSync, TempDir } from '../oracles.ts';

/** 64 bytes 10, 11, ... with an IPv4 ethertype. */
const packet = (): Uint8Array => {
  const p = new Uint8Array(64).map((_, i) => i + 10);
  p[12] = 0x08;
  p[13] = 0x00;
  return p;
};

interface Case {
  name: string;
  type: TestRunProgType;
  asm: string;
  /** What `repeat` runs leave, worked out by hand from the program. */
  expect(repeat: number): { retval: number; dataOut: Uint8Array };
}

const CASES: readonly Case[] = [
  {
    name: 'xdp: increments the first packet byte and returns it',
    type: 'xdp',
    asm: `
      ldxw %r2, [%r1+0]
      ldxw %r3, [%r1+4]
      mov %r4, %r2
      add %r4, 1
      jgt %r4, %r3, +4
      ldxb %r0, [%r2+0]
      add %r0, 1
      stxb [%r2+0], %r0
      exit
      mov %r0, 0
      exit`,
    expect: (n) => {
      const d = packet();
      d[0] = 10 + n;
      return { retval: 10 + n, dataOut: d };
    },
  },
  {
    name: 'xdp: bpf_xdp_adjust_head(ctx, 1) drops one more byte every run',
    type: 'xdp',
    asm: `
      mov %r2, 1
      call 44
      mov %r0, 2
      exit`,
    expect: (n) => ({ retval: 2, dataOut: packet().slice(n) }),
  },
  {
    name: 'sched_cls: increments packet byte 20 through __sk_buff.data',
    type: 'sched_cls',
    asm: `
      ldxw %r2, [%r1+76]
      ldxw %r3, [%r1+80]
      mov %r4, %r2
      add %r4, 21
      jgt %r4, %r3, +4
      ldxb %r0, [%r2+20]
      add %r0, 1
      stxb [%r2+20], %r0
      exit
      mov %r0, 0
      exit`,
    expect: (n) => {
      const d = packet();
      d[20] = 30 + n;
      return { retval: 30 + n, dataOut: d };
    },
  },
];

const REPEATS = [1, 2, 7];

// First in this file, so that it runs the process's first interpreted test run, which warms the
// interpreter up with a program of its own (Vm.prepare).
test('test run: a step recorder sees the program only, not the engine warm-up', () => {
  const vm = new Vm();
  const seen: string[] = [];
  vm.onInsn = (pc, _depth, prog) => seen.push(`${prog.name}:${pc}`);
  const r = testRun(assembleConformance('mov %r0, 1\nadd %r0, 1\nexit'), {
    type: 'xdp',
    data: packet(),
    vm,
    name: 'p',
  });
  assert.equal(r.retval, 2);
  assert.deepEqual(seen, ['p:0', 'p:1', 'p:2']);
});

for (const c of CASES)
  for (const engine of ['interp', 'jit'] as const)
    test(`repeat (${engine}) — ${c.name}: same as chained single runs`, () => {
      const insns = assembleConformance(c.asm);
      for (const repeat of REPEATS) {
        const want = c.expect(repeat);
        const r = testRun(insns, { type: c.type, data: packet(), repeat, engine });
        assert.equal(r.retval, want.retval, `repeat ${repeat}: retval`);
        assert.deepEqual(r.dataOut, want.dataOut, `repeat ${repeat}: data_out`);
        // The same on one VM whose frame is reused between test runs.
        const vm = new Vm(engine === 'jit' ? { engine: sharedJitEngine().run } : {});
        let data = packet();
        let single = testRun(insns, { type: c.type, data, vm });
        for (let i = 1; i < repeat; i++) {
          data = single.dataOut;
          single = testRun(insns, { type: c.type, data, vm });
        }
        assert.equal(single.retval, r.retval, `repeat ${repeat}: chained retval`);
        assert.deepEqual(single.dataOut, r.dataOut, `repeat ${repeat}: chained data_out`);
      }
    });

test('repeat: the kernel accumulates packet changes across repetitions as tsbpf does', (t) => {
  const kbpf = prepareKbpf();
  if (kbpf.skip) {
    t.skip(kbpf.skip);
    return;
  }
  const tmp = new TempDir('tsbpf-repeat-');
  try {
    for (const c of CASES) {
      const insns: Insn[] = assembleConformance(c.asm);
      const prog = tmp.file('prog.bin', encodeProgram(insns));
      const data = tmp.file('data.bin', packet());
      for (const repeat of REPEATS) {
        const k = runKbpfSync(kbpf.path, [
          '--type',
          c.type,
          '--run',
          '--repeat',
          String(repeat),
          '--data',
          data,
          prog,
        ]);
        assert.equal(k.verdict, 'accept', `${c.name}: ${k.raw}`);
        const r = testRun(insns, { type: c.type, data: packet(), repeat, engine: 'jit' });
        assert.equal(r.retval, k.retval, `${c.name}, repeat ${repeat}: retval`);
        assert.equal(Buffer.from(r.dataOut).toString('hex'), k.dataOut, `${c.name}, repeat ${repeat}`);
      }
    }
  } finally {
    tmp.close();
  }
});

test('repeat: every repetition starts with fresh registers', () => {
  // r6 is never set before it is read (no verifier here): leaked from a previous run it would
  // have counted the runs.
  const prog = assembleConformance('mov %r0, %r6\nadd %r6, 1\nmov %r7, %r6\nexit');
  for (const engine of ['interp', 'jit'] as const) {
    const r = testRun(prog, { type: 'xdp', data: packet(), repeat: 9, engine });
    assert.equal(r.retval, 0, engine);
  }
});

test('test run: the engine prepares (compiles) the program once, before the first timed run', () => {
  const events: string[] = [];
  const engine: Engine = Object.assign(
    (...a: Parameters<Engine>) => {
      // Vm.prepare may first warm the engine up with a program of its own.
      if (a[1].name !== 'warm-up') events.push('run');
      return interpret(...a);
    },
    {
      prepare: (_m: unknown, p: { name: string }) => {
        if (p.name !== 'warm-up') events.push('prepare');
      },
    },
  );
  const vm = new Vm({ engine });
  const r = testRun(assembleConformance('mov %r0, 2\nexit'), { type: 'xdp', data: packet(), repeat: 3, vm });
  assert.deepEqual(events, ['prepare', 'run', 'run', 'run']);
  assert.equal(r.retval, 2);
  for (const k of ['durationNs', 'compileNs', 'setupNs'] as const)
    assert.ok(Number.isInteger(r[k]) && r[k] >= 0, `${k} is a count of nanoseconds: ${r[k]}`);
});
