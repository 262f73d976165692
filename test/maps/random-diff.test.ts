// Randomised differential tests: seeded random sequences of bpf() map commands over small key
// spaces (so updates collide, maps fill up and flags fail), run in the kernel (kmapops) and
// through tsbpf's host API; every result line must match.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kmapopsProblem, possibleCpus, runKernelScript, runTsbpfScript } from './host-ops.ts';
import { mulberry32Below } from '../../src/prng.ts';

const problem = kmapopsProblem();
if (problem) console.log(`# maps random-diff skipped: ${problem}`);
const CPUS = possibleCpus();

const hexOf = (bytes: number[]): string => Buffer.from(bytes).toString('hex');
const u32 = (v: number): string => hexOf([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24]);

interface Shape {
  create: string;
  key: (r: (n: number) => number) => string;
  value: (r: (n: number) => number) => string;
  /** Commands besides update/lookup/delete. */
  extra: string[];
  /** Walk order is unspecified (hash maps): compare sorted. */
  sortedWalk?: boolean;
}

const val = (len: number) => (r: (n: number) => number) => hexOf(Array.from({ length: len }, () => r(256)));

const SHAPES: Record<string, Shape> = {
  hash: {
    create: 'create 1 4 8 8 0 0 -1',
    key: (r) => u32(r(12)),
    value: val(8),
    extra: ['lookupdel'],
    sortedWalk: true,
  },
  hash_no_prealloc: {
    create: 'create 1 4 4 6 1 0 -1',
    key: (r) => u32(r(10) * 0x01010101),
    value: val(4),
    extra: ['lookupdel'],
    sortedWalk: true,
  },
  array: { create: 'create 2 4 4 8 0 0 -1', key: (r) => u32(r(10)), value: val(4), extra: ['next'] },
  percpu_array: {
    create: 'create 6 4 4 6 0 0 -1',
    key: (r) => u32(r(8)),
    value: val(8 * CPUS),
    extra: ['next'],
  },
  percpu_hash: {
    create: 'create 5 4 4 6 0 0 -1',
    key: (r) => u32(r(9)),
    value: val(8 * CPUS),
    extra: ['lookupdel'],
    sortedWalk: true,
  },
  lru_hash: {
    create: 'create 9 4 4 64 0 0 -1',
    key: (r) => u32(r(10)),
    value: val(4),
    extra: [],
    sortedWalk: true,
  },
  // With BPF_F_ZERO_SEED the kernel's bucket order is reproducible: walks compare as lists.
  hash_zero_seed: {
    create: 'create 1 4 8 8 64 0 -1',
    key: (r) => u32(r(12)),
    value: val(8),
    extra: ['lookupdel', 'next'],
  },
  hash_jhash_zero_seed: {
    create: 'create 1 6 4 8 65 0 -1',
    key: (r) => `${u32(r(12))}0102`,
    value: val(4),
    extra: ['next'],
  },
  lru_hash_evicting_zero_seed: {
    create: 'create 9 4 4 8 64 0 -1',
    key: (r) => u32(r(20)),
    value: val(4),
    extra: ['next'],
  },
  lru_own_lists_zero_seed: {
    // BPF_F_NO_COMMON_LRU: the host (CPU 0) only gets CPU 0's share of the elements.
    create: 'create 9 4 4 8 66 0 -1',
    key: (r) => u32(r(12)),
    value: val(4),
    extra: ['next'],
  },
  lru_percpu_own_lists: {
    create: 'create 10 4 4 6 66 0 -1',
    key: (r) => u32(r(9)),
    value: val(8 * CPUS),
    extra: ['next'],
  },
  percpu_hash_zero_seed: {
    create: 'create 5 4 4 6 64 0 -1',
    key: (r) => u32(r(9)),
    value: val(8 * CPUS),
    extra: ['next'],
  },
  lpm_trie: {
    create: 'create 11 6 4 12 1 0 -1',
    // Prefix lengths 0..17 (17 is invalid), data from a few patterns so prefixes nest.
    key: (r) => u32(r(18)) + hexOf([[0xc0, 0xa8][r(2)]!, [0x00, 0x01, 0x80, 0xff][r(4)]!]),
    value: val(4),
    extra: ['next'],
  },
};

function script(shape: Shape, seed: number, n: number): string {
  const r = mulberry32Below(seed);
  const lines = [shape.create];
  for (let i = 0; i < n; i++) {
    const k = shape.key(r);
    const op = r(10);
    if (op < 4) lines.push(`update 0 ${k} ${shape.value(r)} ${r(5)}`);
    else if (op < 6) lines.push(`lookup 0 ${k}`);
    else if (op < 8) lines.push(`delete 0 ${k}`);
    else if (op < 9 && shape.extra.length) lines.push(`${shape.extra[r(shape.extra.length)]} 0 ${k}`);
    else lines.push(`walk 0${shape.sortedWalk ? ' sorted' : ''}`);
  }
  return lines.join('\n');
}

function sortWalks(s: string, out: string[]): string[] {
  const lines = s.split('\n');
  return out.map((r, i) => (lines[i]?.endsWith(' sorted') ? r.split(' ').sort().join(' ') : r));
}

describe('random command sequences: tsbpf vs kernel bpf()', { skip: problem }, () => {
  for (const [name, shape] of Object.entries(SHAPES)) {
    test(name, () => {
      for (const seed of [1, 2, 3]) {
        const s = script(shape, seed * 7919 + name.length, 250);
        const k = sortWalks(s, runKernelScript(s));
        const t = sortWalks(s, runTsbpfScript(s, CPUS));
        const lines = s.split('\n');
        assert.equal(k.length, lines.length, 'kernel answered every command');
        for (let i = 0; i < lines.length; i++)
          assert.equal(t[i], k[i], `seed ${seed}, line ${i + 1}: ${lines[i]}`);
        // The sequences must exercise failures as well as successes.
        assert.ok(k.some((x) => x.startsWith('err')) && k.some((x) => x.startsWith('ok ')));
      }
    });
  }

  test('queue and stack', () => {
    for (const type of [22, 23]) {
      const r = mulberry32Below(type);
      const lines = [`create ${type} 0 4 5 0 0 -1`];
      for (let i = 0; i < 300; i++) {
        const op = r(3);
        if (op === 0) lines.push(`update 0 - ${u32(r(1000))} ${r(4)}`);
        else lines.push(op === 1 ? 'lookup 0 -' : 'lookupdel 0 -');
      }
      const s = lines.join('\n');
      assert.deepEqual(runTsbpfScript(s, CPUS), runKernelScript(s));
    }
  });

  test('bloom filter (zero seed), 4- and 6-byte values', () => {
    for (const size of [4, 6]) {
      const r = mulberry32Below(size);
      const lines = [`create 30 0 ${size} 16 64 ${r(6)} -1`];
      for (let i = 0; i < 300; i++) {
        const v = hexOf(Array.from({ length: size }, () => r(4)));
        lines.push(r(3) === 0 ? `update 0 - ${v} 0` : `lookup 0 - ${v}`);
      }
      const s = lines.join('\n');
      assert.deepEqual(runTsbpfScript(s, CPUS), runKernelScript(s));
    }
  });
});
