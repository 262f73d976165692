// Runs the example programs in the kernel (BPF_PROG_TEST_RUN through kobj) on known
// input and checks what they compute against values derived here from the programs'
// purpose (packet layouts, checksums, primes...), never copied from a run.  These are
// the reference behaviours tsbpf's interpreter and JIT must reproduce.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hexToBytes, type KobjReport, leHex, prepareKobj, runKobj } from './kobj.ts';
import {
  concat,
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  ethernet,
  ipv4,
  ipv6,
  onesSum,
  tcp,
  udp,
  udp4Packet,
} from './packets.ts';

const skip = prepareKobj();
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-examples-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

interface RunOptions {
  data?: Uint8Array;
  ctx?: Uint8Array;
  sets?: Record<string, string>;
  extra?: string[];
}

function run(object: string, prog: string, o: RunOptions = {}): KobjReport {
  const args = ['--run', prog, '--dump-maps', ...(o.extra ?? [])];
  for (const [name, bytes] of [
    ['data', o.data],
    ['ctx', o.ctx],
  ] as const) {
    if (!bytes) continue;
    const f = join(tmp, `${fileNo++}.bin`);
    writeFileSync(f, bytes);
    args.push(`--${name}`, f);
  }
  for (const [sym, hex] of Object.entries(o.sets ?? {})) args.push('--set-rodata', `${sym}=${hex}`);
  const r = runKobj([...args, `examples/${object}`]);
  assert.equal(r.runError, undefined, `${prog}: ${r.runError}\n${r.stdout}`);
  return r;
}

// Unsigned little-endian integer of `size` bytes at `off` of a hex string.
function uint(hex: string, off: number, size: number): bigint {
  const b = hexToBytes(hex);
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}

// Value of map[key] (u32 key), summed over CPUs for per-CPU maps, as a u64.
function slot(r: KobjReport, map: string, key: number, off = 0, size = 8): bigint {
  const values = r.mapValues.get(map)?.get(leHex(key, 4));
  assert.ok(values, `${map}[${key}] missing`);
  return values.reduce((sum, v) => sum + uint(v, off, size), 0n);
}

function slots(r: KobjReport, map: string, n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => slot(r, map, i));
}

const XDP_DROP = 1;
const XDP_PASS = 2;
const XDP_TX = 3;

// --- xdp-parse ---------------------------------------------------------------

// proto_count slots: other_l2, ipv4, ipv6, tcp, udp, icmp, other_l4, malformed, fragment
function parseCounts(data: Uint8Array) {
  const r = run('xdp-parse/xdp_parse.bpf.o', 'xdp_parse', { data });
  return { retval: r.retval, counts: slots(r, 'proto_count', 9).map(Number) };
}

test('xdp-parse: IPv4/UDP passes and is counted as IPv4 and UDP', { skip }, () => {
  assert.deepEqual(parseCounts(udp4Packet(53)), { retval: XDP_PASS, counts: [0, 1, 0, 0, 1, 0, 0, 0, 0] });
});

test('xdp-parse: VLAN-tagged IPv6/TCP, double-tagged IPv4/ICMP, ARP', { skip }, () => {
  const v6tcp = ethernet(ETH_P_IPV6, ipv6(6, tcp(1000, 80, 0x02)), [100]);
  assert.deepEqual(parseCounts(v6tcp), { retval: XDP_PASS, counts: [0, 0, 1, 1, 0, 0, 0, 0, 0] });
  const icmp = ethernet(ETH_P_IP, ipv4(1, new Uint8Array(8)), [100, 200]);
  assert.deepEqual(parseCounts(icmp), { retval: XDP_PASS, counts: [0, 1, 0, 0, 0, 1, 0, 0, 0] });
  const arp = ethernet(ETH_P_ARP, new Uint8Array(28));
  assert.deepEqual(parseCounts(arp), { retval: XDP_PASS, counts: [1, 0, 0, 0, 0, 0, 0, 0, 0] });
});

test('xdp-parse: truncated headers and non-first fragments are dropped', { skip }, () => {
  const cutIp = ethernet(ETH_P_IP, new Uint8Array(10));
  assert.deepEqual(parseCounts(cutIp), { retval: XDP_DROP, counts: [0, 1, 0, 0, 0, 0, 0, 1, 0] });
  const cutTcp = ethernet(ETH_P_IP, ipv4(6, new Uint8Array(12)));
  assert.deepEqual(parseCounts(cutTcp), { retval: XDP_DROP, counts: [0, 1, 0, 0, 0, 0, 0, 1, 0] });
  const frag = udp4Packet(53, new Uint8Array(8), { fragOff: 5 });
  assert.deepEqual(parseCounts(frag), { retval: XDP_DROP, counts: [0, 1, 0, 0, 0, 0, 0, 0, 1] });
});

