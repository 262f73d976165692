// tsbpf attach: the xdp-firewall example over generated traffic. Expected verdicts come from
// the rule model in test/examples/firewall-traffic.ts, not from tsbpf's own output.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  blockedPorts,
  blockedSources,
  firewallTraffic,
  firewallVerdict,
  Verdict,
  verdictAction,
  XDP_DROP,
  XDP_PASS,
} from '../examples/firewall-traffic.ts';
import { writePcap } from '../examples/pcap.ts';
import { cli, root, scratch } from './helpers.ts';

const tmp = scratch('tsbpf-attach-');
after(tmp.remove);
const firewall = join(root, 'examples/xdp-firewall/xdp_firewall.bpf.o');
const packets = firewallTraffic(3000, 0xa77ac4);
const pcapPath = tmp.path('traffic.pcap');
writeFileSync(pcapPath, writePcap(packets));

const hex = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The blocklists as --map-set options: sources in network order, ports as little-endian u32 keys. */
function blocklist(): string[] {
  const args: string[] = [];
  for (const s of blockedSources)
    args.push('--map-set', `blocked_src:${hex(s.split('.').map(Number))}=${'00'.repeat(8)}`);
  for (const p of blockedPorts) args.push('--map-set', `blocked_port:${hex([p & 0xff, p >> 8, 0, 0])}=01`);
  return args;
}

/** Packets of a pcap file whatever its timestamp resolution (little-endian only). */
function pcapPackets(bytes: Uint8Array): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.ok([0xa1b2c3d4, 0xa1b23c4d].includes(dv.getUint32(0, true)), 'pcap magic');
  const out: Uint8Array[] = [];
  for (let off = 24; off < bytes.length; ) {
    const len = dv.getUint32(off + 8, true);
    out.push(bytes.slice(off + 16, off + 16 + len));
    off += 16 + len;
  }
  return out;
}

interface PerCpuEntry {
  formatted: { key: number; values: { cpu: number; value: number }[] };
}

interface AttachJson {
  prog: string;
  type: string;
  packets: number;
  actions: Record<string, number>;
  refused: number;
  total_ns: number;
  ns_per_packet: number;
  ringbuf_records: number;
  output?: { path: string; packets: number };
  maps?: Record<string, PerCpuEntry[]>;
}

const want = packets.map((p) => verdictAction(firewallVerdict(p)));
const count = (action: number): number => want.filter((a) => a === action).length;

for (const engine of ['interp', 'jit']) {
  test(`attach --json (${engine}): per-action counts and the verdicts map equal the model's`, async () => {
    const r = await cli(
      'attach',
      firewall,
      '--pcap',
      pcapPath,
      ...blocklist(),
      '--engine',
      engine,
      '--dump-maps',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as AttachJson;
    assert.equal(j.prog, 'xdp_firewall');
    assert.equal(j.type, 'xdp');
    assert.equal(j.packets, packets.length);
    assert.equal(j.refused, 0);
    assert.ok(count(XDP_DROP) > 0 && count(XDP_PASS) > 0, 'the traffic exercises both actions');
    assert.deepEqual(j.actions, { XDP_DROP: count(XDP_DROP), XDP_PASS: count(XDP_PASS) });
    assert.equal(j.ringbuf_records, 0);
    assert.ok(j.total_ns > 0 && j.ns_per_packet > 0);
    // verdicts[slot] counts each reason the model gives
    const verdicts: PerCpuEntry[] | undefined = j.maps?.verdicts;
    assert.ok(verdicts, 'verdicts map dumped');
    for (const v of Object.values(Verdict)) {
      const slot: PerCpuEntry | undefined = verdicts.find((e) => e.formatted.key === v);
      const n = packets.filter((p) => firewallVerdict(p) === v).length;
      assert.equal(slot?.formatted.values[0]?.value, n, `verdict slot ${v}`);
    }
  });
}

test('attach --out writes exactly the passed packets, in order', async () => {
  const out = tmp.path('passed.pcap');
  const r = await cli('attach', firewall, '--pcap', pcapPath, '--out', out, ...blocklist());
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`XDP_PASS\\s+${count(XDP_PASS)}\\b`));
  assert.match(r.out, new RegExp(`XDP_DROP\\s+${count(XDP_DROP)}\\b`));
  const passed = packets.filter((_, i) => want[i] === XDP_PASS);
  assert.deepEqual(pcapPackets(new Uint8Array(readFileSync(out))), passed);
});

