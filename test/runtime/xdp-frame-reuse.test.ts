// XDP test runs on one VM reuse the frame page and xdp_md between runs (src/runtime/test-run.ts):
// each run must still see a zeroed page, as the kernel's kzalloc'd one, and pointers kept from an
// earlier run must not reach it between runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuntimeFault } from '../../src/errors.ts';
import { assembleConformance } from '../../src/isa/asm/conformance.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { Vm } from '../../src/vm/vm.ts';

const packet = () => {
  const p = new Uint8Array(64).map((_, i) => i + 1);
  p[12] = 0x08;
  p[13] = 0x00;
  return p;
};

test('xdp: headroom written by one run reads as zero in the next run on the same VM', () => {
  const vm = new Vm();
  // bpf_xdp_adjust_head(ctx, -8) exposes 8 bytes of headroom; the first run fills them.
  const fill = assembleConformance(
    'mov %r6, %r1\nmov %r2, -8\ncall 44\nldxw %r2, [%r6+0]\nstdw [%r2+0], -1\nmov %r0, 2\nexit',
  );
  const a = testRun(fill, { type: 'xdp', data: packet(), vm });
  assert.equal(a.retval, 2);
  assert.deepEqual(
    [...a.dataOut.subarray(0, 8)],
    new Array(8).fill(0xff),
    'the write landed in the headroom',
  );
  assert.deepEqual(a.dataOut.subarray(8), packet());

  const peek = assembleConformance(
    'mov %r6, %r1\nmov %r2, -8\ncall 44\nldxw %r2, [%r6+0]\nldxdw %r0, [%r2+0]\nexit',
  );
  const b = testRun(peek, { type: 'xdp', data: packet(), vm });
  assert.equal(b.r0, 0n, 'the second run got a zeroed frame');
});

test('xdp: a packet pointer kept from a finished run faults in a later run', () => {
  const vm = new Vm();
  const grab = assembleConformance('ldxw %r0, [%r1+0]\nexit'); // r0 = xdp_md.data
  const addr = testRun(grab, { type: 'xdp', data: packet(), vm }).retval;
  assert.ok(addr > 0);
  const stale = assembleConformance(`lddw %r2, ${addr}\nldxb %r0, [%r2+0]\nexit`);
  assert.throws(() => testRun(stale, { type: 'syscall', vm }), RuntimeFault);
  // The frame still serves the next XDP run.
  assert.equal(testRun(grab, { type: 'xdp', data: packet(), vm }).retval, addr);
});
