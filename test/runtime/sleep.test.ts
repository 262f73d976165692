// Sleepable programs (src/runtime/sleep): bpf_copy_from_user waits for user memory that arrives
// later, the program suspends and resumes with its whole state, in both engines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { RuntimeFault } from '../../src/errors.ts';
import type { RingbufMap } from '../../src/maps/ringbuf.ts';
import { type Collection, type Engine, newCollection } from '../../src/runtime/index.ts';

const countSpec = loadCollectionSpec(readFileSync('examples/sleepable/sleepable.bpf.o'), {
  file: 'examples/sleepable/sleepable.bpf.o',
});
const stateSpec = loadCollectionSpec(readFileSync('test/runtime/fixtures/sleep-state.bpf.o'), {
  file: 'test/runtime/fixtures/sleep-state.bpf.o',
});
const ENGINES: Engine[] = ['interp', 'jit'];
const BUF = 0x7f00_0000_1000;

/** struct count_args { u64 buf; u32 len; u32 chunks; } */
function countArgs(buf: number, len: number): Uint8Array {
  const c = new Uint8Array(16);
  const dv = new DataView(c.buffer);
  dv.setBigUint64(0, BigInt(buf), true);
  dv.setUint32(8, len, true);
  return c;
}

const later = <T>(v: T, ms = 1): Promise<T> => new Promise((res) => setTimeout(() => res(v), ms));

function counts(coll: Collection): number[] {
  const m = coll.map('byte_counts');
  const out: number[] = [];
  for (let k = 0; k < 256; k++) {
    const v = m.lookup(new Uint8Array([k, 0, 0, 0]))!;
    out.push(Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)));
  }
  return out;
}

test("tsbpf's verifier accepts both objects (loaded sleepable; the other tests skip it)", () => {
  for (const spec of [countSpec, stateSpec]) {
    assert.equal(spec.programs[0]!.sleepable, true);
    newCollection(spec).close();
  }
});

for (const engine of ENGINES) {
  test(`${engine}: the example sleeps once per chunk and counts the bytes that arrived later`, async () => {
    const data = new Uint8Array(200).map((_, i) => (i * 37 + 5) & 0xff);
    const coll = newCollection(countSpec, {
      engine,
      verify: false,
      userMemory: {
        source: (addr, len) =>
          later(
            addr >= BUF && addr + len <= BUF + 200 ? data.slice(addr - BUF, addr - BUF + len) : undefined,
          ),
      },
    });
    const r = await coll.program('count_bytes').runSleepable({ ctx: countArgs(BUF, 200) });
    assert.equal(r.retval, 200);
    // 200 bytes in 16-byte copies: 13 of them, each fetched separately
    assert.equal(r.sleeps, 13);
    assert.equal(new DataView(r.ctxOut!.buffer).getUint32(12, true), 13);
    const expect = new Array<number>(256).fill(0);
    for (const b of data) expect[b]!++;
    assert.deepEqual(counts(coll), expect);
    coll.close();
  });

  test(`${engine}: memory provided up front needs no sleep; unmapped memory is -EFAULT`, async () => {
    const coll = newCollection(countSpec, { engine, verify: false });
    coll.userMemory.provide(BUF, new Uint8Array(40).fill(9));
    const r = await coll.program('count_bytes').runSleepable({ ctx: countArgs(BUF, 40) });
    assert.equal(r.retval, 40);
    assert.equal(r.sleeps, 0);
    assert.equal(counts(coll)[9], 40);
    // a synchronous run works as long as nothing has to wait
    assert.equal(coll.program('count_bytes').run({ ctx: countArgs(BUF, 40) }).retval, 40);
    const bad = await coll.program('count_bytes').runSleepable({ ctx: countArgs(BUF + 32, 16) });
    assert.equal(bad.retval | 0, -14);
    coll.close();
  });

  test(`${engine}: a synchronous run that would sleep is a RuntimeFault`, () => {
    const coll = newCollection(countSpec, {
      engine,
      verify: false,
      userMemory: { source: (_a, len) => later(new Uint8Array(len)) },
    });
    assert.throws(
      () => coll.program('count_bytes').run({ ctx: countArgs(BUF, 16) }),
      (e: unknown) => e instanceof RuntimeFault && e.kind === 'sleep' && /runSleepable/.test(e.message),
    );
    coll.close();
  });
}

