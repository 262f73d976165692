// Program-side differential tests for the map types kbpf cannot create: a kmapops script
// creates the maps (map 0 records the program's results), prepares them from the host, runs a
// socket filter (`run`) that calls map helpers, then reads everything back; the kernel and
// tsbpf must print the same lines. Covers push/pop/peek on queues, stacks and bloom filters,
// LPM lookups, per-CPU hashes with lookup_percpu_elem, map-in-map lookups, and the kernel's
// hash order after program updates (BPF_F_ZERO_SEED).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeProgram } from '../../src/isa/encode.ts';
import { kmapopsProblem, possibleCpus, runKernelScript, runTsbpfScript } from './host-ops.ts';
import { MapProg, NULL_MARK, results } from './prog-builder.ts';
import { mulberry32Below } from '../../src/prng.ts';

const problem = kmapopsProblem();
if (problem) console.log(`# maps prog-diff skipped: ${problem}`);
const CPUS = possibleCpus();

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u32 = (v: number): string => hex(new Uint8Array(new Uint32Array([v]).buffer));
const u64 = (v: number): string => hex(new Uint8Array(new BigUint64Array([BigInt(v)]).buffer));

/**
 * `maps`: create lines for maps 1.. (map 0 is the results array); `setup`/`after`: host
 * commands before and after the run. Returns the program's results (map 0) from the kernel.
 */
function same(p: MapProg, maps: string[], setup: string[] = [], after: string[] = []): bigint[] {
  const { insns, out } = p.build();
  const lines = [
    `create 2 4 ${out.value} 1 0 0 -1`,
    ...maps,
    ...setup,
    `run ${hex(encodeProgram(insns))}`,
    'lookup 0 00000000',
    ...after,
  ];
  const script = lines.join('\n');
  const k = runKernelScript(script);
  const t = runTsbpfScript(script, CPUS);
  const runAt = lines.findIndex((l) => l.startsWith('run '));
  assert.match(k[runAt] ?? '', /^ok /, `the kernel refused or failed the program: ${k[runAt]}`);
  for (let i = 0; i < lines.length; i++)
    assert.equal(
      t[i],
      k[i],
      `line ${i + 1}: ${lines[i]!.length > 80 ? `${lines[i]!.slice(0, 80)}...` : lines[i]}`,
    );
  return results(k[runAt + 1]!.slice(3));
}

