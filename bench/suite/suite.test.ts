// The suite's eBPF workloads compute what their names say: each retval is checked against a
// TypeScript model written from the algorithm's definition (RFC 1071, MurmurHash3, Life rules,
// a sorted array), on tsbpf's interpreter and JIT. The kernel and native C are compared with
// these at bench time (bench/compare.ts prints any mismatch).
// Run: node --import tsx --test bench/suite/suite.test.ts
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { type Engine, newCollection } from '../../src/runtime/index.ts';
import { PAYLOAD_OFF, makePacket } from './packet.ts';

const objectPath = new URL('bpf/workloads.bpf.o', import.meta.url).pathname;
const packet = makePacket();
const word = (i: number) => new DataView(packet.buffer).getUint32(PAYLOAD_OFF + 4 * i, true);
const fnvFold = (xs: number[]) => xs.reduce((h, x) => Math.imul((h ^ x) >>> 0, 0x01000193) >>> 0, 0);

function run(name: string, engine: Engine): number {
  const spec = loadCollectionSpec(readFileSync(objectPath), { file: objectPath });
  const coll = newCollection(spec, { engine, programs: [name] });
  try {
    return coll.program(name).run({ data: packet }).retval;
  } finally {
    coll.close();
  }
}

function rfc1071(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
function murmur3(words: number[], seed: number): number {
  let h = seed >>> 0;
  for (let k of words) {
    k = Math.imul(rotl(Math.imul(k, 0xcc9e2d51) >>> 0, 15), 0x1b873593) >>> 0;
    h = (Math.imul(rotl((h ^ k) >>> 0, 13), 5) + 0xe6546b64) >>> 0;
  }
  h = (h ^ (words.length * 4)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function lifeStep(rows: number[]): number[] {
  const n = rows.length;
  const at = (x: number, y: number) => (rows[(y + n) % n]! >>> ((x + n) % n)) & 1;
  return rows.map((_, y) => {
    let out = 0;
    for (let x = 0; x < n; x++) {
      let c = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (dx || dy) c += at(x + dx, y + dy);
      if (c === 3 || (c === 2 && at(x, y))) out |= 1 << x;
    }
    return out >>> 0;
  });
}

test('the MurmurHash3 model matches the published vectors', () => {
  // "abcd" as one little-endian word; empty input.
  assert.equal(murmur3([], 0), 0);
  assert.equal(murmur3([], 1), 0x514e28b7);
  assert.equal(murmur3([0x64636261], 0x9747b28c), 0xf0478627);
});

test('the Life model turns a blinker', () => {
  const rows = new Array<number>(32).fill(0);
  rows[5] = 0b111 << 4; // cells 4, 5, 6 of row 5
  const next = lifeStep(rows);
  assert.deepEqual([next[4], next[5], next[6]], [1 << 5, 1 << 5, 1 << 5]);
  assert.deepEqual(lifeStep(next), rows);
});

/** algo_parse's digest of the 5-tuple, from the fields the packet generator wrote. */
function parseDigest(saddr: number, daddr: number, ports: number, proto: number): number {
  const mix = (h: number, x: number) => (h ^ ((x + 0x7f4a7c15 + (h << 6) + (h >>> 2)) >>> 0)) >>> 0;
  return (mix(mix(Math.imul(saddr, 0x9e3779b1) >>> 0, daddr), ports) ^ proto) >>> 0;
}

const expected: Record<string, () => number> = {
  xdp_pass: () => 2,
  // 10.0.0.1 → 10.0.0.2, UDP 12345 → 53.
  parse: () => parseDigest(0x0a000001, 0x0a000002, (12345 << 16) | 53, 17),
  csum: () => rfc1071(packet),
  hash: () =>
    murmur3(
      Array.from({ length: 256 }, (_, i) => word(i)),
      0x12345678,
    ),
  life: () => fnvFold(lifeStep(Array.from({ length: 32 }, (_, i) => word(i)))),
  sort: () => fnvFold(Array.from({ length: 64 }, (_, i) => word(i)).sort((a, b) => a - b)),
  // Σ (i² + 7) for i < 64 = 85344 + 448.
  hashmap: () => 85792,
};

for (const [name, model] of Object.entries(expected))
  for (const engine of ['interp', 'jit'] as const)
    test(`${name} on ${engine} returns what the model computes`, () => {
      assert.equal(run(name, engine), model());
    });

test('loop on jit returns the 1M-step recurrence', () => {
  let acc = 0n;
  const mask = (1n << 64n) - 1n;
  for (let i = 0n; i < 1_000_000n; i++) acc = (((acc ^ i) * 0x100000001b3n) & mask) + 1n;
  acc &= mask;
  assert.equal(run('loop', 'jit'), Number((acc ^ (acc >> 32n)) & 0xffffffffn));
});