test('a malformed pcap is one error line naming the byte offset, exit 2', async () => {
  const whole = readFileSync(pcapPath);
  // Cut inside the third record's header: the file header is 24 bytes, each record 16 + its length.
  const third = 24 + 16 + packets[0]!.length + 16 + packets[1]!.length;
  const bad = tmp.path('cut.pcap');
  writeFileSync(bad, whole.subarray(0, third + 7));
  const r = await cli('attach', firewall, '--pcap', bad);
  assert.equal(r.code, 2);
  assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
  assert.ok(r.err.includes(`byte ${third}`), r.err);
  const j = await cli('attach', firewall, '--pcap', bad, '--json');
  assert.equal(j.code, 2);
  assert.ok((JSON.parse(j.out) as { error: { message: string } }).error.message.includes(`byte ${third}`));
});

test('attach refuses bad requests with exit 2 and never overwrites its input', async () => {
  const before = readFileSync(pcapPath);
  const same = await cli('attach', firewall, '--pcap', pcapPath, '--out', pcapPath);
  assert.equal(same.code, 2);
  assert.match(same.err, /refusing to overwrite/);
  assert.deepEqual(readFileSync(pcapPath), before);
  const unknown = await cli('attach', firewall, '--prog', 'nope', '--pcap', pcapPath);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /no program named 'nope'/);
  const syscall = await cli(
    'attach',
    join(root, 'examples/iter/iter.bpf.o'),
    '--prog',
    'fill_demo',
    '--pcap',
    pcapPath,
  );
  assert.equal(syscall.code, 2);
  assert.match(syscall.err, /not a packet program/);
  const noPcap = await cli('attach', firewall);
  assert.equal(noPcap.code, 2);
  const badSet = await cli('attach', firewall, '--pcap', pcapPath, '--map-set', 'blocked_src:0a01=00');
  assert.equal(badSet.code, 2);
  assert.match(badSet.err, /4-byte keys/);
  const raw = new Uint8Array(before);
  raw[20] = 101; // LINKTYPE_RAW: IP packets without an Ethernet header
  const rawPath = tmp.path('raw.pcap');
  writeFileSync(rawPath, raw);
  const notEth = await cli('attach', firewall, '--pcap', rawPath);
  assert.equal(notEth.code, 2);
  assert.match(notEth.err, /link type 101/);
  for (const r of [same, unknown, syscall, noPcap, badSet, notEth])
    assert.equal(r.err.trimEnd().split('\n').length, 1);
});

