// The example objects run through a live Collection; expected values are the ones
// test/examples/kernel-run.test.ts derives independently for the kernel (histograms, primes,
// tail-call paths, timer ticks), and Life boards come from the TypeScript model.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { type CollectionOptions, type Engine, newCollection } from '../../src/runtime/collection.ts';
import { type Cell, lifeRun } from '../examples/life-model.ts';
import { ETH_P_ARP, ETH_P_IPV6, ethernet, ipv6, onesSum, udp, udp4Packet } from '../examples/packets.ts';

const XDP_DROP = 1;
const XDP_PASS = 2;
const XDP_TX = 3;

// Every test runs on both engines: the interpreter and the WebAssembly JIT.
let engine: Engine = 'interp';
function both(name: string, fn: () => void | Promise<void>): void {
  for (const e of ['interp', 'jit'] as const)
    test(`${name} [${e}]`, () => {
      engine = e;
      return fn();
    });
}

// src/verifier is tested on its own and does not accept every example yet (map-in-map, core);
// these tests are about running them.
function open(example: string, opts: CollectionOptions = {}) {
  const file = `examples/${example}.bpf.o`;
  return newCollection(loadCollectionSpec(readFileSync(file), { file }), {
    verify: false,
    engine,
    ...opts,
  });
}

const key32 = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);
function u64(bytes: Uint8Array | undefined, off: number): bigint {
  assert.ok(bytes instanceof Uint8Array);
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(off, true);
}
function value(c: ReturnType<typeof open>, map: string, key: Uint8Array): Uint8Array {
  const v = c.map(map).lookup(key);
  assert.ok(v instanceof Uint8Array, `${map} has the key`);
  return v;
}

both('bpf-loop: the histogram callback sees every packet byte', () => {
  const c = open('bpf-loop/bpf_loop');
  const pkt = udp4Packet(53);
  const r = c.program('loop_histogram').run({ data: pkt });
  assert.equal(r.retval, XDP_PASS);
  const want = new Array<bigint>(16).fill(0n);
  for (const b of pkt) want[b >> 4]! += 1n;
  assert.deepEqual(
    want.map((_, i) => u64(value(c, 'histogram', key32(i)), 0)),
    want,
  );
  c.close();
});

both('bpf-loop: nested bpf_loop sieve counts the primes below prime_limit', () => {
  const primes = (limit: number) => {
    const p: number[] = [];
    for (let n = 2; n < limit; n++) if (p.every((q) => n % q !== 0)) p.push(n);
    return p;
  };
  for (const limit of [1000, 100]) {
    const c = open('bpf-loop/bpf_loop', { rodata: { prime_limit: limit } });
    const r = c.program('loop_primes').run();
    // bpf_loop returns the callback count, the last call (p = limit) stopping it.
    assert.equal(r.retval, limit + 1);
    const bss = value(c, 'bpf_loop.bss', key32(0));
    const want = primes(limit);
    assert.deepEqual(
      [u64(bss, 0), u64(bss, 8)].sort((a, b) => Number(a - b)),
      [BigInt(want.length), BigInt(want.at(-1)!)].sort((a, b) => Number(a - b)),
    );
    c.close();
  }
});

both('tail-calls: stages chain through the prog array filled from the initialiser', () => {
  const chain = (data: Uint8Array) => {
    const c = open('tail-calls/tail_calls');
    const r = c.program('tail_entry').run({ data });
    const hops = Array.from({ length: 8 }, (_, i) => Number(u64(value(c, 'hops', key32(i)), 0)));
    c.close();
    return { retval: r.retval, hops };
  };
  assert.deepEqual(chain(udp4Packet(53)), { retval: XDP_TX, hops: [1, 1, 0, 1, 0, 0, 0, 0] });
  const v6 = ethernet(ETH_P_IPV6, ipv6(17, udp(1, 2, new Uint8Array(4))));
  assert.deepEqual(chain(v6), { retval: XDP_TX, hops: [1, 0, 1, 1, 0, 0, 0, 0] });
  assert.deepEqual(chain(ethernet(ETH_P_ARP, new Uint8Array(28))), {
    retval: XDP_PASS,
    hops: [1, 0, 0, 0, 0, 0, 0, 1],
  });
  assert.deepEqual(chain(udp4Packet(53, undefined, { ttl: 1 })), {
    retval: XDP_DROP,
    hops: [1, 1, 0, 0, 0, 0, 0, 0],
  });
});

