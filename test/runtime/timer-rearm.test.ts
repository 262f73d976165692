// CI-sized run of timer-rearm.ts: 100,000 re-arms in virtual time with constant memory. The
// heap is measured in a child started with --expose-gc (a test runner's own allocations make
// in-process numbers noisy). The full 1,000,000:
//   node --expose-gc --import tsx test/runtime/timer-rearm.ts 1000000
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { RearmReport } from './timer-rearm.ts';

test('a timer re-armed 100,000 times from its callback keeps one event and constant memory', () => {
  const n = 100_000;
  const script = new URL('./timer-rearm.ts', import.meta.url).pathname;
  const root = new URL('../..', import.meta.url).pathname;
  const p = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(n), '--json'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(p.status, 0, p.stderr);
  const r = JSON.parse(p.stdout) as RearmReport;
  assert.equal(r.ticks, n);
  assert.equal(r.eventsRun, n);
  assert.equal(r.maxPending, 1);
  assert.equal(r.timers, 1);
  assert.equal(r.arenaAfter, r.arenaBefore);
  // A leak of even 20 bytes per re-arm would add 0.9 MB over the second half.
  const growth = r.heapAfter - r.heapMid;
  assert.ok(growth < 500_000, `heap grew by ${growth} bytes over the last ${n * 0.45} re-arms`);
});
