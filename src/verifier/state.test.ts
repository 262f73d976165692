// Copy-on-write of registers and stack slots between state copies (state.ts copyFrame()).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { u64 } from './domain/index.ts';
import { knownScalar, markShared } from './reg.ts';
import { emptySlot, STACK_MISC, STACK_SPILL, writableTypes } from './stack.ts';
import { copyFrame, newFrame, ownReg, ownSlot, ownSpilled } from './state.ts';

function frameWithSpill() {
  const f = newFrame(-1, 0, 0);
  f.regs[1] = knownScalar(u64.fromNumber(7));
  const slot = emptySlot();
  slot.slotType.fill(STACK_SPILL);
  slot.spilled = knownScalar(u64.fromNumber(9));
  f.stack.push(slot);
  return f;
}

test('a frame copy shares registers until one side writes: the writer gets its own object', () => {
  const f = frameWithSpill();
  const c = copyFrame(f);
  assert.equal(c.regs[1], f.regs[1]);
  assert.equal(f.regs[1]!.shared, true);
  const mine = ownReg(c, 1);
  mine.precise = true;
  assert.notEqual(c.regs[1], f.regs[1]);
  assert.equal(f.regs[1]!.precise, false);
  assert.equal(c.regs[1]!.precise, true);
  // the copy's own register is written in place from now on
  assert.equal(ownReg(c, 1), mine);
  // the scalar is still shared: only the register object was copied
  assert.equal(c.regs[1]!.s, f.regs[1]!.s);
});

test('a frame copy shares stack slots until one side writes: spilled register and byte types copied lazily', () => {
  const f = frameWithSpill();
  const c = copyFrame(f);
  assert.equal(c.stack[0], f.stack[0]);
  const mine = ownSlot(c, 0);
  assert.notEqual(mine, f.stack[0]);
  // the spilled register is still shared: an in-place write takes its own copy first
  assert.equal(mine.spilled, f.stack[0]!.spilled);
  ownSpilled(c, 0).precise = true;
  assert.equal(f.stack[0]!.spilled.precise, false);
  assert.equal(c.stack[0]!.spilled.precise, true);
  writableTypes(mine)[0] = STACK_MISC;
  assert.equal(f.stack[0]!.slotType[0], STACK_SPILL);
  assert.equal(mine.slotType[0], STACK_MISC);
  // the original's holder also copies before it writes, as it cannot know the copy let go
  const theirs = ownSlot(f, 0);
  assert.notEqual(theirs, mine);
  assert.equal(f.stack[0], theirs);
});

test('a spill shares the register object with the register; a write to either copies it', () => {
  const f = frameWithSpill();
  const r = f.regs[1]!;
  markShared(r);
  f.stack[0]!.spilled = r;
  ownSpilled(f, 0).precise = true;
  assert.equal(r.precise, false);
  ownReg(f, 1).id = 5;
  assert.equal(r.id, 0);
  assert.notEqual(f.regs[1], f.stack[0]!.spilled);
});

test('ownReg() on a register no copy shares returns it unchanged', () => {
  const f = frameWithSpill();
  const r = f.regs[1]!;
  assert.equal(ownReg(f, 1), r);
  assert.equal(ownSlot(f, 0), f.stack[0]);
});
