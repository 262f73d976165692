// The host API beyond single-element operations: maps from object files (global data, map-in-map
// and prog array initialisers), freeze, pinning, close, batches, iteration, errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/collection-spec.ts';
import { UsageError } from '../../src/errors.ts';
import { ArrayMap } from '../../src/maps/array.ts';
import { createMap, createMaps } from '../../src/maps/create.ts';
import { MapError } from '../../src/maps/errno.ts';
import type { ProgArrayMap, ProgRef } from '../../src/maps/fd-array.ts';
import type { HashMap } from '../../src/maps/hash.ts';
import { mapById, pinnedMap } from '../../src/maps/map.ts';
import { MapInMap } from '../../src/maps/map-in-map.ts';
import { Arena } from '../../src/vm/arena.ts';

const u32 = (v: number): Uint8Array => ArrayMap.key(v);
const fixture = (name: string) => {
  const p = new URL(`../fixtures/objects/${name}`, import.meta.url).pathname;
  return loadCollectionSpec(new Uint8Array(readFileSync(p)), { file: p });
};
const errno = (n: number) => (e: unknown) => e instanceof MapError && e.errno === n;

test('global data maps start with the object initial values; .rodata is frozen', () => {
  const spec = fixture('globals.bpf.o');
  const arena = new Arena();
  const maps = createMaps(arena, spec.maps);
  const data = maps.get('globals.data') as ArrayMap;
  // globals.bpf.c: int counter = 7;
  assert.deepEqual(data.lookup(u32(0)), u32(7));
  const ro = maps.get('globals.rodata') as ArrayMap;
  // const volatile int threshold = 100; const char greeting[] = "hello";
  const v = ro.lookup(u32(0))!;
  assert.equal(new DataView(v.buffer).getInt32(0, true), 100);
  assert.equal(new TextDecoder().decode(v.subarray(4, 9)), 'hello');
  assert.ok(ro.frozen);
  assert.throws(() => ro.update(u32(0), new Uint8Array(ro.valueSize)), errno(1), 'frozen: EPERM');
  assert.ok(
    maps
      .get('globals.bss')!
      .lookup(u32(0))!
      .every((b) => b === 0),
    '.bss is zeroed',
  );
  // Programs reach global data through direct value addresses.
  assert.equal(data.directValueAddr(0), data.elemAddr(0));
  assert.equal(data.directValueAddr(4), undefined, 'past the value');
});

test('createMaps fills map-in-map and prog array slots from initialisers', () => {
  const spec = fixture('maps.bpf.o');
  const tailA: ProgRef = { name: 'tail_a' };
  const maps = createMaps(new Arena(), spec.maps, {
    resolveProg: (n) => (n === 'tail_a' ? tailA : undefined),
  });
  const outer = maps.get('outer') as MapInMap;
  assert.equal(outer.getInner(u32(0)), maps.get('inner_b'));
  assert.equal(outer.getInner(u32(3)), maps.get('inner_a'));
  assert.equal(outer.getInner(u32(1)), undefined);
  const jumps = maps.get('jumps') as ProgArrayMap;
  assert.equal(jumps.getProg(1), tailA);
  assert.equal(jumps.getProg(0), undefined);
  assert.equal(jumps.getProg(7), undefined);
  assert.equal(maps.get('bloom')!.typeName, 'bloom_filter');
});

test('prog array: set, get, clear; only BPF_ANY; lookup returns an id', () => {
  const m = createMap(new Arena(), {
    type: 'prog_array',
    keySize: 4,
    valueSize: 4,
    maxEntries: 2,
  }) as ProgArrayMap;
  const p: ProgRef = { name: 'p' };
  m.setProg(0, p);
  assert.throws(() => m.setProg(1, p, 1), errno(22));
  assert.throws(() => m.setProg(2, p), errno(7));
  const id = m.lookup(u32(0))!;
  assert.equal(id.length, 4);
  assert.deepEqual(m.lookup(u32(0)), id, 'the same program has the same id');
  m.clearProg(0);
  assert.throws(() => m.clearProg(0), errno(2));
  assert.equal(m.getProg(0), undefined);
});