// --- xdp-firewall ------------------------------------------------------------

test('xdp-firewall: empty blocklists pass IPv4, count non-IPv4 and malformed separately', { skip }, () => {
  const fw = (data: Uint8Array) => {
    const r = run('xdp-firewall/xdp_firewall.bpf.o', 'xdp_firewall', { data });
    return { retval: r.retval, verdicts: slots(r, 'verdicts', 5).map(Number) };
  };
  // slots: pass, drop_src, drop_port, drop_malformed, pass_non_ipv4
  assert.deepEqual(fw(udp4Packet(53)), { retval: XDP_PASS, verdicts: [1, 0, 0, 0, 0] });
  assert.deepEqual(fw(ethernet(ETH_P_ARP, new Uint8Array(28))), {
    retval: XDP_PASS,
    verdicts: [0, 0, 0, 0, 1],
  });
  assert.deepEqual(fw(ethernet(ETH_P_IP, new Uint8Array(10))), {
    retval: XDP_DROP,
    verdicts: [0, 0, 0, 1, 0],
  });
  const cutUdp = ethernet(ETH_P_IP, ipv4(17, new Uint8Array(4)));
  assert.deepEqual(fw(cutUdp), { retval: XDP_DROP, verdicts: [0, 0, 0, 1, 0] });
});

// --- socket-filter -----------------------------------------------------------

test('socket-filter: both filters keep UDP to port 53 only, and follow a patched port', { skip }, () => {
  const tcp53 = ethernet(ETH_P_IP, ipv4(6, tcp(1000, 53, 0x02)));
  for (const prog of ['udp_port_filter', 'udp_port_legacy']) {
    const keep = (data: Uint8Array, port?: number) =>
      run('socket-filter/socket_filter.bpf.o', prog, {
        data,
        sets: port === undefined ? {} : { udp_port: leHex(port, 2) },
      }).retval;
    assert.equal(keep(udp4Packet(53)), 0xffff, prog);
    assert.equal(keep(udp4Packet(54)), 0, prog);
    assert.equal(keep(tcp53), 0, prog);
    assert.equal(keep(udp4Packet(54), 54), 0xffff, prog);
    assert.equal(keep(udp4Packet(53), 54), 0, prog);
  }
});

// --- tc-classifier -----------------------------------------------------------

test('tc-classifier: EF packet with TTL 2 gets TTL 8, a valid checksum, mark 0x103', { skip }, () => {
  const pkt = udp4Packet(53, undefined, { tos: 46 << 2, ttl: 2 });
  // __sk_buff in and out: mark at byte 8, priority at byte 32
  const r = run('tc-classifier/tc_classifier.bpf.o', 'tc_classify', { data: pkt, ctx: new Uint8Array(192) });
  assert.equal(r.retval, 0); // TC_ACT_OK
  const out = hexToBytes(r.dataOut!);
  assert.equal(out.length, pkt.length);
  assert.equal(out[14 + 8], 8); // TTL raised to the floor
  assert.equal(onesSum(out.subarray(14, 34)), 0xffff); // header checksum still right
  const expect = pkt.slice();
  expect[14 + 8] = 8;
  expect.set(out.subarray(24, 26), 24); // only TTL and checksum differ
  assert.deepEqual(out, expect);
  assert.equal(uint(r.ctxOut!, 8, 4), 0x103n);
  assert.equal(uint(r.ctxOut!, 32, 4), 6n);
  // tc_stats[3] = {packets, bytes, rewritten}
  assert.deepEqual(
    [0, 8, 16].map((off) => slot(r, 'tc_stats', 3, off)),
    [1n, BigInt(pkt.length), 1n],
  );
});

test('tc-classifier: best-effort packet passes unchanged in class 0', { skip }, () => {
  const pkt = udp4Packet(80);
  const r = run('tc-classifier/tc_classifier.bpf.o', 'tc_classify', { data: pkt, ctx: new Uint8Array(192) });
  assert.deepEqual(hexToBytes(r.dataOut!), pkt);
  assert.equal(uint(r.ctxOut!, 8, 4), 0x100n);
  assert.deepEqual(
    [0, 8, 16].map((off) => slot(r, 'tc_stats', 0, off)),
    [1n, BigInt(pkt.length), 0n],
  );
});