both('timer: the ticker fires max_ticks times, period_ns apart in virtual time', () => {
  for (const [prog, ticks, ret] of [
    ['timer_arm', 5, 0],
    ['timer_arm_xdp', 3, XDP_PASS],
  ] as const) {
    const period = 1_000_000;
    const c = open('timer/timer', { rodata: { max_ticks: ticks, period_ns: period } });
    const r = prog === 'timer_arm' ? c.program(prog).run() : c.program(prog).run({ data: udp4Packet(1) });
    assert.equal(r.retval, ret, prog);
    assert.equal(c.loop.pending, 1, 'armed, not yet fired');
    const ran = c.loop.runUntilIdle(1000);
    assert.equal(ran, ticks);
    // struct ticker {bpf_timer (16 bytes), ticks, first_ns, last_ns}
    const t = value(c, 'tickers', key32(0));
    assert.equal(u64(t, 16), BigInt(ticks));
    // First tick at once, then one every period: exact in virtual time.
    assert.equal(u64(t, 32) - u64(t, 24), BigInt((ticks - 1) * period));
    for (let i = 0; i < ticks; i++) assert.equal(u64(value(c, 'tick_log', key32(i)), 0), BigInt(i * period));
    const bss = value(c, 'timer.bss', key32(0));
    assert.deepEqual([u64(bss, 0), u64(bss, 8)].sort(), [0n, BigInt(ticks)].sort());
    c.close();
  }
});

both('timer: a one-shot deletes its own element; cancel semantics', () => {
  const c = open('timer/timer');
  assert.equal(c.program('timer_oneshot').run().retval, 0);
  assert.equal(c.loop.runUntil(c.loop.now() + 99_999), 0, 'not before 100 us');
  assert.equal(c.loop.runUntil(c.loop.now() + 1), 1);
  assert.equal(c.map('oneshots').nextKey(), undefined, 'element deleted by its callback');
  assert.equal(c.timers.size, 0, 'and its timer freed with it');
  // Many one-shots in a row leave nothing behind.
  for (let i = 0; i < 100; i++) {
    assert.equal(c.program('timer_oneshot').run().retval, 0);
    c.loop.runUntilIdle();
  }
  assert.equal(c.timers.size, 0);
  const bss = value(c, 'timer.bss', key32(0));
  assert.deepEqual([u64(bss, 0), u64(bss, 8)], [101n, 101n]);
  // bpf_timer_cancel on a timer never initialised: -EINVAL as u32.
  assert.equal(c.program('timer_stop').run().retval, 2 ** 32 - 22);
  // Armed (first tick due now): cancel returns 1, and nothing fires afterwards.
  assert.equal(c.program('timer_arm').run().retval, 0);
  assert.equal(c.program('timer_stop').run().retval, 1);
  assert.equal(c.program('timer_stop').run().retval, 0);
  assert.equal(c.loop.runUntilIdle(), 0);
  c.close();
});

both('timer: close() cancels armed timers', () => {
  const c = open('timer/timer', { rodata: { max_ticks: 100 } });
  c.program('timer_arm').run();
  assert.equal(c.timers.armed, 1);
  c.close();
  assert.equal(c.timers.size, 0);
});

const W = 64;
const H = 40;
// examples/life's board map: one struct life_board, a 16-byte header then 256 rows of 32 bytes,
// cell x of a row at bit x % 8 of byte x / 8.
function board(c: ReturnType<typeof open>): string[] {
  const v = value(c, 'board', key32(0));
  const cells: string[] = [];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) if ((v[16 + y * 32 + (x >> 3)]! >> (x & 7)) & 1) cells.push(`${x},${y}`);
  return cells.sort();
}
function place(c: ReturnType<typeof open>, cells: Cell[]): void {
  const v = new Uint8Array(16 + 256 * 32);
  for (const [x, y] of cells) v[16 + y * 32 + (x >> 3)]! |= 1 << (x & 7);
  c.map('board').update(key32(0), v);
}

