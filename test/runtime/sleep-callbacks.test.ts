// Sleeping inside callbacks (vm/sleep.ts CallbackPoint): a sleepable program whose bpf_loop or
// bpf_for_each_map_elem callback calls bpf_copy_from_user suspends inside the callback and goes
// on from there, on both engines: the callback's registers and stack, the frames below it (a
// static function called by the callback, a bpf_loop inside a callback) and the helper's loop
// position all survive. Results are checked against a model of the C code, against a run with
// the memory there from the start (no sleep), and against the kernel (ksleep.c).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { type Engine, newCollection } from '../../src/runtime/index.ts';
import { buildCTool, repoRoot } from '../oracles.ts';

const object = 'test/verifier/objects/sleep_rules.bpf.o';
const spec = loadCollectionSpec(readFileSync(join(repoRoot, object)), { file: object });
const ENGINES: Engine[] = ['interp', 'jit'];
const BUF = 0x7f00_0000_1000;
const M64 = (1n << 64n) - 1n;

const later = <T>(v: T): Promise<T> => new Promise((res) => setTimeout(() => res(v), 1));

/** struct args { u64 buf; u32 len; u32 out; } */
function args(len: number): Uint8Array {
  const c = new Uint8Array(16);
  const dv = new DataView(c.buffer);
  dv.setBigUint64(0, BigInt(BUF), true);
  dv.setUint32(8, len, true);
  return c;
}

const fold = (s: bigint): number => Number((s ^ (s >> 32n)) & 0xffffffffn);

/** What each program computes from the user bytes (the C code, step by step): [retval, out]. */
const models: Record<string, (d: Uint8Array, len: number) => [number, number]> = {
  accept_sleep_in_loop: (d, len) => {
    let s = 0;
    for (let i = 0; i < (len & 15); i++) s += d[i]!;
    return [0, s];
  },
  // arr has 4 elements: keys 0..3
  accept_sleep_in_for_each: (d) => [0, d[0]! + d[1]! + d[2]! + d[3]!],
  accept_sleep_deep_in_loop: (d, len) => {
    let sum = 7n;
    for (let i = 0; i < (len & 15); i++) {
      const keep = (sum * 31n + BigInt(i)) & M64;
      const mix = keep ^ BigInt((d[i]! << 8) | d[i + 1]!);
      sum = (sum * 3n + mix) & M64;
    }
    return [Number(sum & 0xffn), fold(sum)];
  },
  accept_sleep_in_nested_loops: (d, len) => {
    let sum = 1n;
    for (let i = 0; i < (len & 7); i++) {
      let inner = BigInt(i);
      for (let j = 0; j < 3; j++) {
        const b = d[i + j]!;
        inner = (inner * 5n + BigInt(b)) & M64;
        if (b === 0xff) break;
      }
      sum = (sum * 7n + inner) & M64;
    }
    return [0, fold(sum)];
  },
};

async function run(engine: Engine, prog: string, data: Uint8Array, len: number, sleep: boolean) {
  const coll = newCollection(spec, {
    engine,
    programs: [prog],
    userMemory: {
      source: (addr, n) => {
        const off = addr - BUF;
        const bytes = off >= 0 && off + n <= data.length ? data.slice(off, off + n) : undefined;
        return sleep ? later(bytes) : bytes;
      },
    },
  });
  try {
    const r = await coll.runSleepable(prog, { ctx: args(len) });
    const out = new DataView(r.ctxOut!.buffer, r.ctxOut!.byteOffset).getUint32(12, true);
    return { retval: r.retval, out, sleeps: r.sleeps, ctxOut: r.ctxOut! };
  } finally {
    coll.close();
  }
}

function bytes(seed: number, n: number): Uint8Array {
  let s = seed;
  return new Uint8Array(n).map((_, i) => {
    s = (s * 1103515245 + 12345) >>> 0;
    // a 0xff now and then stops the nested program's inner loop early
    return i % 5 === 3 ? 0xff : s >>> 24;
  });
}

for (const engine of ENGINES) {
  for (const [prog, model] of Object.entries(models)) {
    test(`${engine}: ${prog} sleeps inside its callback and resumes with its state intact`, async () => {
      for (const [seed, len] of [
        [1, 0],
        [2, 1],
        [3, 5],
        [4, 13],
        [5, 15],
      ] as const) {
        const data = bytes(seed, 16);
        const asleep = await run(engine, prog, data, len, true);
        const awake = await run(engine, prog, data, len, false);
        const [retval, out] = model(data, len);
        assert.deepEqual([asleep.retval, asleep.out], [retval, out], `len ${len}`);
        assert.deepEqual([awake.retval, awake.out], [retval, out], `len ${len}`);
        assert.equal(awake.sleeps, 0);
        // one sleep per first read of an address; the for_each walk reads 4 whatever len is
        const reads = prog === 'accept_sleep_in_for_each' ? 4 : len & (prog.includes('nested') ? 7 : 15);
        assert.ok(reads === 0 ? asleep.sleeps === 0 : asleep.sleeps >= 1, `${asleep.sleeps} sleeps`);
      }
    });
  }
}

const tool = buildCTool('ksleep', join(repoRoot, 'test/runtime/ksleep.c'), ['-lbpf', '-lelf', '-lz']);

function ksleep(prog: string, data: Uint8Array, len: number): { retval: number; ctxOut: string } | string {
  const r = spawnSync(
    tool.path,
    [object, prog, '--buf', Buffer.from(data).toString('hex'), '--ctx', `buf0,u32:${len},u32:0`],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  if (r.status !== 0) return `ksleep exited ${r.status}: ${(r.stderr || r.stdout).trim()}`;
  return {
    retval: Number(/^retval: (\d+)$/m.exec(r.stdout)?.[1]),
    ctxOut: /^ctx_out: ([0-9a-f]*)$/m.exec(r.stdout)?.[1] ?? '',
  };
}

const probe = tool.skip ?? ksleep('accept_sleep_in_loop', new Uint8Array(16), 1);
const skip = typeof probe === 'string' ? `kernel oracle unavailable (${probe})` : undefined;

test('sleeping callbacks: tsbpf (both engines, memory arriving later) equals the kernel', {
  skip,
}, async () => {
  for (const prog of Object.keys(models)) {
    for (const [seed, len] of [
      [11, 4],
      [12, 9],
      [13, 15],
    ] as const) {
      const data = bytes(seed, 16);
      const k = ksleep(prog, data, len);
      assert.ok(typeof k !== 'string', String(k));
      for (const engine of ENGINES) {
        const t = await run(engine, prog, data, len, true);
        assert.equal(t.retval, k.retval, `${engine} ${prog} len ${len}`);
        // the pointer differs (the kernel's is ksleep's buffer); len and out must not
        assert.equal(
          Buffer.from(t.ctxOut.subarray(8)).toString('hex'),
          k.ctxOut.slice(16),
          `${engine} ${prog}`,
        );
      }
    }
  }
});