// --- maps --------------------------------------------------------------------

test('maps: the self-test leaves the contents its comments promise', { skip }, () => {
  const r = run('maps/maps.bpf.o', 'maps_selftest');
  assert.equal(r.retval, XDP_PASS);
  const hash = r.mapValues.get('hash_map')!;
  assert.deepEqual([...hash.keys()].sort(), [leHex(1, 4), leHex(3, 4)]);
  assert.equal(slot(r, 'hash_map', 1), 10n);
  assert.equal(slot(r, 'hash_map', 3), 35n);
  assert.deepEqual(
    [...r.mapValues.get('lru_map')!.entries()],
    [[leHex(0x1122334455667788n, 8), [leHex(7, 4)]]],
  );
  assert.equal(slot(r, 'percpu_hash_map', 9), 99n);
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(
      [slot(r, 'array_map', i, 0, 4), slot(r, 'array_map', i, 4, 4)],
      [BigInt(i), BigInt(i * i)],
    );
  }
  assert.deepEqual(slots(r, 'percpu_array_map', 4), [0n, 3n, 0n, 0n]);
  // events {kind u32, value u32, sum u64}: queue pops 1, stack pops 3, queue peeks 2
  const events = r.ringbufs.get('ringbuf') ?? [];
  assert.deepEqual(
    events.map((e) => [uint(e, 0, 4), uint(e, 4, 4), uint(e, 8, 8)]),
    [
      [1n, 132n, 1n],
      [2n, 3n, 35n],
    ],
  );
});

// --- globals -----------------------------------------------------------------

test('globals: .rodata configuration, .data, .bss and .data.stats after one packet', { skip }, () => {
  const data = new Uint8Array(64);
  const r = run('globals/globals.bpf.o', 'globals_xdp', { data });
  // total = 1000 + len * scale(3) + table['t' & 3 = 0] (1); last_len = len
  const d = r.mapValues.get('globals.data')!.get(leHex(0, 4))![0]!;
  assert.deepEqual([uint(d, 0, 8), uint(d, 8, 4)], [1000n + 64n * 3n + 1n, 64n]);
  // .bss: runs = 1 and over_threshold = 1 (192 > 100), in whatever order
  const b = r.mapValues.get('globals.bss')!.get(leHex(0, 4))![0]!;
  assert.deepEqual([uint(b, 0, 8), uint(b, 8, 8)], [1n, 1n]);
  const s = r.mapValues.get('.data.stats')!.get(leHex(0, 4))![0]!;
  assert.deepEqual([uint(s, 0, 8), uint(s, 8, 8), uint(s, 16, 4), uint(s, 20, 4)], [1n, 64n, 64n, 64n]);

  // Patched: scale 1 (64 <= threshold 100) and tag "abc" ('a' & 3 = 1 -> table[1] = 10)
  const p = run('globals/globals.bpf.o', 'globals_xdp', {
    data,
    sets: { scale: leHex(1, 4), tag: '61626300' },
  });
  const pd = p.mapValues.get('globals.data')!.get(leHex(0, 4))![0]!;
  assert.equal(uint(pd, 0, 8), 1000n + 64n + 10n);
  const pb = p.mapValues.get('globals.bss')!.get(leHex(0, 4))![0]!;
  assert.deepEqual([uint(pb, 0, 8), uint(pb, 8, 8)].sort(), [0n, 1n]);
});

// --- subprogs ----------------------------------------------------------------

test('subprogs: static and global subprograms compute square roots and hypotenuses', { skip }, () => {
  const x = run('subprogs/subprogs.bpf.o', 'subprogs_xdp', { data: new Uint8Array(64) });
  assert.equal(x.retval, XDP_PASS);
  // isqrt(64) = 8, mix(3, 4) = 5, fold(5) = 5
  assert.deepEqual(slots(x, 'results', 4), [8n, 5n, 0n, 5n]);
  const s = run('subprogs/subprogs.bpf.o', 'subprogs_syscall');
  assert.equal(s.retval, 13); // mix(5, 12)
  assert.deepEqual(slots(s, 'results', 4), [0n, 0n, 1000n, 13n]);
});