both('life: start arms the timer; N virtual periods give N generations equal to the model', () => {
  // R-pentomino: chaotic for 1103 generations, a good test of every rule and the torus edge.
  const rpent: Cell[] = [
    [31, 19],
    [32, 19],
    [30, 20],
    [31, 20],
    [31, 21],
  ];
  const period = 5_000_000;
  const c = open('life/life', { rodata: { period_ns: period } });
  place(c, rpent);
  const t0 = c.loop.now();
  assert.equal(c.program('start').run().retval, 0);
  const n = 60;
  assert.equal(c.loop.runUntil(t0 + n * period), n);
  assert.deepEqual(board(c), [...lifeRun(rpent, { width: W, height: H, torus: true }, n)].sort());
  const bss = value(c, 'life.bss', key32(0));
  assert.equal(u64(bss, 0), BigInt(n), 'generation');
  assert.equal(u64(bss, 16), BigInt(n), 'timer ticks');
  // stop cancels the armed timer: the next period passes with no generation.
  assert.equal(c.program('stop').run().retval, 1);
  assert.equal(c.loop.runUntil(t0 + (n + 5) * period), 0);
  c.close();
});

both('life: a glider crosses the torus (160 generations = back where it started, shifted 40,40)', () => {
  const glider: Cell[] = [
    [1, 0],
    [2, 1],
    [0, 2],
    [1, 2],
    [2, 2],
  ];
  const c = open('life/life', { rodata: { period_ns: 0, max_generations: 160 } });
  place(c, glider);
  c.program('start').run();
  // period 0: every generation is due at once; max_generations stops the re-arming.
  assert.equal(c.loop.runUntilIdle(10_000), 160);
  const want = glider.map(([x, y]) => `${(x + 40) % W},${(y + 40) % H}`).sort();
  assert.deepEqual(board(c), want);
  c.close();
});

both('tc-classifier: EF packet with TTL 2 gets TTL 8, a valid checksum, mark 0x103', () => {
  // Expected values from test/examples/kernel-run.test.ts (derived from the program's purpose).
  const c = open('tc-classifier/tc_classifier');
  const pkt = udp4Packet(53, undefined, { tos: 46 << 2, ttl: 2 });
  const r = c.program('tc_classify').run({ data: pkt, ctx: new Uint8Array(192) });
  assert.equal(r.retval, 0);
  const out = r.dataOut;
  assert.equal(out[14 + 8], 8);
  assert.equal(onesSum(out.subarray(14, 34)), 0xffff);
  const expect = pkt.slice();
  expect[14 + 8] = 8;
  expect.set(out.subarray(24, 26), 24);
  assert.deepEqual(out, expect);
  assert.ok(r.ctxOut);
  const ctx = new DataView(r.ctxOut.buffer, r.ctxOut.byteOffset);
  assert.equal(ctx.getUint32(8, true), 0x103);
  assert.equal(ctx.getUint32(32, true), 6);
  const stats = value(c, 'tc_stats', key32(3));
  assert.deepEqual([u64(stats, 0), u64(stats, 8), u64(stats, 16)], [1n, BigInt(pkt.length), 1n]);
  c.close();
});

