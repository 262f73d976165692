// testRun({ engine: 'jit' }): BPF_PROG_TEST_RUN semantics are the engine's business only
// through the Vm, so results must match the interpreter's byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleConformance } from '../../src/isa/asm/conformance.ts';
import { sharedJitEngine } from '../../src/jit/index.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { Vm } from '../../src/vm/index.ts';

// XDP: swap the Ethernet addresses, add the first two payload bytes into r0, return XDP_TX (3)
// when that sum is odd, else XDP_PASS (2).
const prog = assembleConformance(
  `
    ldxw %r2, [%r1]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 16
    jgt %r4, %r3, out
    ldxw %r5, [%r2]
    ldxh %r6, [%r2+4]
    ldxw %r7, [%r2+6]
    ldxh %r8, [%r2+10]
    stxw [%r2], %r7
    stxh [%r2+4], %r8
    stxw [%r2+6], %r5
    stxh [%r2+10], %r6
    ldxb %r0, [%r2+14]
    ldxb %r5, [%r2+15]
    add %r0, %r5
    and %r0, 1
    add %r0, 2
    exit
  out:
    mov %r0, 1
    exit`,
  { file: 'xdp_swap' },
);

test('testRun with engine jit matches the interpreter', () => {
  const before = sharedJitEngine().stats.compiles;
  for (const last of [0, 1, 2, 3]) {
    const data = Uint8Array.from({ length: 60 }, (_, i) => (i * 7 + last) & 0xff);
    data[15] = last;
    const want = testRun(prog, { type: 'xdp', data });
    const got = testRun(prog, { type: 'xdp', data, engine: 'jit' });
    assert.equal(got.retval, want.retval);
    assert.deepEqual(got.dataOut, want.dataOut);
    assert.deepEqual(got.dataOut.subarray(0, 6), data.subarray(6, 12), 'addresses swapped');
  }
  assert.equal(sharedJitEngine().stats.compiles, before + 1, 'one module, reused from the cache');
  assert.throws(() => testRun(prog, { type: 'xdp', data: new Uint8Array(60), engine: 'jit', vm: new Vm() }), {
    name: 'UsageError',
  });
});
