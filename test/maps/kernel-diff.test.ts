// Differential tests of map semantics against the running kernel: the same programs (sequences
// of map helper calls whose results are recorded in an array map) run in the kernel through
// tools/kbpf and in tsbpf through testRun; retval and every array map must match. Also map
// creation checks (errno) and the verifier's map/helper compatibility table.
// Skipped with a message when gcc or bpf() is unavailable.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assembleAuto } from '../../src/isa/asm/index.ts';
import { helperId } from '../../src/isa/helper-names.ts';
import { mapFuncCompatible } from '../../src/maps/compat.ts';
import { mapCreateCheck } from '../../src/maps/create.ts';
import { errnoName } from '../../src/maps/errno.ts';
import { normalizeSpec } from '../../src/maps/spec.ts';
import { cleanup, type KMap, oracleProblem, runKernel, runTsbpf } from './kbpf.ts';
import { MapProg, NULL_MARK, results } from './prog-builder.ts';
import { mulberry32Below } from '../../src/prng.ts';

after(cleanup);
const problem = oracleProblem();
if (problem) console.log(`# maps kernel-diff skipped: ${problem}`);
const opts = { skip: problem };

const ENOENT = -2n;
const E2BIG = -7n;
const EAGAIN = -11n;
const EEXIST = -17n;
const EINVAL = -22n;
const NULLV = BigInt(NULL_MARK);

/** Runs the program in both, checks they agree, returns the recorded results. */
function diff(p: MapProg, maps: KMap[]): bigint[] {
  const { insns, out } = p.build();
  const all = [out, ...maps];
  const k = runKernel(insns, all);
  const t = runTsbpf(insns, all);
  assert.equal(k.verdict, 'accept', `kernel refused the program:\n${k.raw}`);
  assert.equal(t.retval, k.retval, 'retval');
  assert.deepEqual(t.maps, k.maps, 'array map contents');
  const r = results(k.maps['map0[0]']);
  assert.equal(r.length, Math.max(1, p.count));
  return r;
}

const array = (max: number, value = 8): KMap => ({ type: 'array', key: 4, value, max });
const hash = (max: number): KMap => ({ type: 'hash', key: 4, value: 8, max });