both('life on the real clock: five generations 1 ms apart, then the timer stops', async () => {
  const blinker: Cell[] = [
    [10, 5],
    [11, 5],
    [12, 5],
  ];
  const c = open('life/life', { clock: 'real', rodata: { period_ns: 1_000_000, max_generations: 5 } });
  place(c, blinker);
  const t0 = c.loop.now();
  assert.equal(c.program('start').run().retval, 0);
  await c.loop.idle();
  assert.ok(c.loop.now() - t0 >= 5_000_000, 'timers never fire early');
  // Odd number of generations: the blinker is vertical.
  assert.deepEqual(board(c), [...lifeRun(blinker, { width: W, height: H, torus: true }, 5)].sort());
  // Ring buffer records carry bpf_ktime_get_ns from the same clock, increasing.
  const times = (c.map('generations') as unknown as { consume(): Uint8Array[] })
    .consume()
    .map((e) => u64(e, 8));
  assert.equal(times.length, 5);
  for (let i = 1; i < 5; i++) assert.ok(times[i]! > times[i - 1]!);
  assert.ok(times[0]! >= BigInt(Math.floor(t0)));
  c.close();
});

// Expected values below are those test/examples/kernel-run.test.ts checks in the kernel.

both('maps: the self-test leaves the contents its comments promise', () => {
  const c = open('maps/maps', { nrCpus: 4 });
  assert.equal(c.program('maps_selftest').run({ data: new Uint8Array(64) }).retval, XDP_PASS);
  const keys: number[] = [];
  for (let k = c.map('hash_map').nextKey(); k; k = c.map('hash_map').nextKey(k))
    keys.push(new DataView(k.buffer, k.byteOffset).getUint32(0, true));
  assert.deepEqual(keys.sort(), [1, 3]);
  const u64at = (m: string, k: Uint8Array) => u64(value(c, m, k), 0);
  assert.equal(u64at('hash_map', key32(1)), 10n);
  assert.equal(u64at('hash_map', key32(3)), 35n);
  const lruKey = new Uint8Array(new BigUint64Array([0x1122334455667788n]).buffer);
  assert.equal(new DataView(value(c, 'lru_map', lruKey).buffer).getUint32(0, true), 7);
  for (let i = 0; i < 8; i++) {
    const v = new DataView(value(c, 'array_map', key32(i)).buffer);
    assert.deepEqual([v.getUint32(0, true), v.getUint32(4, true)], [i, i * i]);
  }
  // Per-CPU maps: summed over the CPUs, as the kernel test sums kobj's per-CPU dump.
  type PerCpu = { lookupPerCpu(k: Uint8Array): Uint8Array[] | undefined };
  const sum = (m: string, k: Uint8Array) =>
    ((c.map(m) as unknown as PerCpu).lookupPerCpu(k) ?? []).reduce((a, v) => a + u64(v, 0), 0n);
  assert.equal(sum('percpu_hash_map', key32(9)), 99n);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => sum('percpu_array_map', key32(i))),
    [0n, 3n, 0n, 0n],
  );
  const events = (c.map('ringbuf') as unknown as { consume(): Uint8Array[] }).consume().map((e) => {
    const d = new DataView(e.buffer, e.byteOffset);
    return [d.getUint32(0, true), d.getUint32(4, true), d.getBigUint64(8, true)];
  });
  assert.deepEqual(events, [
    [1, 132, 1n],
    [2, 3, 35n],
  ]);
  c.close();
});

both('map-in-map: the inner map is chosen by length parity; the spin-locked pair counts', () => {
  for (const len of [64, 65]) {
    const c = open('map-in-map/map_in_map');
    assert.equal(c.program('mim_xdp').run({ data: new Uint8Array(len) }).retval, XDP_PASS);
    const slots = (m: string) => [0, 1, 2, 3].map((i) => u64(value(c, m, key32(i)), 0));
    const [hit, miss] = len % 2 ? ['inner_odd', 'inner_even'] : ['inner_even', 'inner_odd'];
    assert.deepEqual(slots(hit!), [1n, BigInt(len), 0n, 0n]);
    assert.deepEqual(slots(miss!), [0n, 0n, 0n, 0n]);
    const byQuarter = [0n, 0n, 0n, 0n];
    byQuarter[len & 3] = 1n;
    assert.deepEqual(slots('inner_h'), byQuarter);
    const locked = value(c, 'locked', key32(1));
    assert.deepEqual([u64(locked, 8), u64(locked, 16)], [1n, BigInt(len)]);
    c.close();
  }
});
