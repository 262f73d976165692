// Maps used from programs, for the map types and helpers the kernel oracle (kbpf) cannot create:
// queue/stack, bloom filter, LPM trie, perf event array, map-in-map, ring buffer consumption.
// Expected values follow the kernel's documented behaviour (man bpf-helpers, kernel/bpf/*.c).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuntimeFault } from '../../src/errors.ts';
import { assembleAuto } from '../../src/isa/asm/index.ts';
import { ArrayMap } from '../../src/maps/array.ts';
import { createMap } from '../../src/maps/create.ts';
import type { PerfEventArrayMap } from '../../src/maps/fd-array.ts';
import type { HashMap } from '../../src/maps/hash.ts';
import { LpmTrieMap } from '../../src/maps/lpm-trie.ts';
import type { BpfMap } from '../../src/maps/map.ts';
import type { MapInMap } from '../../src/maps/map-in-map.ts';
import type { RingbufMap } from '../../src/maps/ringbuf.ts';
import type { MapCreateSpec } from '../../src/maps/spec.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { Vm } from '../../src/vm/vm.ts';

const u32 = (v: number): Uint8Array => ArrayMap.key(v);
const u64 = (v: number | bigint): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(v)]).buffer);
const s64 = (r0: bigint): bigint => BigInt.asIntN(64, r0);

/** A VM plus maps created in its arena. */
function setup(specs: MapCreateSpec[], vmOpts: ConstructorParameters<typeof Vm>[0] = {}, nrCpus = 1) {
  const vm = new Vm({ seed: 1, ...vmOpts });
  const maps = specs.map((s) => createMap(vm.arena, s, { nrCpus, hashSeed: 0 }));
  /** Runs LLVM-syntax text as a syscall program with ctx bytes; returns r0 (signed). */
  const run = (text: string, ctx?: Uint8Array): bigint =>
    s64(testRun(assembleAuto(text), { type: 'syscall', vm, maps, ctx }).r0);
  return { vm, maps, run };
}

test('queue and stack from a program: push, pop and peek order; full map', () => {
  for (const [type, order] of [
    ['queue', [1n, 2n]],
    ['stack', [3n, 2n]],
  ] as const) {
    const { maps, run } = setup([{ type, valueSize: 8, maxEntries: 3 }]);
    const push = (v: number, flags = 0) => `*(u64 *)(r10 - 8) = ${v}
      r1 = map_fd(0) ll
      r2 = r10
      r2 += -8
      r3 = ${flags}
      call bpf_map_push_elem`;
    const take = (fn: string) => `r1 = map_fd(0) ll
      r2 = r10
      r2 += -16
      call bpf_map_${fn}_elem
      if r0 != 0 goto out
      r0 = *(u64 *)(r10 - 16)`;
    for (const v of [1, 2, 3]) assert.equal(run(`${push(v)}\nexit`), 0n);
    assert.equal(run(`${push(4)}\nexit`), -7n, 'full: -E2BIG');
    assert.equal(run(`${push(4, 1)}\nexit`), -22n, 'BPF_NOEXIST: -EINVAL');
    assert.equal(run(`${take('peek')}\nout:\nexit`), order[0]);
    assert.equal(run(`${take('pop')}\nout:\nexit`), order[0]);
    assert.equal(run(`${take('pop')}\nout:\nexit`), order[1]);
    assert.equal((maps[0] as BpfMap & { count: number }).count, 1);
    assert.equal(run(`${take('pop')}\nout:\nexit`), type === 'queue' ? 3n : 1n);
    assert.equal(run(`${take('pop')}\nout:\nexit`), -2n, 'empty: -ENOENT');
  }
});

test('queue: BPF_EXIST on a full queue drops the oldest element', () => {
  const { maps } = setup([{ type: 'queue', valueSize: 4, maxEntries: 2 }]);
  const q = maps[0]!;
  q.update(new Uint8Array(0), u32(1));
  q.update(new Uint8Array(0), u32(2));
  q.update(new Uint8Array(0), u32(3), 2);
  assert.deepEqual(q.lookupAndDelete(new Uint8Array(0)), u32(2));
  assert.deepEqual(q.lookupAndDelete(new Uint8Array(0)), u32(3));
  assert.equal(q.lookupAndDelete(new Uint8Array(0)), undefined);
});

