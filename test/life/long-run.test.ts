// Memory stays flat while the timer re-arms itself for a million generations, and the
// verifier gate of the host.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import { LifeHost } from '../../src/life/host.ts';
import { longRun } from './long-run.ts';

// A gc() for exact heap numbers without --expose-gc on the command line.
setFlagsFromString('--expose-gc');
(globalThis as { gc?: () => void }).gc ??= runInNewContext('gc') as () => void;

// The acceptance run of issue 11: a million generations, each one timer callback that re-arms
// the timer, in virtual time. 64×16 (one block of rows, the default width) keeps it to about
// 20 s on a loaded 2-core machine. No timing is asserted; the duration is a diagnostic.
test('1,000,000 generations in virtual time: one pending event, one timer, flat arena and heap', (t) => {
  const n = 1_000_000;
  const r = longRun(n, 'jit', 64, 16);
  assert.equal(r.generations, n);
  assert.equal(r.records, n, 'every generation published one ring-buffer record, all consumed');
  assert.equal(r.lastLive, r.boardLive, 'the last record counts the cells on the board');
  assert.equal(r.maxPending, 1, 'a re-armed timer keeps exactly one event pending');
  assert.equal(r.timers, 1);
  assert.equal(r.arenaAfter, r.arenaBefore, 'no arena growth');
  // Heap after gc, from the end of a 100,000-generation warm-up (V8 still optimising before it)
  // to the end: anything kept per generation (a record copy, an event object: 40+ bytes) would
  // add 36+ MiB over the 900,000 generations; the bounds leave room for V8's own noise.
  const mib = (b: number) => `${(b / 1048576).toFixed(2)} MiB`;
  const heaps = `${mib(r.heapBefore)} -> ${mib(r.heapMid)} -> ${mib(r.heapAfter)}`;
  t.diagnostic(`heap after warm-up, half-way, at the end: ${heaps}`);
  t.diagnostic(`900,000 generations after the warm-up in ${(r.ms / 1000).toFixed(1)} s`);
  assert.ok(r.heapAfter - r.heapBefore < 4 << 20, `heap ${heaps}`);
  assert.ok(r.heapAfter - r.heapMid < 2 << 20, `heap ${heaps}`);
});

test('the host verifies start and stop with tsbpf verifier, with the timer and .rodata facts', () => {
  const host = new LifeHost({ width: 12, height: 8 });
  try {
    assert.deepEqual(
      host.verdicts.map((v) => [v.name, v.result.verdict]),
      [
        ['start', 'accept'],
        ['stop', 'accept'],
      ],
    );
    const start = host.verdicts[0]!;
    // start calls the timer callback's subprograms: life_step, place_pending, next_rows, each a frame.
    assert.ok(start.functions.length > 3, start.functions.map((f) => f.name).join(' '));
    assert.equal(start.result.stats.stackDepth.length, start.functions.length);
    // Each row is unrolled over its 64-cell words, guarded by the word count from .rodata:
    // the verifier walks only the words the width needs, so 130 columns (3 words) cost more.
    const wide = new LifeHost({ width: 130, height: 8 });
    try {
      assert.ok(wide.verdicts[0]!.result.insnsProcessed > start.result.insnsProcessed);
    } finally {
      wide.close();
    }
  } finally {
    host.close();
  }
});