describe('map helpers from programs: tsbpf vs kernel (kmapops run)', { skip: problem }, () => {
  test('queue and stack: random push (all flags), pop and peek', () => {
    for (const type of [22, 23]) {
      for (const seed of [1, 2]) {
        const r = mulberry32Below(seed * 100 + type);
        const p = new MapProg();
        for (let i = 0; i < 40; i++) {
          const op = r(3);
          if (op === 0) p.push(1, r(1000), r(4));
          else p.take(1, op === 1 ? 'pop' : 'peek');
        }
        same(p, [`create ${type} 0 8 4 0 0 -1`], [`update 1 - ${u64(77)} 0`], ['lookup 1 -']);
      }
    }
  });

  test('bloom filter (zero seed): program pushes, program and host peeks', () => {
    const r = mulberry32Below(9);
    const p = new MapProg();
    const vals = Array.from({ length: 30 }, () => r(64));
    for (const v of vals.slice(0, 10)) p.push(1, v, r(5) === 0 ? 1 : 0);
    for (const v of vals) p.bloomPeek(1, v);
    const res = same(
      p,
      ['create 30 0 8 8 64 3 -1'],
      [],
      vals.map((v) => `lookup 1 - ${u64(v)}`),
    );
    // The first 10 were pushed (flags 1 is -EINVAL, so some may be missing): a pushed value peeks 0.
    res.slice(0, 10).forEach((r, i) => {
      if (r === 0n) assert.equal(res[10 + i], 0n, `value ${vals[i]} was added`);
    });
  });

  test('LPM trie: program lookups, updates and deletes with 8-byte keys', () => {
    const key = (len: number, a: number, b: number, c: number, d: number): bigint =>
      BigInt(len) | (BigInt(a) << 32n) | (BigInt(b) << 40n) | (BigInt(c) << 48n) | (BigInt(d) << 56n);
    const p = new MapProg()
      .lookup(1, key(32, 10, 1, 2, 3))
      .lookup(1, key(32, 10, 9, 9, 9))
      .lookup(1, key(16, 10, 1, 2, 3))
      .lookup(1, key(33, 10, 1, 2, 3))
      .update(1, key(24, 10, 1, 2, 0), 24, 1)
      .update(1, key(24, 10, 1, 2, 0), 25, 1)
      .update(1, key(40, 10, 1, 2, 0), 25, 0)
      .lookup(1, key(32, 10, 1, 2, 3))
      .delete(1, key(24, 10, 1, 2, 0))
      .delete(1, key(24, 10, 1, 2, 0))
      .lookup(1, key(32, 10, 1, 2, 3));
    const lpmKey = (len: number, ip: number[]) => u32(len) + hex(new Uint8Array(ip));
    same(
      p,
      ['create 11 8 8 8 1 0 -1'],
      [
        `update 1 ${lpmKey(8, [10, 0, 0, 0])} ${u64(8)} 0`,
        `update 1 ${lpmKey(16, [10, 1, 0, 0])} ${u64(16)} 0`,
      ],
      ['walk 1'],
    );
  });

  test('per-CPU hashes: the program sees CPU 0; lookup_percpu_elem of CPU 1 and a missing CPU', () => {
    for (const type of [5, 10]) {
      const p = new MapProg()
        .update(1, 1, 11)
        .lookup(1, 1)
        .lookupPercpu(1, 1, 0)
        .lookupPercpu(1, 2, 1)
        .lookupPercpu(1, 2, 4096)
        .update(1, 2, 22, 2)
        .lookupPercpu(1, 2, 0)
        .delete(1, 1)
        .lookup(1, 1);
      const vals = Array.from({ length: CPUS }, (_, c) => u64(100 + c)).join('');
      same(
        p,
        [`create ${type} 4 8 8 64 0 -1`],
        [`update 1 ${u32(2)} ${vals} 0`],
        [`lookup 1 ${u32(2)}`, 'walk 1'],
      );
    }
  });

  test('array_of_maps and hash_of_maps: lookups go through the inner map', () => {
    const p = new MapProg()
      .lookupInner(3, 0, 1)
      .lookupInner(3, 1, 1)
      .lookupInner(3, 2, 5)
      .lookupInner(4, 7, 1);
    const res = same(
      p,
      ['create 2 4 8 8 0 0 -1', 'create 2 4 8 8 0 0 -1', 'create 12 4 4 4 0 0 1', 'create 13 4 4 4 0 0 1'],
      [
        `update 1 ${u32(1)} ${u64(111)} 0`,
        `update 2 ${u32(1)} ${u64(222)} 0`,
        `updatefd 3 ${u32(0)} 1 0`,
        `updatefd 3 ${u32(1)} 2 0`,
        `updatefd 4 ${u32(7)} 2 0`,
      ],
    );
    assert.deepEqual(res, [111n, 222n, BigInt(NULL_MARK), 222n]);
  });

  test('hash with BPF_F_ZERO_SEED: program updates and deletes leave the kernel bucket order', () => {
    for (const type of [1, 9]) {
      const r = mulberry32Below(type);
      const p = new MapProg();
      for (let i = 0; i < 60; i++) {
        const k = r(24);
        if (r(3)) p.update(1, k * 7919, i, r(3));
        else p.delete(1, k * 7919);
      }
      same(p, [`create ${type} 4 8 16 64 0 -1`], [], ['walk 1']);
    }
  });

  test('ring buffer as user space maps it: positions, record headers (len, pg_off), samples', () => {
    for (const seed of [1, 2, 3]) {
      const r = mulberry32Below(seed + 50);
      const p = new MapProg();
      for (let i = 0; i < 30; i++) {
        const op = r(3);
        if (op === 0) p.reserve(1, [8, 16, 100, 700][r(4)]!, 0, r(3) ? 'submit' : 'discard');
        else if (op === 1) p.output(1, 1 + r(40));
        else p.query(1, r(4));
      }
      const res = same(p, ['create 27 0 0 8192 0 0 -1'], [], ['ringdump 1']);
      assert.ok(res.length > 0);
    }
  });
});
