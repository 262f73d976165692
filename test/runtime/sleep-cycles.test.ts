// Acceptance (issue 10): 10,000 suspend/resume cycles of the sleepable example with flat
// memory, on both engines. Each run copies one 16-byte chunk whose bytes arrive through a
// promise, so every run sleeps exactly once. The heap is measured after a forced GC before and
// after; the bound is generous (a leak of one snapshot per cycle would be ~40 MiB: 4 KiB stack
// copy each). No timing is asserted.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { type Engine, newCollection } from '../../src/runtime/index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const spec = loadCollectionSpec(readFileSync('examples/sleepable/sleepable.bpf.o'), {
  file: 'examples/sleepable/sleepable.bpf.o',
});
const CYCLES = 10_000;
const USER = 0x7f00_0000_1000;

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

for (const engine of ['interp', 'jit'] as Engine[]) {
  test(`${engine}: ${CYCLES} suspend/resume cycles keep memory flat`, async () => {
    let fetches = 0;
    const coll = newCollection(spec, {
      engine,
      verify: false,
      userMemory: {
        source: (addr, len) => {
          fetches++;
          return Promise.resolve(new Uint8Array(len).map((_, i) => (addr + i + fetches) & 0xff));
        },
      },
    });
    const prog = coll.program('count_bytes');
    const ctx = new Uint8Array(16);
    new DataView(ctx.buffer).setBigUint64(0, BigInt(USER), true);
    new DataView(ctx.buffer).setUint32(8, 16, true);
    const cycle = async () => {
      // a fresh fetch each time: forget the bytes the last run mapped
      coll.userMemory.unmap(USER);
      const r = await prog.runSleepable({ ctx });
      assert.equal(r.retval, 16);
      assert.equal(r.sleeps, 1);
    };
    for (let i = 0; i < 200; i++) await cycle(); // warm up (JIT compile, caches)
    const arenaBefore = coll.vm.arena.size;
    const before = heapMiB();
    for (let i = 0; i < CYCLES; i++) await cycle();
    const after = heapMiB();
    console.log(
      `${engine}: heap ${before.toFixed(2)} MiB before, ${after.toFixed(2)} MiB after ${CYCLES} cycles`,
    );
    assert.equal(fetches, CYCLES + 200);
    assert.ok(after - before < 8, `heap grew by ${(after - before).toFixed(2)} MiB`);
    assert.equal(coll.vm.arena.size, arenaBefore);
    assert.deepEqual(coll.userMemory.size, { ranges: 1, pending: 0 });
    // every byte of every run was counted: 16 per run
    let total = 0n;
    const m = coll.map('byte_counts');
    for (let k = 0; k < 256; k++) {
      const v = m.lookup(new Uint8Array([k, 0, 0, 0]))!;
      total += new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
    }
    assert.equal(total, BigInt(16 * (CYCLES + 200)));
    coll.close();
  });
}

// The same inside a bpf_loop callback: every run sleeps once in the callback, one level up,
// whose registers and stack frames (4 KiB) travel with each sleep.
const rulesSpec = loadCollectionSpec(readFileSync('test/verifier/objects/sleep_rules.bpf.o'), {
  file: 'test/verifier/objects/sleep_rules.bpf.o',
});

for (const engine of ['interp', 'jit'] as Engine[]) {
  test(`${engine}: ${CYCLES} cycles sleeping inside a bpf_loop callback keep memory flat`, async () => {
    let fetches = 0;
    const coll = newCollection(rulesSpec, {
      engine,
      programs: ['accept_sleep_in_loop'],
      userMemory: {
        source: (addr, len) => {
          fetches++;
          return Promise.resolve(new Uint8Array(len).fill((addr + fetches) & 0xff));
        },
      },
    });
    const prog = coll.program('accept_sleep_in_loop');
    // struct args { u64 buf; u32 len; u32 out; }: one loop iteration, one byte
    const ctx = new Uint8Array(16);
    new DataView(ctx.buffer).setBigUint64(0, BigInt(USER), true);
    new DataView(ctx.buffer).setUint32(8, 1, true);
    const cycle = async () => {
      coll.userMemory.unmap(USER);
      const r = await prog.runSleepable({ ctx });
      assert.equal(r.sleeps, 1);
      // out = the byte that arrived
      assert.equal(
        new DataView(r.ctxOut!.buffer, r.ctxOut!.byteOffset).getUint32(12, true),
        (USER + fetches) & 0xff,
      );
    };
    for (let i = 0; i < 200; i++) await cycle();
    const before = heapMiB();
    for (let i = 0; i < CYCLES; i++) await cycle();
    const after = heapMiB();
    console.log(
      `${engine} (callback): heap ${before.toFixed(2)} MiB before, ${after.toFixed(2)} MiB after ${CYCLES} cycles`,
    );
    assert.equal(fetches, CYCLES + 200);
    assert.ok(after - before < 8, `heap grew by ${(after - before).toFixed(2)} MiB`);
    coll.close();
  });
}