test('bloom filter from a program: pushed values are found, others are not', () => {
  // 1000 expected entries: with 2 values in the filter a false positive is out of the question.
  const { run } = setup([{ type: 'bloom_filter', valueSize: 8, maxEntries: 1000, flags: 64 }]);
  const call = (fn: string, v: number) => `*(u64 *)(r10 - 8) = ${v}
    r1 = map_fd(0) ll
    r2 = r10
    r2 += -8
    ${fn === 'push' ? 'r3 = 0' : ''}
    call bpf_map_${fn}_elem
    exit`;
  assert.equal(run(call('push', 42)), 0n);
  assert.equal(run(call('push', 43)), 0n);
  assert.equal(run(call('peek', 42)), 0n);
  assert.equal(run(call('peek', 43)), 0n);
  assert.equal(run(call('peek', 44)), -2n);
});

test('LPM trie from a program: longest prefix wins', () => {
  const { maps, run } = setup([{ type: 'lpm_trie', keySize: 8, valueSize: 8, maxEntries: 8, flags: 1 }]);
  const t = maps[0]!;
  t.update(LpmTrieMap.key(8, [10, 0, 0, 0]), u64(8));
  t.update(LpmTrieMap.key(24, [10, 1, 2, 0]), u64(24));
  // key = {prefixlen 32, 10.1.2.3}: the u32 prefix length, then the address in network order.
  const lookup = (a: number, b: number, c: number, d: number) => `*(u32 *)(r10 - 8) = 32
    *(u8 *)(r10 - 4) = ${a}
    *(u8 *)(r10 - 3) = ${b}
    *(u8 *)(r10 - 2) = ${c}
    *(u8 *)(r10 - 1) = ${d}
    r1 = map_fd(0) ll
    r2 = r10
    r2 += -8
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r0 = *(u64 *)(r0 + 0)
    out:
    exit`;
  assert.equal(run(lookup(10, 1, 2, 3)), 24n);
  assert.equal(run(lookup(10, 1, 3, 3)), 8n);
  assert.equal(run(lookup(11, 1, 2, 3)), 0n);
});

test('array_of_maps: a lookup returns the inner map, usable with bpf_map_lookup_elem', () => {
  const inner = { type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 } as const;
  const { vm, maps, run } = setup([
    { type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 2, innerMap: inner },
  ]);
  const outer = maps[0] as MapInMap;
  const a = createMap(vm.arena, inner);
  a.update(u32(3), u64(333));
  outer.setInner(u32(1), a);
  const prog = (slot: number) => `*(u32 *)(r10 - 4) = ${slot}
    r1 = map_fd(0) ll
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 == 0 goto none
    r1 = r0
    *(u32 *)(r10 - 8) = 3
    r2 = r10
    r2 += -8
    call bpf_map_lookup_elem
    if r0 == 0 goto none
    r0 = *(u64 *)(r0 + 0)
    exit
    none:
    r0 = -1
    exit`;
  assert.equal(run(prog(1)), 333n);
  assert.equal(run(prog(0)), -1n, 'empty slot: NULL');
  assert.equal(outer.getInner(u32(1)), a);
  const wrong = createMap(vm.arena, { ...inner, maxEntries: 5 });
  assert.throws(() => outer.setInner(u32(0), wrong), /does not match the template/);
  outer.delete(u32(1));
  assert.equal(run(prog(1)), -1n);
});

test('ring buffer: records reach the host consumer in order; discarded ones are skipped; wakeups', () => {
  const { maps, run } = setup([{ type: 'ringbuf', maxEntries: 4096 }]);
  const rb = maps[0] as RingbufMap;
  // Reserves 16 bytes, stores ctx's first u64 and its double, then submits/discards with flags.
  const rec = (commit: string, flags: number) => `r6 = r1
    r1 = map_fd(0) ll
    r2 = 16
    r3 = 0
    call bpf_ringbuf_reserve
    if r0 == 0 goto out
    r7 = *(u64 *)(r6 + 0)
    *(u64 *)(r0 + 0) = r7
    r7 += r7
    *(u64 *)(r0 + 8) = r7
    r1 = r0
    r2 = ${flags}
    call bpf_ringbuf_${commit}
    r0 = 1
    out:
    exit`;
  assert.equal(run(rec('submit', 0), u64(5)), 1n);
  assert.equal(rb.wakeups, 1, 'the consumer was waiting at this record');
  assert.equal(run(rec('discard', 0), u64(6)), 1n);
  assert.equal(rb.wakeups, 1, 'not at the consumer position: no wakeup');
  assert.equal(run(rec('submit', 2), u64(7)), 1n);
  assert.equal(rb.wakeups, 2, 'BPF_RB_FORCE_WAKEUP');
  const got = rb.consume();
  assert.deepEqual(
    got.map((r) => [...new BigUint64Array(r.buffer, r.byteOffset, 2)]),
    [
      [5n, 10n],
      [7n, 14n],
    ],
  );
  assert.equal(rb.consumerPos, 3 * 24);
  assert.equal(rb.availableData, 0);
  assert.equal(run(rec('submit', 1), u64(8)), 1n);
  assert.equal(rb.wakeups, 2, 'BPF_RB_NO_WAKEUP');
});

