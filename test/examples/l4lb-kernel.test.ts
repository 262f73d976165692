// The l4lb example in the kernel with its maps configured (test/examples/l4lb-harness.c
// sets up one VIP with a web and a DNS service, then runs packets in sequence).
// Expected rewrites follow from the load balancer's job: DNAT to a backend, MACs,
// TTL - 1, both checksums still valid, sticky flows, MSS clamped to 1400, DNS names
// case-insensitive, ICMP echo answered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hexToBytes, prepareCTool, repoRoot } from './kobj.ts';
import { concat, ETH_P_IP, ethernet, ipv4, onesSum, tcp, udp } from './packets.ts';

const { path: harness, skip } = prepareCTool('l4lb-harness');
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-l4lb-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Out {
  retval: number;
  data: Uint8Array;
}

function runAll(packets: Uint8Array[]): { outs: Out[]; counters: number[] } {
  const files = packets.map((p, i) => {
    const f = join(tmp, `${i}.bin`);
    writeFileSync(f, p);
    return f;
  });
  const r = spawnSync(harness, [join(repoRoot, 'examples/l4lb/l4lb.bpf.o'), ...files], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const outs: Out[] = [];
  const counters: number[] = [];
  for (const line of r.stdout.trim().split('\n')) {
    const m = /^retval (\d+) out ([0-9a-f]*)$/.exec(line);
    if (m) outs.push({ retval: Number(m[1]), data: hexToBytes(m[2]!) });
    const c = /^counter (\d+) (\d+)$/.exec(line);
    if (c) counters[Number(c[1])] = Number(c[2]);
  }
  return { outs, counters };
}

const CLIENT = '192.168.1.7';
const VIP = '10.0.0.100';
const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;

function tcpPacket(sport: number, flags: number, options = new Uint8Array(0), ttl = 64) {
  const ip = { src: CLIENT, dst: VIP, ttl };
  return ethernet(ETH_P_IP, ipv4(6, tcp(sport, 80, flags, options, ip), ip));
}

function dnsQuery(sport: number, name: string) {
  const labels = name.split('.').map((l) => concat(Uint8Array.of(l.length), new TextEncoder().encode(l)));
  const header = Uint8Array.of(0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0); // RD, 1 question
  const q = concat(header, ...labels, Uint8Array.of(0, 0, 1, 0, 1));
  const ip = { src: CLIENT, dst: VIP };
  return ethernet(ETH_P_IP, ipv4(17, udp(sport, 53, q, ip), ip));
}

function icmpEcho() {
  const msg = concat(Uint8Array.of(8, 0, 0, 0, 0, 7, 0, 1), new TextEncoder().encode('pingdata'));
  const sum = ~onesSum(msg) & 0xffff;
  msg[2] = sum >> 8;
  msg[3] = sum & 0xff;
  return ethernet(ETH_P_IP, ipv4(1, msg, { src: CLIENT, dst: VIP }));
}

const addr = (p: Uint8Array, off: number) => Array.from(p.subarray(off, off + 4)).join('.');
const ipHeaderOk = (p: Uint8Array) => onesSum(p.subarray(14, 34)) === 0xffff;

// The TCP/UDP checksum over the pseudo-header and segment must sum to 0xffff.
function l4ChecksumOk(p: Uint8Array): boolean {
  const totLen = (p[16]! << 8) | p[17]!;
  const seg = p.subarray(34, 14 + totLen);
  const pseudo = concat(p.subarray(26, 34), Uint8Array.of(0, p[23]!, seg.length >> 8, seg.length & 0xff));
  return onesSum(concat(pseudo, seg)) === 0xffff;
}

const mss = (p: Uint8Array, off: number) => (p[34 + 20 + off]! << 8) | p[34 + 20 + off + 1]!;

test('l4lb: DNAT, sticky flows, MSS clamp, DNS affinity, ICMP echo, TTL and no-service paths', {
  skip,
}, () => {
  const oddMss = Uint8Array.of(1, 2, 4, 0x05, 0xb4, 1, 1, 0); // NOP, MSS 1460 at offset 21
  const evenMss = Uint8Array.of(2, 4, 0x05, 0xb4, 1, 1, 1, 0); // MSS 1460 at offset 20
  const smallMss = Uint8Array.of(2, 4, 0x04, 0xb0, 1, 1, 1, 0); // MSS 1200
  const packets = [
    tcpPacket(40000, SYN, oddMss), // 0 new flow
    tcpPacket(40000, ACK), // 1 same flow
    tcpPacket(40001, SYN, evenMss), // 2
    tcpPacket(40002, SYN, smallMss), // 3
    icmpEcho(), // 4
    dnsQuery(5000, 'WWW.Example.com'), // 5
    dnsQuery(5001, 'www.example.COM'), // 6
    tcpPacket(40003, SYN, new Uint8Array(0), 1), // 7 TTL 1
    ethernet(ETH_P_IP, ipv4(17, udp(1, 54, new Uint8Array(4), { src: CLIENT, dst: VIP }), { dst: VIP })), // 8
    tcpPacket(40000, FIN | ACK), // 9 closes flow 0
  ];
  const { outs, counters } = runAll(packets);
  assert.equal(outs.length, packets.length);
  const XDP_DROP = 1;
  const XDP_PASS = 2;
  const XDP_TX = 3;
  const webBackends = ['10.0.2.1', '10.0.2.2'];
  const dnsBackends = ['10.0.2.3', '10.0.2.4'];

  for (const i of [0, 1, 2, 3, 9]) {
    const { retval, data } = outs[i]!;
    assert.equal(retval, XDP_TX, `packet ${i}`);
    const dst = addr(data, 30);
    assert.ok(webBackends.includes(dst), `packet ${i} went to ${dst}`);
    assert.equal(addr(data, 26), CLIENT);
    const backend = Number(dst.split('.')[3]) - 1;
    assert.deepEqual(Array.from(data.subarray(0, 12)), [2, 0, 0, 0, 2, backend, 2, 0, 0, 0, 0, 1]);
    assert.equal(data[22], 63, `packet ${i} TTL`);
    assert.ok(ipHeaderOk(data), `packet ${i} IPv4 checksum`);
    assert.ok(l4ChecksumOk(data), `packet ${i} TCP checksum`);
  }
  // conntrack: the ACK and the FIN of flow 40000 follow its SYN
  assert.equal(addr(outs[1]!.data, 30), addr(outs[0]!.data, 30));
  assert.equal(addr(outs[9]!.data, 30), addr(outs[0]!.data, 30));
  assert.equal(mss(outs[0]!.data, 3), 1400); // odd offset (after a NOP)
  assert.equal(mss(outs[2]!.data, 2), 1400); // even offset
  assert.equal(mss(outs[3]!.data, 2), 1200); // below the clamp: untouched

  // ICMP echo: a reply from the VIP, MACs swapped, both checksums valid
  const echo = outs[4]!;
  assert.equal(echo.retval, XDP_TX);
  assert.deepEqual([addr(echo.data, 26), addr(echo.data, 30)], [VIP, CLIENT]);
  assert.deepEqual(
    Array.from(echo.data.subarray(0, 12)),
    Array.from(packets[4]!.subarray(6, 12)).concat(Array.from(packets[4]!.subarray(0, 6))),
  );
  assert.equal(echo.data[34], 0); // echo reply
  assert.ok(ipHeaderOk(echo.data));
  assert.equal(onesSum(echo.data.subarray(34)), 0xffff);

  // DNS: the same name in other case goes to the same backend
  for (const i of [5, 6]) {
    assert.equal(outs[i]!.retval, XDP_TX);
    assert.ok(dnsBackends.includes(addr(outs[i]!.data, 30)));
    assert.ok(l4ChecksumOk(outs[i]!.data), `DNS packet ${i} UDP checksum`);
  }
  assert.equal(addr(outs[5]!.data, 30), addr(outs[6]!.data, 30));

  assert.equal(outs[7]!.retval, XDP_DROP); // TTL 1
  assert.equal(outs[8]!.retval, XDP_PASS); // no service on port 54
  assert.deepEqual(outs[8]!.data, packets[8]);

  // counters: rx, not_ipv4, malformed, no_service, ttl_expired, new_flow,
  // existing_flow, no_backend, tx, icmp_echo, fin_rst, mss_clamped, dns_query
  assert.deepEqual(counters, [10, 0, 0, 1, 1, 5, 2, 0, 7, 1, 1, 2, 2]); // the echo reply counts as icmp_echo, not tx
});
