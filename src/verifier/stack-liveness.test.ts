import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleAuto } from '../isa/index.ts';
import { checkSubprogs } from './cfg.ts';
import { computeLiveStack } from './stack-liveness.ts';

/** Is slot spi (fp-8*(spi+1)) live before instruction i? */
function liveAt(src: string, i: number, spi: number): boolean {
  const insns = assembleAuto(src, 'test.s');
  const live = computeLiveStack(insns, checkSubprogs(insns));
  return ((live[2 * i + (spi >> 5)]! >>> (spi & 31)) & 1) === 1;
}

test('a slot read later is live until it is overwritten', () => {
  const src = ['*(u64 *)(r10 - 8) = r1', 'r0 = *(u64 *)(r10 - 8)', 'exit'].join('\n');
  assert.equal(liveAt(src, 0, 0), false); // the store overwrites it before any read
  assert.equal(liveAt(src, 1, 0), true);
  assert.equal(liveAt(src, 2, 0), false);
});

test('a 4-byte store does not kill the slot; a read through a copy of r10 counts', () => {
  const src = ['*(u32 *)(r10 - 8) = r1', 'r2 = r10', 'r2 += -8', 'r0 = *(u64 *)(r2 + 0)', 'exit'].join('\n');
  assert.equal(liveAt(src, 0, 0), true);
  assert.equal(liveAt(src, 3, 0), true);
  assert.equal(liveAt(src, 3, 1), false);
});

test('a helper reads from its stack argument up to the frame top', () => {
  const src = ['r2 = r10', 'r2 += -16', 'r1 = 0', 'call 1', 'r0 = 0', 'exit'].join('\n');
  assert.equal(liveAt(src, 3, 0), true);
  assert.equal(liveAt(src, 3, 1), true);
  assert.equal(liveAt(src, 3, 2), false);
  assert.equal(liveAt(src, 4, 1), false);
});

test('a callback helper may touch any slot through its argument', () => {
  const src = ['r3 = r10', 'r3 += -8', 'r1 = 1', 'r2 = 0', 'r4 = 0', 'call 181', 'r0 = 0', 'exit'].join('\n');
  assert.equal(liveAt(src, 5, 20), true);
});

test('a stack address stored to memory keeps every slot live', () => {
  const src = ['r2 = r10', 'r2 += -8', '*(u64 *)(r10 - 16) = r2', 'r0 = 0', 'exit'].join('\n');
  assert.equal(liveAt(src, 3, 5), true);
  assert.equal(liveAt(src, 4, 40), true);
});
