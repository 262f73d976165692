// The static scan over every example object, for each profiled release. Expectations come from
// examples/inventory.json (program and map types, measured by libbpf on the running kernel) and
// the examples' sources, dated with the public sources named in src/kernels/features.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import {
  compareVersions,
  KERNEL_VERSIONS,
  type ScanResult,
  scanObject,
  scanProgram,
} from '../../src/kernels/index.ts';

const root = new URL('../../', import.meta.url).pathname;

interface InventoryObject {
  example: string;
  object: string;
  programs: { name: string; type: string; verdict: string }[];
  maps: { name: string; type: string }[];
}
const inventory = JSON.parse(readFileSync(`${root}examples/inventory.json`, 'utf8')) as {
  objects: InventoryObject[];
};

const scans = new Map<string, ScanResult>();
for (const o of inventory.objects) {
  const spec = loadCollectionSpec(readFileSync(`${root}${o.object}`), { file: o.object });
  scans.set(o.example, scanObject(spec));
}
const scan = (example: string): ScanResult => {
  const s = scans.get(example);
  assert.ok(s, `example ${example} is in the inventory`);
  return s;
};
const older = (v: string, since: string) => compareVersions(v, since) < 0;

test('every example passes on 6.18: the running kernel accepted all of them', () => {
  for (const o of inventory.objects) {
    assert.ok(o.programs.every((p) => p.verdict === 'accept'));
    const v = scan(o.example).verdicts['6.18']!;
    assert.equal(v.verdict, 'ok', `${o.example}: ${v.reasons[0]?.text}`);
  }
});

test('a verdict never goes from ok back to blocked on a newer release', () => {
  for (const [name, s] of scans) {
    let ok = false;
    for (const v of KERNEL_VERSIONS) {
      if (ok) assert.equal(s.verdicts[v]!.verdict, 'ok', `${name} on ${v}`);
      ok = s.verdicts[v]!.verdict === 'ok';
      // A release is ok exactly when it is at least the object's minimum release.
      assert.equal(ok, !older(v, s.minVersion), `${name} on ${v} vs min ${s.minVersion}`);
    }
  }
});