// --- loops -------------------------------------------------------------------

test('loops: checksum, unrolled XOR, run length, multiplication-table trace', { skip }, () => {
  const pkt = concat(new Uint8Array(10).fill(0xaa), udp4Packet(53).subarray(10));
  const loops = (prog: string) => run('loops/loops.bpf.o', prog, { data: pkt });
  // 16-bit one's complement checksum of the first 64 bytes, whole words only
  const words = pkt.subarray(0, Math.min(64, pkt.length & ~1));
  assert.equal(slot(loops('checksum_loop'), 'out', 0), BigInt(~onesSum(words) & 0xffff));
  const xor = pkt.subarray(0, 16).reduce((a, b) => a ^ b, 0);
  assert.equal(slot(loops('unrolled_loop'), 'out', 1), BigInt(xor));
  assert.equal(slot(loops('while_loop'), 'out', 2), 10n);
  // sum of (i + 1)^2 for i < 8 = 204
  assert.equal(slot(loops('nested_loop'), 'out', 3), 204n);
});

// --- bpf-loop ----------------------------------------------------------------

test('bpf-loop: histogram of the packet bytes by high nibble', { skip }, () => {
  const pkt = udp4Packet(53);
  const r = run('bpf-loop/bpf_loop.bpf.o', 'loop_histogram', { data: pkt });
  assert.equal(r.retval, XDP_PASS);
  const want = new Array<bigint>(16).fill(0n);
  for (const b of pkt) want[b >> 4]! += 1n;
  assert.deepEqual(slots(r, 'histogram', 16), want);
});

test('bpf-loop: the sieve finds the primes below prime_limit', { skip }, () => {
  const primes = (limit: number) => {
    const p: number[] = [];
    for (let n = 2; n < limit; n++) if (p.every((q) => n % q !== 0)) p.push(n);
    return p;
  };
  for (const limit of [1000, 100]) {
    const r = run('bpf-loop/bpf_loop.bpf.o', 'loop_primes', { sets: { prime_limit: leHex(limit, 4) } });
    // bpf_loop returns the number of callback calls, the last (p = limit) stopping it
    assert.equal(r.retval, limit + 1);
    const b = r.mapValues.get('bpf_loop.bss')!.get(leHex(0, 4))![0]!;
    const want = primes(limit);
    assert.deepEqual(
      [uint(b, 0, 8), uint(b, 8, 8)].sort((a, c) => Number(a - c)),
      [BigInt(want.length), BigInt(want.at(-1)!)].sort((a, c) => Number(a - c)),
    );
  }
});

// --- tail-calls --------------------------------------------------------------

