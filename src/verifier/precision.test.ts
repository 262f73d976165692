// The precision walk reads history entries in its innermost loop: entries made by the three
// writers (a step into a jump point, a stack access, linked scalars at a branch) must share one
// shape, or the loop's property loads go megamorphic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VerifierEnv } from './env.ts';
import { newHistEntry, noteStackAccess } from './precision.ts';
import { newFrame, newState } from './state.ts';
import type { VerifierState } from './state.ts';

const FIELDS = ['idx', 'prevIdx', 'stackFrame', 'spi', 'linked'];

function stateWithHistory(): VerifierState {
  return newState(newFrame(-1, 0, 0), 0);
}

test('a new history entry has every field, in one order', () => {
  const e = newHistEntry(7, 3);
  assert.deepEqual(Object.keys(e), FIELDS);
  assert.equal(e.idx, 7);
  assert.equal(e.prevIdx, 3);
  assert.equal(e.spi, undefined);
});

test('a stack access adds to the entry of its instruction or makes one of the same shape', () => {
  const st = stateWithHistory();
  const env = { cur: st, insnIdx: 5 } as unknown as VerifierEnv;
  noteStackAccess(env, 0, 2);
  assert.equal(st.history.length, 1);
  assert.deepEqual(Object.keys(st.history[0]!), FIELDS);
  assert.deepEqual([st.history[0]!.prevIdx, st.history[0]!.stackFrame, st.history[0]!.spi], [4, 0, 2]);
  // a jump into insn 9 was recorded first: the access at 9 fills in that entry
  st.history.push(newHistEntry(9, 2));
  (env as { insnIdx: number }).insnIdx = 9;
  noteStackAccess(env, 0, 3);
  assert.equal(st.history.length, 2);
  assert.deepEqual(Object.keys(st.history[1]!), FIELDS);
  assert.deepEqual([st.history[1]!.prevIdx, st.history[1]!.spi], [2, 3]);
});