describe('map semantics: tsbpf vs kernel', opts, () => {
  test('array: update flags, out-of-range index, delete, lookup', () => {
    const p = new MapProg()
      .update(1, 0, 11)
      .update(1, 3, 33, 2) // BPF_EXIST: always exists
      .update(1, 1, 99, 1) // BPF_NOEXIST
      .update(1, 4, 44) // index == max_entries
      .update(1, 2, 22, 3) // invalid flags
      .update(1, 2, 22, 4) // BPF_F_LOCK without a spin lock
      .delete(1, 0)
      .lookup(1, 0)
      .lookup(1, 1)
      .lookup(1, 4);
    const r = diff(p, [array(4)]);
    assert.deepEqual(r, [0n, 0n, EEXIST, E2BIG, EINVAL, EINVAL, EINVAL, 11n, 0n, NULLV]);
  });

  test('array: values written through a lookup pointer persist', () => {
    const p = new MapProg().hold(1, 2).addHeld(5).addHeld(7).readHeld().lookup(1, 2);
    assert.deepEqual(diff(p, [array(3)]), [12n, 12n]);
  });

  test('hash: NOEXIST/EXIST, full map, replace when full, delete', () => {
    const p = new MapProg()
      .update(1, 1, 10, 1)
      .update(1, 1, 11, 1)
      .update(1, 2, 20, 2)
      .update(1, 2, 20)
      .update(1, 3, 30)
      .update(1, 4, 40) // full
      .update(1, 1, 12) // replacing still works when full
      .update(1, 1, 13, 2)
      .lookup(1, 1)
      .delete(1, 2)
      .delete(1, 2)
      .update(1, 4, 40, 1)
      .lookup(1, 4)
      .lookup(1, 2)
      .update(1, 5, 50, 3)
      .update(1, 5, 50, 4);
    const r = diff(p, [hash(3)]);
    assert.deepEqual(r, [
      0n,
      EEXIST,
      ENOENT,
      0n,
      0n,
      E2BIG,
      0n,
      0n,
      13n,
      0n,
      ENOENT,
      0n,
      40n,
      NULLV,
      EINVAL,
      EINVAL,
    ]);
  });

  test('hash: a replaced element keeps its old value until the next replacement reuses it', () => {
    // kernel: preallocated hash maps swap the element with the per-CPU extra element.
    const p = new MapProg()
      .update(1, 7, 1)
      .hold(1, 7)
      .update(1, 7, 2)
      .readHeld()
      .update(1, 7, 3)
      .readHeld()
      .lookup(1, 7);
    diff(p, [hash(4)]);
  });

  test('hash: delete then insert again; lookups of many keys', () => {
    const p = new MapProg();
    for (let k = 0; k < 6; k++) p.update(1, k * 1000, k);
    for (let k = 0; k < 6; k += 2) p.delete(1, k * 1000);
    for (let k = 6; k < 9; k++) p.update(1, k * 1000, k);
    p.update(1, 9000, 9);
    for (let k = 0; k < 10; k++) p.lookup(1, k * 1000);
    diff(p, [hash(6)]);
  });

  test('percpu_array: the current CPU copy; lookup_percpu_elem on a CPU that does not exist', () => {
    const p = new MapProg()
      .update(1, 1, 5)
      .lookup(1, 1)
      .update(1, 1, 6, 1)
      .update(1, 9, 6)
      .hold(1, 1)
      .addHeld(10)
      .lookup(1, 1)
      .lookupPercpu(1, 1, 100000)
      .lookupPercpu(1, 5, 0)
      .delete(1, 1);
    const r = diff(p, [{ type: 'percpu_array', key: 4, value: 8, max: 4 }]);
    assert.deepEqual(r, [0n, 5n, EEXIST, E2BIG, 15n, NULLV, NULLV, EINVAL]);
  });

  test('lru_hash below capacity: flags, replace, delete', () => {
    const p = new MapProg()
      .update(1, 1, 10, 1)
      .update(1, 1, 10, 1)
      .update(1, 2, 20, 2)
      .update(1, 2, 20)
      .update(1, 2, 21, 2)
      .lookup(1, 2)
      .delete(1, 1)
      .delete(1, 1)
      .lookup(1, 1)
      .update(1, 3, 30, 4)
      .update(1, 3, 30, 3);
    const r = diff(p, [{ type: 'lru_hash', key: 4, value: 8, max: 64 }]);
    assert.deepEqual(r, [0n, EEXIST, ENOENT, 0n, 0n, 21n, 0n, ENOENT, NULLV, EINVAL, EINVAL]);
  });

  test('lru_hash past capacity: batch eviction of the least recently used, even before full', () => {
    // kernel: free elements are gathered target_free = max_entries / nr_cpus / 2 at a time, so
    // eviction comes in batches, and (max 600) can start before the map is full.
    const scenarios: [number, number[], number][] = [
      [8, [], 4],
      [64, [], 40],
      [16, [1, 2, 3], 6],
      [64, [1, 5, 9], 20],
      [600, [], 10],
    ];
    for (const [max, touch, extra] of scenarios) {
      const p = new MapProg();
      for (let k = 1; k <= max + extra; k++) {
        p.update(1, k, k);
        if (k === max) for (const t of touch) p.lookup(1, t);
      }
      for (let k = 1; k <= max + extra; k++) p.lookup(1, k);
      const r = diff(p, [{ type: 'lru_hash', key: 4, value: 8, max }]);
      const n = max + extra + touch.length;
      assert.ok(
        r.slice(0, n).every((x) => x >= 0n),
        'LRU updates never fail',
      );
      assert.notEqual(r[r.length - 1], NULLV, 'the newest key is present');
    }
  });

  test('lru_hash: replacing existing keys of a full map also evicts (the new element comes first)', () => {
    for (const max of [16, 64]) {
      const p = new MapProg();
      for (let k = 0; k < max; k++) p.update(1, k, k);
      for (let i = 0; i < 150; i++) p.update(1, i % max, 1000 + i);
      for (let k = 0; k < max; k++) p.lookup(1, k);
      const r = diff(p, [{ type: 'lru_hash', key: 4, value: 8, max }]);
      const present = r.slice(max + 150).filter((x) => x !== NULLV).length;
      assert.ok(present < max, `${present} of ${max} keys survive`);
    }
  });

  test('ringbuf: reserve/submit/discard, output, query, running out of space', () => {
    const p = new MapProg()
      .reserve(1, 100, 0, 'submit')
      .query(1, 0) // avail: round_up(100 + 8, 8)
      .query(1, 1) // ring size
      .query(1, 2) // consumer pos
      .query(1, 3) // producer pos
      .reserve(1, 5000, 0, 'submit') // larger than the ring
      .reserve(1, 16, 1, 'submit') // flags must be 0
      .output(1, 16)
      .output(1, 16, 4) // unknown flag
      .output(1, 3, 1) // BPF_RB_NO_WAKEUP
      .reserve(1, 4000, 0, 'discard') // 136 + 4008 > size - 1
      .reserve(1, 3900, 0, 'discard')
      .query(1, 0)
      .output(1, 40, 2)
      .reserve(1, 0, 0, 'submit')
      .query(1, 3)
      .query(1, 99);
    const r = diff(p, [{ type: 'ringbuf', key: 0, value: 0, max: 4096 }]);
    assert.deepEqual(r, [
      1n,
      112n,
      4096n,
      0n,
      112n,
      0n,
      0n,
      0n,
      EINVAL,
      0n,
      0n,
      1n,
      4064n,
      EAGAIN,
      1n,
      4072n,
      0n,
    ]);
  });

  test('ringbuf: records wrap around the end of a small ring', () => {
    const p = new MapProg();
    // Nobody consumes, so the ring fills up: 12 records of 40 + 8 bytes... then refusals.
    for (let i = 0; i < 100; i++) p.output(1, 40);
    p.query(1, 0).query(1, 3);
    const r = diff(p, [{ type: 'ringbuf', key: 0, value: 0, max: 4096 }]);
    assert.equal(r.filter((x) => x === 0n).length, 85, '4095 / 48 records fit');
  });
});