test('tail-calls: stages chain through the prog array; an empty slot falls through', { skip }, () => {
  const chain = (data: Uint8Array) => {
    const r = run('tail-calls/tail_calls.bpf.o', 'tail_entry', { data, extra: ['--all'] });
    return { retval: r.retval, hops: slots(r, 'hops', 8).map(Number) };
  };
  // hops: eth, ipv4, ipv6, count, (empty), -, -, fall-through
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

// --- timer -------------------------------------------------------------------

test('timer: the ticker fires max_ticks times and logs increasing times', { skip }, () => {
  for (const [prog, ticks, ret] of [
    ['timer_arm', 5, 0],
    ['timer_arm_xdp', 3, XDP_PASS],
  ] as const) {
    const r = run('timer/timer.bpf.o', prog, {
      sets: { max_ticks: leHex(ticks, 4) },
      extra: ['--wait', '300'],
    });
    assert.equal(r.retval, ret, prog);
    // struct ticker {bpf_timer (16 bytes), ticks, first_ns, last_ns}
    assert.equal(slot(r, 'tickers', 0, 16), BigInt(ticks), prog);
    const log = [...r.mapValues.get('tick_log')!.entries()]
      .map(([k, [v]]) => [Number(uint(k, 0, 4)), uint(v!, 0, 8)] as const)
      .sort((a, b) => a[0] - b[0]);
    assert.deepEqual(
      log.map(([k]) => k),
      Array.from({ length: ticks }, (_, i) => i),
    );
    assert.equal(log[0]![1], 0n);
    for (let i = 1; i < log.length; i++) assert.ok(log[i]![1] > log[i - 1]![1], `${prog} tick ${i}`);
    const b = r.mapValues.get('timer.bss')!.get(leHex(0, 4))![0]!;
    assert.deepEqual([uint(b, 0, 8), uint(b, 8, 8)].sort(), [0n, BigInt(ticks)].sort());
  }
});

test('timer: the one-shot fires once and deletes its own element; stop on a fresh map fails', {
  skip,
}, () => {
  const r = run('timer/timer.bpf.o', 'timer_oneshot', { extra: ['--wait', '200'] });
  assert.equal(r.retval, 0);
  assert.equal(r.mapValues.get('oneshots')!.size, 0);
  const b = r.mapValues.get('timer.bss')!.get(leHex(0, 4))![0]!;
  assert.deepEqual([uint(b, 0, 8), uint(b, 8, 8)], [1n, 1n]);
  // bpf_timer_cancel on a timer never initialised: -EINVAL, seen as u32
  assert.equal(run('timer/timer.bpf.o', 'timer_stop').retval, 2 ** 32 - 22);
});

// --- core --------------------------------------------------------------------

test('core: CO-RE reads of the current task and existence checks resolved by libbpf', { skip }, () => {
  const r = run('core/core.bpf.o', 'core_rawtp', { extra: ['--repeat', '0'] });
  assert.equal(r.retval, 0);
  // struct core_results: has_pid, has_fantasy_field, has_mm_struct, has_fantasy_type,
  // pid_size, comm_size (u32), rawtp_runs (u64), last_comm[16]
  const b = r.mapValues.get('core.bss')!.get(leHex(0, 4))![0]!;
  assert.deepEqual(
    [0, 4, 8, 12, 16, 20].map((off) => Number(uint(b, off, 4))),
    [1, 0, 1, 0, 4, 16],
  );
  assert.equal(uint(b, 24, 8), 1n);
  const comm = new TextDecoder().decode(hexToBytes(b).subarray(32, 48)).replace(/\0.*$/s, '');
  assert.equal(comm, 'kobj');
  // event {kind, pid, tgid, parent_tgid, total_vm u64, comm[16]}: kobj is our child
  const [e] = r.ringbufs.get('core_events') ?? [];
  assert.ok(e);
  assert.deepEqual(
    [0, 4, 8, 12].map((off) => Number(uint(e, off, 4))),
    [2, r.pid, r.pid, process.pid],
  );
  assert.ok(uint(e, 16, 8) > 0n, 'total_vm of a running process');
});

// --- l4lb --------------------------------------------------------------------

test('l4lb: with no services configured, traffic passes and is counted', { skip }, () => {
  const lb = (data: Uint8Array) => {
    const r = run('l4lb/l4lb.bpf.o', 'l4lb', { data });
    return { retval: r.retval, counters: slots(r, 'counters', 4).map(Number) };
  };
  // counters: rx, not_ipv4, malformed, no_service
  assert.deepEqual(lb(udp4Packet(53)), { retval: XDP_PASS, counters: [1, 0, 0, 1] });
  assert.deepEqual(lb(ethernet(ETH_P_ARP, new Uint8Array(28))), { retval: XDP_PASS, counters: [1, 1, 0, 0] });
  assert.deepEqual(lb(ethernet(ETH_P_IP, ipv4(6, new Uint8Array(8)))), {
    retval: XDP_DROP,
    counters: [1, 0, 1, 0],
  });
});

// --- map-in-map --------------------------------------------------------------

test('map-in-map: the inner map is chosen by length parity; the spin-locked pair counts', { skip }, () => {
  for (const len of [64, 65]) {
    const r = run('map-in-map/map_in_map.bpf.o', 'mim_xdp', { data: new Uint8Array(len) });
    assert.equal(r.retval, XDP_PASS);
    const [hit, miss] = len % 2 ? ['inner_odd', 'inner_even'] : ['inner_even', 'inner_odd'];
    assert.deepEqual(slots(r, hit, 4), [1n, BigInt(len), 0n, 0n]);
    assert.deepEqual(slots(r, miss, 4), [0n, 0n, 0n, 0n]);
    const byQuarter = [0n, 0n, 0n, 0n];
    byQuarter[len & 3] = 1n;
    assert.deepEqual(slots(r, 'inner_h', 4), byQuarter);
    // struct locked_pair {bpf_spin_lock (4), pad (4), packets, bytes}
    assert.deepEqual([slot(r, 'locked', 1, 8), slot(r, 'locked', 1, 16)], [1n, BigInt(len)]);
  }
});