test('socket filters report accepted, dropped, truncated and refused packets', async () => {
  const sf = join(root, 'examples/socket-filter/socket_filter.bpf.o');
  const r = await cli('attach', sf, '--prog', 'udp_port_filter', '--pcap', pcapPath, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as AttachJson & { truncated: number; refused_reasons: Record<string, number> };
  const total = Object.values(j.actions).reduce((a, b) => a + b, 0);
  assert.equal(total, j.packets);
  assert.equal(j.packets + j.refused, packets.length);
  // kernel: bpf_prog_test_run_skb() needs a whole IPv4 (20 bytes) or IPv6 (40 bytes) header
  // after the Ethernet header when the ethertype says so.
  const type = (p: Uint8Array): number => (p[12]! << 8) | p[13]!;
  const short = packets.filter(
    (p) => (type(p) === 0x0800 && p.length < 34) || (type(p) === 0x86dd && p.length < 54),
  ).length;
  assert.ok(short > 0);
  assert.equal(j.refused, short);
  assert.ok(
    Object.keys(j.actions).every((a) => a === 'ACCEPT' || a === 'DROP'),
    JSON.stringify(j.actions),
  );
  assert.equal(
    Object.values(j.refused_reasons).reduce((a, b) => a + b, 0),
    j.refused,
  );
  assert.ok(j.truncated >= 0 && j.truncated <= (j.actions.ACCEPT ?? 0));
});

test('ring buffer records are drained and counted after every packet', async () => {
  // maps_selftest (examples/maps/maps.bpf.c) publishes two records per run: reserve/submit and output.
  const few = tmp.path('few.pcap');
  writeFileSync(few, writePcap(packets.slice(0, 40)));
  const maps = join(root, 'examples/maps/maps.bpf.o');
  const r = await cli('attach', maps, '--prog', 'maps_selftest', '--pcap', few, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as AttachJson & { ringbuf_lost: number };
  assert.deepEqual(j.actions, { XDP_PASS: 40 });
  assert.equal(j.ringbuf_records, 80);
  assert.equal(j.ringbuf_lost, 0);
  const text = await cli('attach', maps, '--prog', 'maps_selftest', '--pcap', few, '--dump-maps');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /ring buffer records: 80\n/);
  // hash_map: key 1 stays 10 (BPF_NOEXIST), key 2 is deleted, key 3 is 30 then += 5 every run.
  // (hash order depends on the hash seed, as in the kernel)
  const hash = /map hash_map:\n(\[[\s\S]*?\n\])/.exec(text.out)?.[1];
  assert.ok(hash, text.out);
  const entries = (JSON.parse(hash) as { key: number; value: number }[]).sort((x, y) => x.key - y.key);
  assert.deepEqual(entries, [
    { key: 1, value: 10 },
    { key: 3, value: 30 + 5 * 40 },
  ]);
});

/** pcapng: section header, one Ethernet interface, an enhanced packet block per packet. */
function writePcapng(pkts: Uint8Array[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array): void => {
    const len = 12 + Math.ceil(body.length / 4) * 4;
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, len, true);
    b.set(body, 8);
    dv.setUint32(len - 4, len, true);
    blocks.push(b);
  };
  const shb = new DataView(new ArrayBuffer(16));
  shb.setUint32(0, 0x1a2b3c4d, true); // byte-order magic
  shb.setUint16(4, 1, true); // version 1.0
  shb.setBigInt64(8, -1n, true); // section length unknown
  block(0x0a0d0d0a, new Uint8Array(shb.buffer));
  const idb = new DataView(new ArrayBuffer(8));
  idb.setUint16(0, 1, true); // LINKTYPE_ETHERNET
  block(1, new Uint8Array(idb.buffer));
  for (const p of pkts) {
    const body = new Uint8Array(20 + p.length);
    const dv = new DataView(body.buffer);
    dv.setUint32(12, p.length, true);
    dv.setUint32(16, p.length, true);
    body.set(p, 20);
    block(6, body);
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

test('attach reads pcapng files too', async () => {
  const ng = tmp.path('traffic.pcapng');
  writeFileSync(ng, writePcapng(packets));
  const r = await cli('attach', firewall, '--pcap', ng, ...blocklist(), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as AttachJson;
  assert.equal(j.packets, packets.length);
  assert.deepEqual(j.actions, { XDP_DROP: count(XDP_DROP), XDP_PASS: count(XDP_PASS) });
});

test('a program the verifier rejects is exit 1; --no-verify runs it anyway', async () => {
  // reject.bpf.c pkt_no_bounds returns data[12] (the ethertype's high byte) without a bounds check.
  const reject = join(root, 'test/examples/reject/reject.bpf.o');
  const r = await cli('attach', reject, '--prog', 'pkt_no_bounds', '--pcap', pcapPath);
  assert.equal(r.code, 1);
  assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
  assert.match(r.err, /invalid access to packet/);
  const run = await cli(
    'attach',
    reject,
    '--prog',
    'pkt_no_bounds',
    '--pcap',
    pcapPath,
    '--no-verify',
    '--json',
  );
  assert.equal(run.code, 0, run.err);
  const want: Record<string, number> = {};
  for (const p of packets) want[`UNKNOWN(${p[12]})`] = (want[`UNKNOWN(${p[12]})`] ?? 0) + 1;
  assert.deepEqual((JSON.parse(run.out) as AttachJson).actions, want);
});