describe('map creation checks: tsbpf vs kernel', opts, () => {
  const specs: KMap[] = [
    { type: 'array', key: 4, value: 8, max: 1 },
    { type: 'array', key: 8, value: 8, max: 1 },
    { type: 'array', key: 4, value: 0, max: 1 },
    { type: 'array', key: 4, value: 8, max: 0 },
    { type: 'percpu_array', key: 4, value: 32768, max: 1 },
    { type: 'percpu_array', key: 4, value: 32769, max: 1 },
    { type: 'hash', key: 0, value: 8, max: 1 },
    { type: 'hash', key: 4, value: 0, max: 1 },
    { type: 'hash', key: 4, value: 8, max: 0 },
    { type: 'hash', key: 512, value: 8, max: 1 },
    { type: 'hash', key: 513, value: 8, max: 1 },
    { type: 'hash', key: 8, value: 4194304, max: 1 },
    { type: 'lru_hash', key: 4, value: 8, max: 0 },
    { type: 'lru_hash', key: 4, value: 0, max: 4 },
    { type: 'ringbuf', key: 0, value: 0, max: 4096 },
    { type: 'ringbuf', key: 0, value: 0, max: 65536 },
    { type: 'ringbuf', key: 0, value: 0, max: 2048 },
    { type: 'ringbuf', key: 0, value: 0, max: 12288 },
    { type: 'ringbuf', key: 4, value: 0, max: 4096 },
    { type: 'ringbuf', key: 0, value: 8, max: 4096 },
    { type: 'prog_array', key: 4, value: 4, max: 4 },
    { type: 'prog_array', key: 4, value: 8, max: 4 },
    { type: 'prog_array', key: 8, value: 4, max: 4 },
  ];
  const trivial = assembleAuto('r0 = 0\nexit');
  for (const s of specs) {
    test(`${s.type}:${s.key}:${s.value}:${s.max}`, () => {
      const k = runKernel(trivial, [s]);
      const err = mapCreateCheck(
        normalizeSpec({ type: s.type, keySize: s.key, valueSize: s.value, maxEntries: s.max }),
      );
      const ours = err === 0 ? 'accept' : `create: ${errnoName(err)}`;
      assert.equal(ours, k.verdict, k.raw);
    });
  }
});