test('pin, pinnedMap, unpin; close frees the arena memory and unregisters the map', () => {
  const arena = new Arena();
  const m = createMap(arena, { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8, name: 'pinme' });
  m.pin('test/pinme');
  assert.equal(pinnedMap('test/pinme'), m);
  const other = createMap(arena, { type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
  assert.throws(() => other.pin('test/pinme'), errno(17));
  assert.equal(mapById(m.id), m);
  assert.deepEqual(
    { ...m.info(), id: 0 },
    {
      type: 1,
      typeName: 'hash',
      id: 0,
      name: 'pinme',
      keySize: 4,
      valueSize: 4,
      maxEntries: 8,
      mapFlags: 0,
      mapExtra: 0n,
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
      frozen: false,
      pinned: 'test/pinme',
    },
  );
  const ptr = m.ptr;
  assert.ok(arena.regionAt(ptr));
  m.close();
  assert.equal(pinnedMap('test/pinme'), undefined);
  assert.equal(mapById(m.id), undefined);
  assert.equal(arena.regionAt(ptr), undefined, 'descriptor freed');
  assert.throws(() => m.lookup(u32(1)), errno(22));
  other.close();
});

test('freeze: host writes fail with EPERM, a second freeze too; programs keep writing', () => {
  const m = createMap(new Arena(), { type: 'array', keySize: 4, valueSize: 4, maxEntries: 2 }) as ArrayMap;
  m.update(u32(1), u32(5));
  m.freeze();
  assert.throws(() => m.update(u32(1), u32(6)), errno(1));
  assert.throws(() => m.freeze(), errno(1));
  assert.deepEqual(m.lookup(u32(1)), u32(5));
  // A program store goes straight to the value memory.
  m.arena.dv.setUint32(m.elemAddr(1), 6, true);
  assert.deepEqual(m.lookup(u32(1)), u32(6));
});

test('batch operations on a hash page through every entry', () => {
  const m = createMap(new Arena(), { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 16 });
  const keys = Array.from({ length: 10 }, (_, i) => u32(i * 3));
  assert.equal(
    m.updateBatch(
      keys,
      keys.map((_, i) => u32(i)),
    ),
    10,
  );
  const seen: number[] = [];
  let cursor: Uint8Array | undefined;
  let pages = 0;
  do {
    const r = m.lookupBatch(4, cursor);
    assert.ok(r.keys.length <= 4);
    r.keys.forEach((k, i) => {
      assert.equal(r.values[i]![0]! * 3, k[0], 'value matches key');
      seen.push(k[0]!);
    });
    cursor = r.cursor;
    pages++;
  } while (cursor);
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    keys.map((k) => k[0]),
  );
  assert.equal(pages, 3);
  assert.equal(m.deleteBatch(keys.slice(0, 5)), 5);
  assert.equal([...m.keys()].length, 5);
  assert.throws(() => m.updateBatch([u32(1)], []), errno(22));
  const q = createMap(new Arena(), { type: 'queue', valueSize: 4, maxEntries: 2 });
  assert.throws(() => q.lookupBatch(1), errno(95));
});

test('hash iteration: nextKey of a deleted key restarts from the first key', () => {
  const m = createMap(new Arena(), { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8 }) as HashMap;
  for (const k of [5, 6, 7]) m.update(u32(k), u32(k));
  const first = m.nextKey()!;
  const second = m.nextKey(first)!;
  m.delete(second);
  assert.deepEqual(m.nextKey(second), first, 'kernel: a key not in the map gives the first key');
  assert.equal([...m.entries()].length, 2);
  // forEach visits every element until the callback returns non-zero.
  let n = 0;
  assert.equal(
    m.forEach(0, () => {
      n++;
      return 0;
    }),
    2,
  );
  assert.equal(
    m.forEach(0, () => 1),
    1,
  );
  assert.equal(n, 2);
});

test('array forEach passes index keys and value addresses', () => {
  const m = createMap(new Arena(), { type: 'array', keySize: 4, valueSize: 4, maxEntries: 3 }) as ArrayMap;
  const got: [number, number][] = [];
  m.forEach(0, (k, v) => {
    got.push([m.arena.dv.getUint32(k, true), v]);
    return 0;
  });
  assert.deepEqual(
    got,
    [0, 1, 2].map((i) => [i, m.elemAddr(i)]),
  );
});

test('creation errors: unknown types, bad numbers, refused specs', () => {
  const a = new Arena();
  assert.throws(() => createMap(a, { type: 'nosuch', maxEntries: 1 }), UsageError);
  assert.throws(
    () => createMap(a, { type: 7, keySize: 4, valueSize: 8, maxEntries: 1 }),
    errno(22),
    'stack_trace',
  );
  assert.throws(() => createMap(a, { type: 'hash', keySize: -1, valueSize: 8, maxEntries: 1 }), UsageError);
  assert.throws(
    () => createMap(a, { type: 'lru_hash', keySize: 4, valueSize: 8, maxEntries: 1, flags: 1 }),
    errno(524),
  );
  assert.throws(
    () => createMap(a, { type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, data: new Uint8Array(9) }),
    errno(22),
  );
  assert.throws(
    () => createMap(a, { type: 'array', keySize: 4, valueSize: 1 << 20, maxEntries: 1 << 12 }),
    errno(12),
  );
  assert.throws(
    () => createMap(a, { type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1, mapExtra: 1 }),
    errno(22),
  );
  // A huge BPF_F_NO_PREALLOC hash costs only what it holds.
  const big = createMap(a, { type: 'hash', keySize: 4, valueSize: 64, maxEntries: 50_000_000, flags: 1 });
  big.update(u32(1), new Uint8Array(64).fill(9));
  assert.equal(big.lookup(u32(1))![63], 9);
  big.close();
});

test('lookupAndDelete: hashes return the value and remove it; arrays are ENOTSUPP', () => {
  const a = new Arena();
  const h = createMap(a, { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2 });
  h.update(u32(1), u32(10));
  assert.deepEqual(h.lookupAndDelete(u32(1)), u32(10));
  assert.equal(h.lookupAndDelete(u32(1)), undefined);
  const arr = createMap(a, { type: 'array', keySize: 4, valueSize: 4, maxEntries: 2 });
  assert.throws(() => arr.lookupAndDelete(u32(0)), errno(524));
  assert.throws(() => arr.lookup(new Uint8Array(3)), errno(22), 'wrong key size');
});

test('hash_of_maps from the host: setInner, lookup by id, compatible inner maps only', () => {
  const a = new Arena();
  const tpl = { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 } as const;
  const outer = createMap(a, {
    type: 'hash_of_maps',
    keySize: 4,
    valueSize: 4,
    maxEntries: 2,
    innerMap: tpl,
  });
  assert.ok(outer instanceof MapInMap);
  const inner = createMap(a, tpl);
  outer.update(u32(9), u32(inner.id));
  assert.deepEqual(outer.lookup(u32(9)), u32(inner.id));
  assert.throws(() => outer.update(u32(8), u32(0xffffff)), errno(9), 'no map with that id');
  const arr = createMap(a, { type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 });
  assert.throws(() => outer.setInner(u32(8), arr), errno(22));
});

test('BPF_F_LOCK: valid when the value holds a bpf_spin_lock (from BTF); updates in place, lock untouched', () => {
  const p = new URL('./fixtures/lock.bpf.o', import.meta.url).pathname;
  const spec = loadCollectionSpec(new Uint8Array(readFileSync(p)), { file: p });
  const arena = new Arena();
  const get = (name: string) => spec.maps.find((m) => m.name === name)!;
  const h = createMap(arena, get('locked_hash'), { btf: spec.btf }) as HashMap;
  const arr = createMap(arena, get('locked_array'), { btf: spec.btf }) as ArrayMap;
  // struct locked { u32 before; struct bpf_spin_lock lock; u64 after; }: lock at 4, 16 bytes.
  assert.equal(h.spec.spinLockOff, 4);
  const value = (before: number, lock: number, after: number) => {
    const v = new Uint8Array(16);
    const dv = new DataView(v.buffer);
    dv.setUint32(0, before, true);
    dv.setUint32(4, lock, true);
    dv.setBigUint64(8, BigInt(after), true);
    return v;
  };
  const F_LOCK = 4;
  h.update(u32(1), value(1, 0, 10));
  const keyAddr = arena.alloc(8, 8, { kind: 'mem', writable: true });
  arena.write(keyAddr, u32(1));
  const addr = h.lookup(keyAddr); // a program's lookup: the value's address
  arena.dv.setUint32(addr + 4, 1, true); // a program holds the lock
  h.update(u32(1), value(2, 0xffff, 20), F_LOCK);
  const dv = new DataView(arena.read(addr, 16).buffer);
  assert.equal(dv.getUint32(0, true), 2, 'updated in place: the old pointer sees the new value');
  assert.equal(dv.getUint32(4, true), 1, 'the lock word is not copied');
  assert.equal(dv.getBigUint64(8, true), 20n);
  assert.throws(() => h.update(u32(1), value(3, 0, 0), F_LOCK | 1), errno(17));
  assert.throws(() => h.update(u32(2), value(3, 0, 0), F_LOCK | 2), errno(2));
  arr.update(u32(1), value(5, 7, 50), F_LOCK);
  assert.deepEqual([...arr.lookup(u32(1))!], [...value(5, 0, 50)], 'array: the lock word stays zero');
});