test('ring buffer: records that wrap around the end arrive intact', () => {
  const { maps, run } = setup([{ type: 'ringbuf', maxEntries: 4096 }]);
  const rb = maps[0] as RingbufMap;
  // 44-byte records (52 with the header, 56 rounded) from ctx, through output and reserve.
  const output = `r2 = r1
    r1 = map_fd(0) ll
    r3 = 44
    r4 = 0
    call bpf_ringbuf_output
    exit`;
  const reserve = `r6 = r1
    r1 = map_fd(0) ll
    r2 = 44
    r3 = 0
    call bpf_ringbuf_reserve
    if r0 == 0 goto out
    ${[0, 8, 16, 24, 32].map((o) => `r7 = *(u64 *)(r6 + ${o})\n*(u64 *)(r0 + ${o}) = r7`).join('\n')}
    r7 = *(u32 *)(r6 + 40)
    *(u32 *)(r0 + 40) = r7
    r1 = r0
    r2 = 0
    call bpf_ringbuf_submit
    r0 = 0
    out:
    exit`;
  const seen: Uint8Array[] = [];
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) {
    const data = new Uint8Array(44).map((_, j) => (i * 7 + j) & 0xff);
    sent.push(data);
    assert.equal(run(i % 2 ? output : reserve, data), 0n, `record ${i}`);
    if (i % 20 === 19) seen.push(...rb.consume());
  }
  seen.push(...rb.consume());
  assert.equal(seen.length, 300);
  for (const [i, r] of seen.entries()) assert.deepEqual(r, sent[i], `record ${i}`);
  assert.ok(rb.producerPos > 3 * 4096, 'wrapped several times');
});

test('perf event array: per-CPU buffers, lost samples, the kernel errors', () => {
  const { maps, run } = setup(
    [{ type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 4 }],
    { cpu: 1 },
    2,
  );
  const pe = maps[0] as PerfEventArrayMap;
  // bpf_perf_event_output(ctx, map, flags, data = ctx, 12)
  const out = (flags: bigint | number) => `r4 = r1
    r2 = map_fd(0) ll
    r3 = ${flags} ll
    r5 = 12
    call bpf_perf_event_output
    exit`;
  const data = new Uint8Array(12).map((_, i) => i + 1);
  assert.equal(run(out(0xffffffff), data), -2n, 'no event on this CPU yet: -ENOENT');
  pe.open(1, { bytes: 48 });
  pe.open(0);
  assert.equal(run(out(0xffffffff), data), 0n, 'BPF_F_CURRENT_CPU selects slot 1');
  assert.equal(run(out(1), data), 0n);
  assert.equal(run(out(1), data), -28n, 'two 24-byte samples fill 48 bytes: -ENOSPC');
  assert.equal(run(out(0), data), -95n, "slot 0 is CPU 0's event: -EOPNOTSUPP");
  assert.equal(run(out(9), data), -7n, 'index past max_entries: -E2BIG');
  assert.equal(run(out(1n << 40n), data), -95n, 'BPF_F_CTXLEN_MASK is not emulated');
  assert.equal(run(out(1n << 60n), data), -22n, 'unknown flag bits: -EINVAL');
  const r = pe.read();
  assert.deepEqual(
    r.records.map((x) => [x.cpu, [...x.data]]),
    [
      [1, [...data]],
      [1, [...data]],
    ],
  );
  assert.deepEqual(r.lost, [{ cpu: 1, count: 1 }]);
  assert.equal(run(out(1), data), 0n, 'read() freed the space');
});