describe('map/helper compatibility: tsbpf table vs kernel verifier', opts, () => {
  const maps: KMap[] = [
    { type: 'array', key: 4, value: 8, max: 4 },
    { type: 'hash', key: 4, value: 8, max: 4 },
    { type: 'percpu_array', key: 4, value: 8, max: 4 },
    { type: 'lru_hash', key: 4, value: 8, max: 4 },
    { type: 'ringbuf', key: 0, value: 0, max: 4096 },
    { type: 'prog_array', key: 4, value: 4, max: 4 },
  ];
  // Each call site is valid for a map of the right type: key at r10-8, value at r10-24.
  const setup = '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 24) = 0\nr6 = r1\n';
  const key = 'r2 = r10\nr2 += -8\n';
  const calls: Record<string, string> = {
    map_lookup_elem: `r1 = map_fd(0) ll\n${key}call bpf_map_lookup_elem`,
    map_update_elem: `r1 = map_fd(0) ll\n${key}r3 = r10\nr3 += -24\nr4 = 0\ncall bpf_map_update_elem`,
    map_delete_elem: `r1 = map_fd(0) ll\n${key}call bpf_map_delete_elem`,
    map_push_elem: 'r1 = map_fd(0) ll\nr2 = r10\nr2 += -24\nr3 = 0\ncall bpf_map_push_elem',
    map_pop_elem: 'r1 = map_fd(0) ll\nr2 = r10\nr2 += -24\ncall bpf_map_pop_elem',
    map_peek_elem: 'r1 = map_fd(0) ll\nr2 = r10\nr2 += -24\ncall bpf_map_peek_elem',
    map_lookup_percpu_elem: `r1 = map_fd(0) ll\n${key}r3 = 0\ncall bpf_map_lookup_percpu_elem`,
    ringbuf_output: 'r1 = map_fd(0) ll\nr2 = r10\nr2 += -24\nr3 = 8\nr4 = 0\ncall bpf_ringbuf_output',
    ringbuf_reserve:
      'r1 = map_fd(0) ll\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve\nif r0 == 0 goto out\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit',
    ringbuf_query: 'r1 = map_fd(0) ll\nr2 = 0\ncall bpf_ringbuf_query',
    tail_call: 'r1 = r6\nr2 = map_fd(0) ll\nr3 = 0\ncall bpf_tail_call',
  };
  for (const m of maps) {
    for (const [name, body] of Object.entries(calls)) {
      test(`${m.type} with bpf_${name}`, () => {
        const insns = assembleAuto(`${setup}${body}\nout:\nr0 = 0\nexit`);
        const k = runKernel(insns, [m]);
        const type = normalizeSpec({ type: m.type, maxEntries: 1 }).type;
        const ours = mapFuncCompatible(type, helperId(name)!) ? 'accept' : 'reject';
        assert.equal(ours, k.verdict, k.raw.split('--- log')[0]);
      });
    }
  }
});

describe('random helper sequences: tsbpf vs kernel', opts, () => {
  /** mulberry32, seeded: the same sequences every run. */
  const rng = mulberry32Below;
  const kinds: [string, KMap, number][] = [
    ['array', array(6), 8],
    ['hash', hash(6), 10],
    ['percpu_array', { type: 'percpu_array', key: 4, value: 8, max: 6 }, 8],
    ['lru_hash (below capacity)', { type: 'lru_hash', key: 4, value: 8, max: 64 }, 10],
    ['lru_hash (evicting)', { type: 'lru_hash', key: 4, value: 8, max: 8 }, 20],
  ];
  for (const [name, map, keys] of kinds) {
    test(name, () => {
      for (const seed of [11, 12, 13]) {
        const r = rng(seed * 31 + keys);
        const p = new MapProg();
        let held = false;
        for (let i = 0; i < 60; i++) {
          const k = r(keys);
          const op = r(12);
          if (op < 5) p.update(1, k, r(1000), r(5));
          else if (op < 8) p.lookup(1, k);
          else if (op < 10) p.delete(1, k);
          else if (op < 11) {
            p.hold(1, k).addHeld(r(50));
            held = true;
          } else if (held) p.readHeld();
        }
        diff(p, [map]);
      }
    });
  }

  test('ringbuf', () => {
    for (const seed of [21, 22, 23]) {
      const r = rng(seed);
      const p = new MapProg();
      for (let i = 0; i < 80; i++) {
        const op = r(4);
        if (op === 0)
          p.reserve(
            1,
            [0, 8, 100, 500, 1000, 3000][r(6)]!,
            r(4) === 0 ? 1 : 0,
            r(2) ? 'submit' : 'discard',
            r(4),
          );
        else if (op === 1) p.output(1, r(41), r(5) === 0 ? 8 : r(4));
        else p.query(1, r(5));
      }
      diff(p, [{ type: 'ringbuf', key: 0, value: 0, max: 8192 }]);
    }
  });
});
