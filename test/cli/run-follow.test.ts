// tsbpf run --follow: timers armed by the run fire in virtual time and every ring-buffer record
// is printed after the callback that wrote it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli, root } from './helpers.ts';

const LIFE = `${root}examples/life/life.bpf.o`;

test('run --follow: life publishes one generation record per timer tick', async () => {
  // life.bpf.c: `start` arms a timer that steps the board every period_ns and stops re-arming at
  // max_generations; each step submits a life_event whose first field is the generation (u64).
  const r = await cli(
    'run',
    LIFE,
    '--prog',
    'start',
    '--no-verify',
    '--set',
    'period_ns=1000',
    '--set',
    'max_generations=3',
    '--follow',
    '--json',
    '--bpffs',
    '/nonexistent-tsbpf-pins',
  );
  assert.equal(r.code, 0, r.err);
  const lines = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const recs = lines.slice(0, -1);
  assert.deepEqual(
    recs.map((x) => [x.map, x.at_ns, Buffer.from(x.data as string, 'hex').readBigUInt64LE(0)]),
    [
      ['generations', 1000, 1n],
      ['generations', 2000, 2n],
      ['generations', 3000, 3n],
    ],
  );
  const summary = lines.at(-1) as {
    follow: { events: number; records: number; cut: boolean; ringbuf_lost: number };
  };
  assert.deepEqual(summary.follow, { events: 3, records: 3, ringbuf_lost: 0, perf_lost: 0, cut: false });

  // Unlimited generations: --follow-events bounds the loop and says so.
  const cut = await cli(
    'run',
    LIFE,
    '--prog',
    'start',
    '--no-verify',
    '--set',
    'period_ns=1000',
    '--follow',
    '--follow-events',
    '4',
    '--bpffs',
    '/nonexistent-tsbpf-pins',
  );
  assert.equal(cut.code, 0, cut.err);
  assert.equal(cut.out.match(/^\[\+\d+ ns\] ringbuf generations: /gm)?.length, 4);
  assert.match(
    cut.out,
    /follow: 4 events, 4 records, lost 0 ringbuf \/ 0 perf \(stopped at --follow-events\)/,
  );
});