test('per-CPU maps: programs see their CPU copy, the host sees all; lookup_percpu_elem', () => {
  const { maps, run } = setup(
    [
      { type: 'percpu_array', keySize: 4, valueSize: 4, maxEntries: 2 },
      { type: 'percpu_hash', keySize: 4, valueSize: 4, maxEntries: 2 },
    ],
    { cpu: 2 },
    4,
  );
  const [arr, hash] = maps as [ArrayMap, HashMap];
  const update = (m: number) => `*(u32 *)(r10 - 4) = 1
    *(u32 *)(r10 - 8) = 9
    r1 = map_fd(${m}) ll
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -8
    r4 = 0
    call bpf_map_update_elem
    exit`;
  assert.equal(run(update(0)), 0n);
  assert.equal(run(update(1)), 0n);
  const expect = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [9, 0, 0, 0],
    [0, 0, 0, 0],
  ];
  assert.deepEqual(
    arr.lookupPerCpu(u32(1))!.map((v) => [...v]),
    expect,
  );
  assert.deepEqual(
    hash.lookupPerCpu(u32(1))!.map((v) => [...v]),
    expect,
    'a new element: other CPUs zeroed',
  );
  arr.updatePerCpu(u32(1), [u32(10), u32(11), u32(12), u32(13)]);
  const percpu = (cpu: number) => `*(u32 *)(r10 - 4) = 1
    r1 = map_fd(0) ll
    r2 = r10
    r2 += -4
    r3 = ${cpu}
    call bpf_map_lookup_percpu_elem
    if r0 == 0 goto out
    r0 = *(u32 *)(r0 + 0)
    out:
    exit`;
  assert.equal(run(percpu(3)), 13n);
  assert.equal(run(percpu(4)), 0n, 'no CPU 4: NULL');
  assert.equal(arr.hostValueSize, 32, 'round_up(4, 8) per CPU');
});

test('LRU hash: a program lookup sets the reference bit, so eviction takes the next oldest', () => {
  const { maps, run } = setup([{ type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: 3 }]);
  const m = maps[0] as HashMap;
  for (const k of [1, 2, 3]) m.update(u32(k), u32(k));
  m.lookup(u32(1)); // host lookups do not count as a use
  run(`*(u32 *)(r10 - 4) = 1
    r1 = map_fd(0) ll
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r0 = 0
    exit`);
  m.update(u32(4), u32(4));
  assert.deepEqual([...m.keys()].map((k) => k[0]).sort(), [1, 3, 4]);
  assert.equal(m.evictions, 1);
  // NOEXIST on a full map still takes (evicts) an element first, as the kernel does.
  assert.throws(() => m.update(u32(4), u32(5), 1), /EEXIST/);
  assert.equal(m.count, 2);
});

test('a read-only-for-programs map faults on a program store in checked mode', () => {
  const { run } = setup([{ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, flags: 1 << 7 }]);
  assert.equal(run('r1 = map_value(0, 0) ll\nr0 = *(u64 *)(r1 + 0)\nexit'), 0n);
  assert.throws(() => run('r1 = map_value(0, 0) ll\n*(u64 *)(r1 + 0) = 1\nr0 = 0\nexit'), RuntimeFault);
});

test('helpers fault on a register that is not a map pointer', () => {
  const { run } = setup([{ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 }]);
  assert.throws(
    () => run('r1 = 4096\nr2 = r10\nr2 += -8\n*(u64 *)(r10 - 8) = 0\ncall bpf_map_lookup_elem\nexit'),
    (e: unknown) => e instanceof RuntimeFault && /not a map pointer/.test(e.message),
  );
  assert.throws(
    () => run('r1 = r10\ncall bpf_ringbuf_submit\nr0 = 0\nexit'),
    (e: unknown) => e instanceof RuntimeFault && /not a reserved ring buffer record/.test(e.message),
  );
});

test('LRU with BPF_F_NO_COMMON_LRU: each CPU evicts only from its own share', () => {
  // 4 elements over 2 CPUs: 2 each. The host acts as CPU 0, the program runs on CPU 1.
  const { maps, run } = setup(
    [{ type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: 4, flags: 2 }],
    { cpu: 1 },
    2,
  );
  const m = maps[0] as HashMap;
  m.update(u32(100), u32(1));
  m.update(u32(101), u32(1));
  const insert = (k: number) =>
    run(`*(u32 *)(r10 - 4) = ${k}
      *(u32 *)(r10 - 8) = 7
      r1 = map_fd(0) ll
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -8
      r4 = 0
      call bpf_map_update_elem
      exit`);
  for (const k of [1, 2, 3]) assert.equal(insert(k), 0n);
  // CPU 1's list had 2 nodes: the third insert shrinks it (kernel: up to PERCPU_FREE_TARGET
  // unreferenced nodes), evicting both earlier program keys; CPU 0's keys are untouched.
  assert.deepEqual(
    [...m.keys()].map((k) => new DataView(k.buffer).getUint32(0, true)).sort((a, b) => a - b),
    [3, 100, 101],
  );
});
