// Attach points: 10,000 firewall packets from a pcap through xdp_firewall (per-packet actions,
// per-action counts, per-CPU verdict counters and per-source drops against the model in
// test/examples/firewall-traffic.ts), output pcaps, the pcap/pcapng reader on good and
// malformed files, periodic and host-emitted events, and the buffer readers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { InputError } from '../../src/errors.ts';
import { createMap, PerfEventArrayMap } from '../../src/maps/index.ts';
import {
  PerfReader,
  readPcap,
  RingbufReader,
  runPacketStream,
  writePcap,
} from '../../src/runtime/attach/index.ts';
import { type Engine, newCollection } from '../../src/runtime/collection.ts';
import { Arena } from '../../src/vm/arena.ts';
import {
  blockedPorts,
  blockedSources,
  firewallTraffic,
  firewallVerdict,
  Verdict,
  verdictAction,
} from '../examples/firewall-traffic.ts';
import { ipv4Addr, udp4Packet } from '../examples/packets.ts';
import { writePcap as writeUsPcap } from '../examples/pcap.ts';

// src/verifier is tested on its own (and still in progress); these tests are about running.
const verify = false;

function open(path: string, engine: Engine = 'interp') {
  return newCollection(loadCollectionSpec(readFileSync(path), { file: path }), { nrCpus: 2, verify, engine });
}

for (const engine of ['interp', 'jit'] as const)
  test(`xdp_firewall over a 10,000-packet pcap agrees with the model [${engine}]`, () => {
    const c = open('examples/xdp-firewall/xdp_firewall.bpf.o', engine);
    for (const s of blockedSources) c.map('blocked_src').update(ipv4Addr(s), new Uint8Array(8));
    for (const p of blockedPorts)
      c.map('blocked_port').update(new Uint8Array(new Uint32Array([p]).buffer), new Uint8Array([1]));
    const packets = firewallTraffic(10000);
    // Through the file format: the test's own microsecond writer, tsbpf's reader.
    const records = readPcap(writeUsPcap(packets), 'traffic.pcap');
    assert.equal(records.length, packets.length);
    const actions: number[] = [];
    const report = runPacketStream(c.program('xdp_firewall'), records, {
      keepOutput: true,
      onPacket: (v) => actions.push(v.retval),
    });
    assert.equal(report.packets, 10000);
    const want = packets.map((p) => verdictAction(firewallVerdict(p)));
    const first = actions.findIndex((a, i) => a !== want[i]);
    assert.equal(first, -1, `packet ${first}: tsbpf ${actions[first]}, model ${want[first]}`);
    const passes = want.filter((a) => a === 2).length;
    assert.equal(report.actions.get('XDP_PASS'), passes);
    assert.equal(report.actions.get('XDP_DROP'), 10000 - passes);
    // Output pcap: exactly the passed packets, unchanged (the firewall does not rewrite).
    const out = readPcap(report.outputPcap());
    assert.deepEqual(
      out.map((r) => r.data),
      packets.filter((_, i) => want[i] === 2),
    );
    // verdicts is a per-CPU array; the run used CPU 0 of 2.
    const counters = c.map('verdicts') as unknown as {
      lookupPerCpu(k: Uint8Array): Uint8Array[] | undefined;
    };
    for (const v of Object.values(Verdict)) {
      const per = counters.lookupPerCpu(new Uint8Array(new Uint32Array([v]).buffer));
      assert.ok(per);
      const n = packets.filter((p) => firewallVerdict(p) === v).length;
      assert.equal(
        new DataView(per[0]!.buffer, per[0]!.byteOffset).getBigUint64(0, true),
        BigInt(n),
        `slot ${v}`,
      );
      assert.equal(new DataView(per[1]!.buffer, per[1]!.byteOffset).getBigUint64(0, true), 0n);
    }
    for (const s of blockedSources) {
      const n = packets.filter(
        (p) => firewallVerdict(p) === Verdict.DropSrc && Array.from(p.subarray(26, 30)).join('.') === s,
      ).length;
      const v = c.map('blocked_src').lookup(ipv4Addr(s));
      assert.ok(v instanceof Uint8Array);
      assert.equal(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true), BigInt(n), s);
    }
    c.close();
  });

test('socket filter stream: accepted packets truncated to what the filter keeps', () => {
  const c = newCollection(
    loadCollectionSpec(readFileSync('examples/socket-filter/socket_filter.bpf.o'), {
      file: 'socket_filter.bpf.o',
    }),
    { verify },
  );
  const keep = udp4Packet(53);
  const other = udp4Packet(80);
  // A 10-byte frame is shorter than an Ethernet header: test runs refuse it, the stream skips it.
  const runt = new Uint8Array(10);
  const r = runPacketStream(c.program('udp_port_filter'), [keep, runt, other, keep], { keepOutput: true });
  assert.equal(r.packets, 3);
  assert.equal(r.rejected, 1);
  assert.equal(r.actions.get('ACCEPT'), 2);
  assert.equal(r.actions.get('DROP'), 1);
  for (const o of r.output) assert.deepEqual(o.data, keep.subarray(0, o.data.length));
  c.close();
});

