// tsbpf map show / map dump. Initial values are read from the example's C source and from
// the object's symbol table (`obj show --json`), independently of the BTF formatter.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { firewallTraffic } from '../examples/firewall-traffic.ts';
import { writePcap } from '../examples/pcap.ts';
import { cli, root, scratch } from './helpers.ts';

const tmp = scratch('tsbpf-map-');
after(tmp.remove);
const globals = join(root, 'examples/globals/globals.bpf.o');
const source = readFileSync(join(root, 'examples/globals/globals.bpf.c'), 'utf8');

/** `[const volatile] __uN name = value;` lines of the C source: .rodata when const, else .data. */
function initialisers(): { section: string; name: string; bits: number; value: bigint }[] {
  const out: { section: string; name: string; bits: number; value: bigint }[] = [];
  for (const m of source.matchAll(/^(const volatile )?__u(8|16|32|64) (\w+) = (\d+);/gm))
    out.push({ section: m[1] ? '.rodata' : '.data', name: m[3]!, bits: Number(m[2]), value: BigInt(m[4]!) });
  return out;
}

interface DumpEntry {
  key: string[];
  value: string[];
  formatted: { value: Record<string, Record<string, number | string | number[]>[]> };
}

const bytesOf = (hex: string[]): Uint8Array => Uint8Array.from(hex, (h) => Number.parseInt(h, 16));

for (const section of ['.data', '.rodata']) {
  test(`map dump ${section} shows the initial values of the C source`, async () => {
    const want = initialisers().filter((v) => v.section === section);
    assert.ok(want.length >= 2, `source has ${section} initialisers`);
    const r = await cli('map', 'dump', globals, '--map', section, '--json');
    assert.equal(r.code, 0, r.err);
    const entries = JSON.parse(r.out) as DumpEntry[];
    assert.equal(entries.length, 1);
    const e = entries[0]!;
    // Formatted through BTF: one object per variable, as bpftool prints a DATASEC.
    const vars = Object.assign({}, ...(e.formatted.value[section] ?? [])) as Record<string, unknown>;
    for (const v of want) assert.equal(vars[v.name], Number(v.value), `${section} ${v.name}`);
    // Raw bytes at each variable's symbol offset hold the same value, little-endian.
    const show = await cli('obj', 'show', globals, '--json');
    const syms = (JSON.parse(show.out) as { variables: { name: string; offset: number; size: number }[] })
      .variables;
    const raw = bytesOf(e.value);
    for (const v of want) {
      const sym = syms.find((s) => s.name === v.name);
      assert.ok(sym, `symbol ${v.name}`);
      assert.equal(sym.size * 8, v.bits);
      let n = 0n;
      for (let i = sym.size - 1; i >= 0; i--) n = (n << 8n) | BigInt(raw[sym.offset + i]!);
      assert.equal(n, v.value, `raw bytes of ${v.name}`);
    }
  });
}

test('map dump text is the BTF-formatted dump, and --set changes a const volatile', async () => {
  const r = await cli('map', 'dump', globals, '--map', '.rodata', '--set', 'scale=9');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"scale": 9\b/);
  assert.match(r.out, /"tag": "tsbpf"/);
  assert.match(r.out, /"table": \[\s*1,\s*10,\s*100,\s*1000\s*\]/);
});

test('map dump after a pcap run holds what the program counted', async () => {
  const packets = firewallTraffic(500, 7);
  const pcap = tmp.path('in.pcap');
  writeFileSync(pcap, writePcap(packets));
  const r = await cli(
    'map',
    'dump',
    globals,
    '--map',
    '.data.stats',
    '--prog',
    'globals_xdp',
    '--pcap',
    pcap,
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const stats = (JSON.parse(r.out) as DumpEntry[])[0]!.formatted.value['.data.stats']![0]!
    .stats as unknown as Record<string, number>;
  const lens = packets.map((p) => p.length);
  assert.deepEqual(stats, {
    packets: packets.length,
    bytes: lens.reduce((a, b) => a + b, 0),
    max_len: Math.max(...lens),
    min_len: Math.min(...lens),
  });
  const bss = await cli('map', 'dump', globals, '--map', '.bss', '--prog', 'globals_xdp', '--pcap', pcap);
  assert.equal(bss.code, 0, bss.err);
  assert.match(bss.out, new RegExp(`"runs": ${packets.length}\\b`));
});

test('map show lists type, sizes, max entries and flags of the maps the source declares', async () => {
  const fw = join(root, 'examples/xdp-firewall/xdp_firewall.bpf.o');
  const r = await cli('map', 'show', fw);
  assert.equal(r.code, 0, r.err);
  // From xdp_firewall.bpf.c: hash __be32 -> __u64 x4096, array __u32 -> __u8 x65536, percpu __u32 -> __u64 x5.
  assert.match(r.out, /hash {2}name blocked_src {2}flags 0x0\n\tkey 4B {2}value 8B {2}max_entries 4096/);
  assert.match(r.out, /array {2}name blocked_port {2}flags 0x0\n\tkey 4B {2}value 1B {2}max_entries 65536/);
  assert.match(r.out, /percpu_array {2}name verdicts {2}flags 0x0\n\tkey 4B {2}value 8B {2}max_entries 5/);
  const one = await cli('map', 'show', globals, '--map', '.rodata', '--json');
  assert.equal(one.code, 0, one.err);
  const m = JSON.parse(one.out) as { name: string; frozen?: boolean; value_size: number };
  assert.equal(m.frozen, true);
  // scale u32 + pad + threshold u64 + tag[8] + table[4] u32 = 4 + 4 + 8 + 8 + 16
  assert.equal(m.value_size, 40);
});

test('map dump errors: unknown map, missing --map, --pcap without --prog', async () => {
  const none = await cli('map', 'dump', globals, '--map', 'nope');
  assert.equal(none.code, 2);
  assert.match(none.err, /no map named 'nope'/);
  assert.equal((await cli('map', 'dump', globals)).code, 2);
  assert.equal((await cli('map', 'dump', globals, '--map', '.data', '--pcap', 'x.pcap')).code, 2);
  const hash = await cli(
    'map',
    'dump',
    join(root, 'examples/xdp-firewall/xdp_firewall.bpf.o'),
    '--map',
    'blocked_src',
  );
  assert.equal(hash.code, 0, hash.err);
  assert.equal(hash.out.trim(), '[]');
});

test('map dump --json keeps 64-bit keys exact, like bpftool', async () => {
  // examples/maps/maps.bpf.c: lru_map[0x1122334455667788] = 7 in every run of maps_selftest.
  const pcap = tmp.path('one.pcap');
  writeFileSync(pcap, writePcap(firewallTraffic(1, 3)));
  const maps = join(root, 'examples/maps/maps.bpf.o');
  const r = await cli(
    'map',
    'dump',
    maps,
    '--map',
    'lru_map',
    '--prog',
    'maps_selftest',
    '--pcap',
    pcap,
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.includes(`"formatted":{"key":${0x1122334455667788n},"value":7}`), r.out);
  assert.ok(r.out.includes('"key":["0x88","0x77","0x66","0x55","0x44","0x33","0x22","0x11"]'), r.out);
});
