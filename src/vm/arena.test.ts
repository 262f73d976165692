import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, GRANULE, GUARD_SIZE, PAGE_SIZE } from './arena.ts';

test('allocations avoid the NULL guard, honour alignment and are zeroed', () => {
  const a = new Arena({ initialPages: 1 });
  a.u8.fill(0xee, GUARD_SIZE);
  const x = a.alloc(10, 8, { kind: 'mem', writable: true });
  const y = a.alloc(100, 256, { kind: 'mem', writable: true });
  assert.ok(x >= GUARD_SIZE);
  assert.equal(x % GRANULE, 0);
  assert.equal(y % 256, 0);
  assert.ok(y >= x + 10, 'blocks do not overlap');
  assert.ok(a.u8.subarray(x, x + 10).every((b) => b === 0));
  assert.ok(!a.check(0, 1, false), 'address 0 is unmapped');
  assert.ok(!a.check(GUARD_SIZE - 8, 8, false));
});

test('the region table: exact bounds, write permission, windows, free', () => {
  const a = new Arena({ initialPages: 1 });
  const rw = a.alloc(13, 8, { kind: 'packet', writable: true, name: 'pkt' });
  const ro = a.alloc(8, 8, { kind: 'ctx', writable: false });
  assert.ok(a.check(rw, 13, true));
  assert.ok(!a.check(rw, 14, false), 'one byte past the end');
  assert.ok(!a.check(rw + 12, 2, false));
  assert.ok(!a.check(rw - 1, 1, false));
  assert.ok(a.check(ro, 8, false));
  assert.ok(!a.check(ro, 4, true), 'read-only');
  assert.equal(a.regionAt(rw + 3)?.name, 'pkt');
  a.setWindow(rw, rw + 4, rw + 10);
  assert.ok(!a.check(rw, 1, false));
  assert.ok(a.check(rw + 4, 6, false));
  assert.ok(!a.check(rw + 4, 7, false));
  a.free(rw);
  assert.ok(!a.check(rw + 4, 1, false), 'freed memory is unmapped');
  assert.throws(() => a.free(rw), /unknown block/, 'double free is caught');
  const again = a.alloc(13, 8, { kind: 'mem', writable: true });
  assert.equal(again, rw, 'first fit reuses the freed block');
});

test('growing the memory refreshes views and keeps regions valid', () => {
  const a = new Arena({ initialPages: 1 });
  const small = a.alloc(16, 8, { kind: 'mem', writable: true });
  a.u8[small] = 42;
  const gen = a.generation;
  const big = a.alloc(3 * PAGE_SIZE, 8, { kind: 'map_value', writable: true });
  assert.ok(a.generation > gen);
  assert.ok(a.size >= 4 * PAGE_SIZE);
  assert.equal(a.u8.length, a.size, 'views cover the new memory');
  assert.equal(a.dv.byteLength, a.size);
  assert.equal(a.u8[small], 42, 'contents survive');
  assert.ok(a.check(big + 3 * PAGE_SIZE - 8, 8, true));
  assert.ok(a.check(small, 16, true));
});

test('out of memory is a clean error', () => {
  const a = new Arena({ initialPages: 1, maxPages: 2 });
  assert.throws(() => a.alloc(4 * PAGE_SIZE, 8, { kind: 'mem', writable: true }), /out of memory/);
});

test('views follow a memory.grow done behind the arena (e.g. by Wasm code)', () => {
  const a = new Arena({ initialPages: 1 });
  a.memory.grow(2);
  assert.equal(a.u8.byteLength, 0, 'the old views are detached');
  a.sync();
  assert.equal(a.u8.byteLength, 3 * PAGE_SIZE);
  const x = a.alloc(2 * PAGE_SIZE, 8, { kind: 'mem', writable: true });
  assert.ok(a.check(x, 2 * PAGE_SIZE, true), 'the grown space is allocatable');
});
