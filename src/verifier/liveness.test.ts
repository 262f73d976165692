import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleAuto } from '../isa/index.ts';
import { successorTable } from './cfg.ts';
import { computeLiveRegs } from './liveness.ts';

test('successorTable: fall-through, lddw, call, goto, branch, exit; targets outside the program are -1', () => {
  const asm = assembleAuto(
    ['r1 = 0 ll', 'call 1', 'goto +1', 'r0 = 0', 'if r0 == 0 goto +0', 'exit'].join('\n'),
    'test.s',
  );
  // the assembler refuses a jump past the end: patch one in (5 + 5 + 1 = 11, beyond 7 insns)
  const insns = asm.map((insn, i) => (i === 5 ? { ...insn, off: 5 } : insn));
  assert.equal(insns.length, 7);
  // pairs per instruction: lddw skips its second half, which itself falls through
  assert.deepEqual([...successorTable(insns)], [2, -1, 2, -1, 3, -1, 5, -1, 5, -1, 6, -1, -1, -1]);
});

test('computeLiveRegs: a register is live from its last definition to a use on some path', () => {
  const insns = assembleAuto(['r2 = 5', 'if r1 > 2 goto +1', 'r0 = r2', 'exit'].join('\n'), 'test.s');
  // before exit: R0; before `r0 = r2`: R2 only (R0 is written); before the branch: R1 and
  // both successors' sets; before `r2 = 5`: R2 is written there, R0 and R1 stay live
  assert.deepEqual([...computeLiveRegs(insns)], [0b011, 0b111, 0b100, 0b001]);
  assert.deepEqual([...computeLiveRegs(insns, successorTable(insns))], [0b011, 0b111, 0b100, 0b001]);
});

test('computeLiveRegs: a helper call reads R1-R5 and writes R0-R5', () => {
  const insns = assembleAuto(['r6 = r1', 'call 5', 'r0 = r6', 'exit'].join('\n'), 'test.s');
  // the call's arguments R2-R5 pass through `r6 = r1` untouched, so they are live before it too
  assert.deepEqual([...computeLiveRegs(insns)], [0b0111110, 0b1111110, 0b1000000, 0b1]);
});

test('computeLiveRegs: a call with a known prototype reads only its parameters (GENMASK(n, 1))', () => {
  const insns = assembleAuto(['r6 = r1', 'call 5', 'r0 = r6', 'exit'].join('\n'), 'test.s');
  // bpf_ktime_get_ns takes nothing: only R1 (copied to R6 for after the call) is live at entry
  assert.deepEqual([...computeLiveRegs(insns, undefined, () => 0)], [0b10, 0b1000000, 0b1000000, 0b1]);
  // two parameters: R1 and R2 before the call
  assert.deepEqual([...computeLiveRegs(insns, undefined, () => 2)][1], 0b1000110);
});
