// The event loop on its own (ordering, cancelling, virtual and real clocks) and the event
// attach points: a periodic perf_event program, kprobe/tracepoint programs fired by host events.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { UsageError } from '../../src/errors.ts';
import { attachPerfEvent, HostEvents, runPacketStream } from '../../src/runtime/attach/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';
import { EventLoop } from '../../src/runtime/event-loop.ts';
import { udp4Packet } from '../examples/packets.ts';

test('virtual loop: deadline order, FIFO ties, cancel, runUntil sets the clock', () => {
  const loop = new EventLoop({ startNs: 1000 });
  const seen: string[] = [];
  loop.schedule(1500, () => seen.push('b'));
  loop.schedule(1200, () => seen.push('a'));
  const c = loop.schedule(1300, () => seen.push('cancelled'));
  loop.schedule(1500, () => seen.push('b2'));
  loop.schedule(0, () => seen.push('now')); // in the past: as soon as possible
  assert.equal(loop.cancel(c), true);
  assert.equal(loop.cancel(c), false);
  assert.equal(loop.runUntil(1499), 2);
  assert.equal(loop.now(), 1499);
  assert.deepEqual(seen, ['now', 'a']);
  assert.equal(loop.runSteps(1), 1);
  assert.equal(loop.now(), 1500);
  assert.equal(loop.runUntilIdle(), 1);
  assert.deepEqual(seen, ['now', 'a', 'b', 'b2']);
  // The clock never goes back.
  loop.runUntil(10);
  assert.equal(loop.now(), 1500);
  assert.throws(() => new EventLoop({ mode: 'real' }).runSteps(1), UsageError);
});

test('virtual loop: many random events come out sorted; cancelling half leaves the rest', () => {
  const loop = new EventLoop({ startNs: 0 });
  let x = 12345;
  const rnd = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % 100000;
  };
  const fired: number[] = [];
  const evs = Array.from({ length: 2000 }, () => {
    const d = rnd();
    return { d, ev: loop.schedule(d, () => fired.push(d)) };
  });
  const kept = evs.filter((_, i) => i % 2 === 0 || !loop.cancel(evs[i]!.ev)).map((e) => e.d);
  assert.equal(loop.pending, 1000);
  loop.runUntilIdle();
  assert.deepEqual(
    fired,
    [...kept].sort((a, b) => a - b),
  );
});

test('real loop: events fire on host timers in order; idle() resolves', async () => {
  const loop = new EventLoop({ mode: 'real' });
  const seen: number[] = [];
  const t0 = loop.now();
  loop.schedule(t0 + 3_000_000, () => seen.push(2));
  loop.schedule(t0, () => seen.push(1));
  await loop.idle();
  assert.deepEqual(seen, [1, 2]);
  assert.ok(loop.now() >= t0 + 3_000_000);
  loop.close();
});

function events(opts = {}) {
  const file = 'test/runtime/fixtures/events.bpf.o';
  return newCollection(loadCollectionSpec(readFileSync(file), { file }), { verify: false, ...opts });
}
function counts(c: ReturnType<typeof events>): bigint[] {
  const v = c.map('events.bss').lookup(new Uint8Array(4));
  assert.ok(v instanceof Uint8Array);
  const dv = new DataView(v.buffer, v.byteOffset);
  return Array.from({ length: 7 }, (_, i) => dv.getBigUint64(8 * i, true));
}

test('perf_event: fired every period on the virtual clock, with sample_period in its context', () => {
  const c = events();
  const t0 = c.loop.now();
  const link = attachPerfEvent(c.program('on_sample'), { periodNs: 250_000 });
  c.loop.runUntil(t0 + 1_000_000);
  let [samples, period, lastNs] = counts(c);
  assert.equal(samples, 4n);
  assert.equal(period, 250_000n);
  assert.equal(lastNs, BigInt(t0 + 1_000_000));
  link.close();
  c.loop.runUntil(t0 + 2_000_000);
  [samples] = counts(c);
  assert.equal(samples, 4n, 'nothing after close');
  c.close();
});

test('host events: kprobe and tracepoint programs see the context the host lays out', () => {
  const c = events();
  const ev = new HostEvents();
  ev.attach(c.program('on_kprobe')); // "do_nanosleep", from the section name
  const tp = ev.attach(c.program('on_tracepoint'), 'syscalls/sys_enter_openat');
  const regs = new Uint8Array(21 * 8);
  for (const di of [5n, 7n]) {
    new DataView(regs.buffer).setBigUint64(112, di, true);
    assert.equal(ev.emit('do_nanosleep', regs).length, 1);
  }
  const tpCtx = new Uint8Array(16);
  new DataView(tpCtx.buffer).setUint32(8, 40, true);
  ev.emit('syscalls/sys_enter_openat', tpCtx);
  tp.close();
  assert.equal(ev.emit('syscalls/sys_enter_openat', tpCtx).length, 0);
  assert.deepEqual(counts(c).slice(3), [2n, 12n, 1n, 40n]);
  // bpf_printk lines land in the collection's trace pipe.
  assert.deepEqual(c.tracePipe, ['openat flags=40 n=1']);
  assert.throws(() => ev.attach(c.program('on_sample')), UsageError);
  c.close();
});

test('cgroup_skb over a packet stream: allow/deny counts and the allowed packets', () => {
  const c = events();
  // IPv4 total length = 20 + 8 + payload: even payloads are allowed.
  const pkts = [0, 1, 2, 3, 4].map((n) => udp4Packet(7, new Uint8Array(n)));
  const r = runPacketStream(c.program('even_only'), pkts, { keepOutput: true });
  assert.equal(r.actions.get('ALLOW'), 3);
  assert.equal(r.actions.get('DENY'), 2);
  assert.deepEqual(
    r.output.map((o) => o.data),
    [pkts[0], pkts[2], pkts[4]],
  );
  c.close();
});
