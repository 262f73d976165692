// tsbpf attach --follow: ring-buffer records printed as the packet that produced them finishes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { writePcap } from '../examples/pcap.ts';
import { cli, root, scratch } from './helpers.ts';

const MAPS = `${root}examples/maps/maps.bpf.o`;

test('attach --follow prints each record with its packet; --json one object per line', async () => {
  const s = scratch('tsbpf-follow-');
  try {
    const pcap = s.path('three.pcap');
    writeFileSync(pcap, writePcap([0, 1, 2].map(() => new Uint8Array(64))));
    const fs = ['--bpffs', s.dir];
    const r = await cli(
      'attach',
      MAPS,
      '--prog',
      'maps_selftest',
      '--pcap',
      pcap,
      '--follow',
      '--json',
      ...fs,
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // maps_selftest (examples/maps/maps.bpf.c) submits two `struct event {u32 kind; u32 value;
    // u64 sum}` per run: kind 1 by reserve/submit, then kind 2 by output with sum 35.
    const recs = lines.slice(0, -1);
    assert.deepEqual(
      recs.map((x) => x.packet),
      [0, 0, 1, 1, 2, 2],
    );
    for (const [i, x] of recs.entries()) {
      const b = Buffer.from(x.data as string, 'hex');
      assert.equal(b.length, 16);
      assert.equal(b.readUInt32LE(0), i % 2 === 0 ? 1 : 2);
      if (i % 2 === 1) assert.equal(b.readBigUInt64LE(8), 35n);
      assert.equal(x.map, 'ringbuf');
    }
    const report = lines.at(-1)!;
    assert.equal(report.ringbuf_records, 6);
    assert.equal(report.ringbuf_lost, 0);
    assert.equal(report.perf_lost, 0);

    const text = await cli('attach', MAPS, '--prog', 'maps_selftest', '--pcap', pcap, '--follow', ...fs);
    assert.match(text.out, /^\[packet 0\] ringbuf ringbuf: 01 00 00 00 /m);
    assert.match(text.out, /^\[packet 2\] ringbuf ringbuf: 02 00 00 00 /m);
    assert.match(text.out, /ring buffer records: 6\n/);

    // --record-type: a 16-byte record is not a `struct pair` (8 bytes), so it stays hex;
    // an unknown name is a usage error.
    const pair = await cli(
      'attach',
      MAPS,
      '--prog',
      'maps_selftest',
      '--pcap',
      pcap,
      '--follow',
      '--record-type',
      'pair',
      ...fs,
    );
    assert.equal(pair.code, 0, pair.err);
    assert.match(pair.out, /\[packet 1\] ringbuf ringbuf: 01 00 00 00/);
    const bad = await cli(
      'attach',
      MAPS,
      '--prog',
      'maps_selftest',
      '--pcap',
      pcap,
      '--follow',
      '--record-type',
      'nope',
      ...fs,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--record-type nope: the object's BTF has no struct/);
  } finally {
    s.remove();
  }
});