test('pcap reader: both byte orders, nanoseconds, pcapng; clear errors on malformed files', () => {
  const pkts = [udp4Packet(1), udp4Packet(2, new Uint8Array(100))];
  const ns = writePcap(pkts.map((data, i) => ({ data, timeNs: 1_500_000_000_123_456_789n + BigInt(i) })));
  const got = readPcap(ns);
  assert.deepEqual(
    got.map((p) => p.data),
    pkts,
  );
  assert.equal(got[1]!.timeNs, 1_500_000_000_123_456_790n);
  // Big-endian microsecond file, built by hand.
  const be = new Uint8Array(24 + 16 + 4);
  const dv = new DataView(be.buffer);
  dv.setUint32(0, 0xa1b2c3d4, false);
  dv.setUint32(16, 65535, false);
  dv.setUint32(20, 1, false);
  dv.setUint32(24, 7, false);
  dv.setUint32(28, 9, false);
  dv.setUint32(32, 4, false);
  dv.setUint32(36, 4, false);
  be.set([1, 2, 3, 4], 40);
  assert.deepEqual(readPcap(be), [
    { timeNs: 7_000_009_000n, data: new Uint8Array([1, 2, 3, 4]), origLen: 4, linkType: 1 },
  ]);
  // pcapng: SHB, IDB (nanosecond resolution), EPB.
  const block = (type: number, body: number[]) => {
    const len = 12 + body.length;
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, len, true);
    b.set(body, 8);
    v.setUint32(len - 4, len, true);
    return b;
  };
  const le32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
  const shb = block(0x0a0d0d0a, [...le32(0x1a2b3c4d), 1, 0, 0, 0, ...le32(0xffffffff), ...le32(0xffffffff)]);
  const idb = block(1, [1, 0, 0, 0, ...le32(65535), 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
  const epb = block(6, [...le32(0), ...le32(0), ...le32(2_000_000_000), ...le32(4), ...le32(60), 9, 8, 7, 6]);
  const ng = new Uint8Array([...shb, ...idb, ...epb]);
  assert.deepEqual(readPcap(ng), [
    { timeNs: 2_000_000_000n, data: new Uint8Array([9, 8, 7, 6]), origLen: 60, linkType: 1 },
  ]);
  // Malformed: every one is an InputError naming the offset, never a crash.
  const bad: [Uint8Array, RegExp][] = [
    [new Uint8Array([1, 2]), /too short/],
    [new Uint8Array(24), /not a pcap/],
    [ns.subarray(0, 30), /truncated packet record header/],
    [ns.subarray(0, ns.length - 1), /runs past the end/],
    [ng.subarray(0, ng.length - 4), /runs past the end/],
    [new Uint8Array([...shb, ...epb]), /undeclared interface/],
  ];
  for (const [bytes, re] of bad) {
    assert.throws(
      () => readPcap(bytes, 'bad.pcap'),
      (e: unknown) =>
        e instanceof InputError &&
        re.test(e.message) &&
        /bad\.pcap/.test(e.format()) &&
        !e.message.includes('bad.pcap'),
    );
  }
  // Truncations at every length never escape as anything but InputError.
  for (let n = 0; n < ng.length; n++) {
    try {
      readPcap(ng.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof InputError, String(e));
    }
  }
});

test('ring buffer reader: Life generations as an async iterator', async () => {
  const c = newCollection(
    loadCollectionSpec(readFileSync('examples/life/life.bpf.o'), { file: 'life.bpf.o' }),
    {
      verify,
    },
  );
  for (let i = 0; i < 3; i++) c.program('step').run();
  const reader = new RingbufReader(c.map('generations') as never);
  const gens: bigint[] = [];
  for await (const rec of reader) gens.push(new DataView(rec.buffer, rec.byteOffset).getBigUint64(0, true));
  assert.deepEqual(gens, [1n, 2n, 3n]);
  assert.equal(reader.lost, 0);
  c.close();
});

test('perf buffer reader: samples per CPU in order, lost samples counted', async () => {
  const arena = new Arena();
  const m = createMap(
    arena,
    { type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 2 },
    { nrCpus: 2 },
  );
  assert.ok(m instanceof PerfEventArrayMap);
  // Two buffers of 64 bytes: a 20-byte sample takes 32 (12 bytes of header, padded to 8).
  m.open(0, { bytes: 64 });
  m.open(1, { bytes: 64 });
  const src = arena.alloc(20, 8, { kind: 'mem', writable: true });
  const out = (cpu: number, tag: number) => {
    arena.u8[src] = tag;
    return m.perfEventOutput(cpu, cpu, src, 20);
  };
  assert.equal(out(0, 1), 0);
  assert.equal(out(1, 2), 0);
  assert.equal(out(0, 3), 0);
  assert.ok(out(0, 4) < 0, 'third sample does not fit');
  const reader = new PerfReader(m);
  const got: [number, number][] = [];
  for await (const r of reader) got.push([r.cpu, r.data[0]!]);
  assert.deepEqual(got, [
    [0, 1],
    [0, 3],
    [1, 2],
  ]);
  assert.equal(reader.lost, 1);
  assert.equal(reader.lostByCpu.get(0), 1);
  m.close();
});

test('ring buffer reader in follow mode: records arrive as the real-clock timer produces them', async () => {
  const c = newCollection(
    loadCollectionSpec(readFileSync('examples/life/life.bpf.o'), { file: 'life.bpf.o' }),
    {
      verify,
      clock: 'real',
      rodata: { period_ns: 1_000_000, max_generations: 3 },
    },
  );
  c.program('start').run();
  const ac = new AbortController();
  const gens: bigint[] = [];
  for await (const rec of new RingbufReader(c.map('generations') as never, {
    follow: true,
    pollMs: 1,
    signal: ac.signal,
  })) {
    gens.push(new DataView(rec.buffer, rec.byteOffset).getBigUint64(0, true));
    if (gens.length === 3) ac.abort();
  }
  assert.deepEqual(gens, [1n, 2n, 3n]);
  await c.loop.idle();
  c.close();
});