/** struct state_args { u64 first; u64 second; u64 seed; } */
function stateArgs(first: number, second: number, seed: number): Uint8Array {
  const c = new Uint8Array(24);
  const dv = new DataView(c.buffer);
  dv.setBigUint64(0, BigInt(first), true);
  dv.setBigUint64(8, BigInt(second), true);
  dv.setBigUint64(16, BigInt(seed), true);
  return c;
}

const u64le = (v: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
};

/** What fixtures/sleep-state.bpf.c computes, written out from its source. */
function model(first: number, second: number, seed: number): { value: bigint; stackSum: bigint } {
  const x1 = BigInt(first);
  const k = x1 * 11n;
  const x2 = x1 + 2n;
  let keepSum = 0n;
  for (let i = 0n; i < 8n; i++) keepSum += x2 + i;
  const x3 = x2 + 1n;
  const l3 = x3 + x3 * 3n + x3 * 5n + x3 * 7n + BigInt(second);
  const value = (l3 ^ keepSum) + k;
  let stackSum = 0n;
  for (let i = 1n; i <= 32n; i++) stackSum += BigInt(seed) * i;
  return { value, stackSum };
}

for (const engine of ENGINES) {
  test(`${engine}: two interleaved runs sleep in the main frame and three frames deep, holding a ring-buffer reservation`, async () => {
    const gate: (() => void)[] = [];
    // Every read waits until the test opens the gate, so both runs are asleep at once and
    // each resume finds the other run's registers and stack in the VM.
    const coll = newCollection(stateSpec, {
      engine,
      verify: false,
      userMemory: {
        source: (addr) =>
          new Promise((res) => {
            gate.push(() => res(u64le(addr >> 4)));
          }),
      },
    });
    const deep = coll.program('deep');
    const a = deep.runSleepable({ ctx: stateArgs(0x50, 0x70, 3) });
    const b = deep.runSleepable({ ctx: stateArgs(0x90, 0xb0, 1000) });
    for (let i = 0; i < 4; i++) {
      await later(0);
      // open the gates newest first, so the second run resumes before the first
      while (gate.length > 0) gate.pop()!();
    }
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra.retval, 0);
    assert.equal(rb.retval, 0);
    assert.equal(ra.sleeps, 2);
    assert.equal(rb.sleeps, 2);
    const recs = (coll.map('events') as RingbufMap).consume().map((r) => {
      const dv = new DataView(r.buffer, r.byteOffset);
      return { value: dv.getBigUint64(0, true), stackSum: dv.getBigUint64(8, true) };
    });
    const want = [model(5, 7, 3), model(9, 11, 1000)];
    assert.equal(recs.length, 2);
    assert.deepEqual(
      [...recs].sort((x, y) => Number(x.value - y.value)),
      [...want].sort((x, y) => Number(x.value - y.value)),
    );
    coll.close();
  });
}

test('the interpreter and the JIT count the same instructions across sleeps', async () => {
  const insns: number[] = [];
  for (const engine of ENGINES) {
    const coll = newCollection(stateSpec, {
      engine,
      verify: false,
      userMemory: { source: (addr) => later(u64le(addr >> 4)) },
    });
    const r = await coll.program('deep').runSleepable({ ctx: stateArgs(0x50, 0x70, 3) });
    assert.equal(r.sleeps, 2);
    insns.push(r.insns);
    coll.close();
  }
  assert.equal(insns[0], insns[1]);
});