test('each map type and program type of the inventory blocks the releases before it (bcc table)', () => {
  // Releases from bcc docs/kernel-versions.md, restated here for the types the examples use.
  const mapSince: Record<string, string> = {
    queue: '4.20',
    stack: '4.20',
    ringbuf: '5.8',
    bloom_filter: '5.16',
    lpm_trie: '4.11',
  };
  const progSince: Record<string, string> = { tracing: '5.5', syscall: '5.14', raw_tracepoint: '4.17' };
  let checked = 0;
  for (const o of inventory.objects) {
    const s = scan(o.example);
    for (const v of KERNEL_VERSIONS) {
      const texts = s.verdicts[v]!.reasons.map((r) => r.text).join('\n');
      for (const m of o.maps) {
        const since = mapSince[m.type];
        if (since && older(v, since)) {
          assert.match(texts, new RegExp(`map type ${m.type}`), `${o.example} on ${v}`);
          checked++;
        }
      }
      for (const p of o.programs) {
        const since = progSince[p.type];
        if (since && older(v, since)) {
          assert.match(texts, new RegExp(`program type ${p.type} of ${p.name}`), `${o.example} on ${v}`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 20, `${checked} (object, release, type) cells checked`);
});

test('feature-specific examples are blocked by that feature before its release', () => {
  const cases: [example: string, since: string, reason: RegExp][] = [
    ['timer', '5.15', /bpf_timer_\w+ \(helper 1(69|70|71|72)\)/], // b00628b1c7d5
    ['life', '5.15', /bpf_timer_/],
    ['bpf-loop', '5.17', /bpf_loop \(helper 181\)/], // e6f2dd0f8067
    ['http', '5.17', /bpf_loop \(helper 181\)/],
    ['tls', '5.17', /bpf_loop \(helper 181\)/],
    ['core', '5.8', /map type ringbuf/], // 457f44363a88
    ['tls', '5.8', /map type ringbuf/],
    ['maps', '5.8', /map type ringbuf/],
    ['isa-v4', '6.6', /cpu v4 (sdiv|smod|movsx|bswap|sign-extending load|gotol) at insn \d+/],
    ['loops', '5.3', /bounded loop \(back-edge from insn \d+ to \d+\) of checksum_loop/], // 2589726d12a1
    ['map-in-map', '5.1', /bpf_spin_lock \(helper 93\)/],
    ['globals', '5.2', /global data map globals\.rodata/], // d8eca5bbb2be
  ];
  for (const [example, since, reason] of cases) {
    const s = scan(example);
    for (const v of KERNEL_VERSIONS) {
      const texts = s.verdicts[v]!.reasons.map((r) => r.text);
      if (older(v, since))
        assert.ok(
          texts.some((t) => reason.test(t)),
          `${example} on ${v}: ${texts.join('; ')}`,
        );
      else assert.ok(!texts.some((t) => reason.test(t)), `${example} on ${v} should not need ${reason}`);
    }
  }
});

// Spot checks: one table cell each, with the reasoning from public sources.
const spot: [
  example: string,
  version: string,
  verdict: 'ok' | 'blocked',
  first: RegExp | null,
  why: string,
][] = [
  [
    'maps',
    '4.19',
    'blocked',
    /map type queue/,
    'queue/stack maps 4.20 (f1a2e44a3aec); maps are created first, queue precedes bloom',
  ],
  ['maps', '5.15', 'blocked', /bloom_filter/, 'bloom filter map 5.16 (9330986c0300)'],
  ['maps', '6.1', 'ok', null, 'newest map type bloom_filter is 5.16'],
  ['core', '5.4', 'blocked', /ringbuf/, 'ring buffer 5.8 (457f44363a88)'],
  ['core', '5.10', 'ok', null, 'tracing 5.5 (f1b9509c2fb0), ringbuf 5.8, kprobe 4.1, raw_tracepoint 4.17'],
  ['life', '5.10', 'blocked', /ringbuf|syscall/, 'syscall programs 5.14 (79a7f8bdb159)'],
  ['life', '5.15', 'blocked', /bpf_loop/, 'life.bpf.c calls bpf_loop, 5.17 (e6f2dd0f8067)'],
  ['life', '6.1', 'ok', null, 'bpf_loop 5.17, bpf_timer 5.15'],
  ['timer', '5.10', 'blocked', /syscall/, 'syscall programs 5.14; the first program is SEC("syscall")'],
  ['timer', '5.15', 'ok', null, 'bpf_timer 5.15 (b00628b1c7d5)'],
  ['tls', '5.4', 'blocked', /ringbuf/, 'ring buffer 5.8'],
  ['tls', '5.15', 'blocked', /bpf_loop/, 'bpf_loop 5.17'],
  ['tls', '6.1', 'ok', null, 'bpf_loop 5.17'],
  ['http', '5.15', 'blocked', /bpf_loop/, 'bpf_loop 5.17'],
  ['http', '6.1', 'ok', null, 'bpf_loop 5.17; lpm_trie 4.11'],
  ['isa-v4', '6.1', 'blocked', /cpu v4/, 'cpu v4 instructions 6.6'],
  ['isa-v4', '6.6', 'ok', null, 'cpu v4 instructions 6.6; atomics 5.12'],
  [
    'loops',
    '4.19',
    'blocked',
    /bounded loop/,
    'bounded loops 5.3 (2589726d12a1); no global data in loops.bpf.o',
  ],
  ['loops', '5.4', 'ok', null, 'bounded loops 5.3'],
  ['globals', '4.19', 'blocked', /global data/, 'direct map value access 5.2 (d8eca5bbb2be)'],
  ['globals', '5.4', 'ok', null, 'global data 5.2'],
  ['xdp-firewall', '4.19', 'ok', null, 'XDP 4.8; hash, array 3.19; percpu_array 4.6'],
  ['xdp-parse', '4.19', 'ok', null, 'XDP 4.8; array 3.19'],
  ['tail-calls', '4.19', 'ok', null, 'prog_array and tail calls 4.2 (04fd61ab36ec)'],
  [
    'map-in-map',
    '4.19',
    'blocked',
    /bpf_spin_lock/,
    'bpf_spin_lock 5.1 (d83525ca62cf); array/hash of maps 4.12',
  ],
  ['subprogs', '5.10', 'blocked', /syscall/, 'syscall programs 5.14'],
  ['subprogs', '5.15', 'ok', null, 'bpf-to-bpf calls 4.16 (cc8b0b92a169), syscall 5.14'],
  ['tc-classifier', '4.19', 'blocked', /global data/, 'tc_class.rodata: global data 5.2'],
  ['socket-filter', '5.4', 'ok', null, 'socket filter 3.19, global data 5.2'],
  ['bpf-loop', '5.15', 'blocked', /bpf_loop|PSEUDO_FUNC/, 'bpf_loop 5.17; callbacks (BPF_PSEUDO_FUNC) 5.13'],
];

test(`spot checks: ${spot.length} (example, release) cells against public sources`, () => {
  assert.ok(spot.length >= 20);
  for (const [example, version, verdict, first, why] of spot) {
    const v = scan(example).verdicts[version]!;
    assert.equal(v.verdict, verdict, `${example} on ${version} (${why}): ${v.reasons[0]?.text}`);
    if (first) assert.match(v.reasons[0]!.text, first, `${example} on ${version} (${why})`);
  }
});

test("per program: the timer example's XDP program needs bpf_timer (5.15), its stop program less", () => {
  const spec = loadCollectionSpec(readFileSync(`${root}examples/timer/timer.bpf.o`), { file: 'timer.bpf.o' });
  const xdp = scanProgram(linkProgram(spec, 'timer_arm_xdp'));
  assert.equal(xdp.minVersion, '5.15');
  assert.ok(xdp.verdicts['5.10']!.reasons.some((r) => /bpf_timer_/.test(r.text)));
  const whole = scan('timer');
  // The object needs at least what each of its programs needs.
  for (const p of spec.programs) {
    const one = scanProgram(linkProgram(spec, p.name));
    assert.ok(compareVersions(whole.minVersion, one.minVersion) >= 0, p.name);
  }
});
