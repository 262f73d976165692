// Sleepable syscall programs with bpf_copy_from_user against the kernel: ksleep.c (built here)
// loads the object with libbpf, puts pointers to its own buffers in the ctx and test-runs it;
// tsbpf runs the same program on both engines with the same bytes arriving later through
// user memory. Retval, the ctx written back, array maps and ring-buffer records must agree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import type { RingbufMap } from '../../src/maps/ringbuf.ts';
import { type Engine, newCollection } from '../../src/runtime/index.ts';
import { buildCTool, repoRoot } from '../oracles.ts';

const tool = buildCTool('ksleep', join(repoRoot, 'test/runtime/ksleep.c'), ['-lbpf', '-lelf', '-lz']);
const ENGINES: Engine[] = ['interp', 'jit'];
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface KernelRun {
  retval: number;
  ctxOut: string;
  maps: Map<string, string>; // "name[keyhex]" -> value hex
  ringbuf: string[];
}

function ksleep(obj: string, prog: string, bufs: Uint8Array[], ctx: string): KernelRun | string {
  const args = [obj, prog];
  for (const b of bufs) args.push('--buf', b.length ? hex(b) : '00');
  args.push('--ctx', ctx);
  const r = spawnSync(tool.path, args, { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) return `ksleep exited ${r.status}: ${(r.stderr || r.stdout).trim()}`;
  const out: KernelRun = { retval: 0, ctxOut: '', maps: new Map(), ringbuf: [] };
  for (const line of r.stdout.split('\n')) {
    let m = /^retval: (\d+)$/.exec(line);
    if (m) out.retval = Number(m[1]);
    m = /^ctx_out: ([0-9a-f]*)$/.exec(line);
    if (m) out.ctxOut = m[1]!;
    m = /^map (\w+)\[([0-9a-f]+)\]: ([0-9a-f]+)$/.exec(line);
    if (m) out.maps.set(`${m[1]}[${m[2]}]`, m[3]!);
    m = /^ringbuf \w+: ([0-9a-f]+)$/.exec(line);
    if (m) out.ringbuf.push(m[1]!);
  }
  return out;
}

/** Skips (with the reason) when ksleep cannot be built or the kernel refuses bpf(). */
function skipReason(): string | undefined {
  if (tool.skip) return tool.skip;
  const probe = ksleep(
    'examples/sleepable/sleepable.bpf.o',
    'count_bytes',
    [new Uint8Array(1)],
    'buf0,u32:1,u32:0',
  );
  return typeof probe === 'string' ? `kernel oracle unavailable (${probe})` : undefined;
}
const skip = skipReason();

const later = <T>(v: T): Promise<T> => new Promise((res) => setTimeout(() => res(v), 1));
const USER = 0x7f00_0000_1000;

const countSpec = loadCollectionSpec(readFileSync(join(repoRoot, 'examples/sleepable/sleepable.bpf.o')), {
  file: 'examples/sleepable/sleepable.bpf.o',
});

test('count_bytes: tsbpf (both engines, memory arriving later) equals the kernel', { skip }, async () => {
  let seed = 7;
  for (const len of [0, 1, 15, 16, 17, 100, 255, 256, 257]) {
    const data = new Uint8Array(len).map(() => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    });
    const k = ksleep('examples/sleepable/sleepable.bpf.o', 'count_bytes', [data], `buf0,u32:${len},u32:0`);
    assert.equal(typeof k, 'object', String(k));
    const kr = k as KernelRun;
    for (const engine of ENGINES) {
      const coll = newCollection(countSpec, {
        engine,
        verify: false,
        userMemory: {
          source: (addr, n) =>
            later(
              addr >= USER && addr + n <= USER + len ? data.slice(addr - USER, addr - USER + n) : undefined,
            ),
        },
      });
      const ctx = new Uint8Array(16);
      new DataView(ctx.buffer).setBigUint64(0, BigInt(USER), true);
      new DataView(ctx.buffer).setUint32(8, len, true);
      const r = await coll.program('count_bytes').runSleepable({ ctx });
      const what = `${engine}, ${len} bytes`;
      assert.equal(r.retval, kr.retval, what);
      // the pointer differs (the kernel's is ksleep's buffer); len and chunks must not
      assert.equal(hex(r.ctxOut!.subarray(8)), kr.ctxOut.slice(16), what);
      const m = coll.map('byte_counts');
      for (let key = 0; key < 256; key++) {
        const kh = hex(new Uint8Array([key, 0, 0, 0]));
        assert.equal(
          hex(m.lookup(new Uint8Array([key, 0, 0, 0]))!),
          kr.maps.get(`byte_counts[${kh}]`),
          `${what}, key ${key}`,
        );
      }
      coll.close();
    }
  }
});

test('deep (sleeps three frames down holding a ring-buffer reservation) equals the kernel', {
  skip,
}, async () => {
  const spec = loadCollectionSpec(readFileSync(join(repoRoot, 'test/runtime/fixtures/sleep-state.bpf.o')), {
    file: 'test/runtime/fixtures/sleep-state.bpf.o',
  });
  const u64 = (v: bigint): Uint8Array => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    return b;
  };
  for (const [first, second, seed] of [
    [5n, 7n, 3n],
    [0xdeadbeefn, 0x1234_5678_9abcn, 0xffff_ffff_ffffn],
  ] as const) {
    const k = ksleep(
      'test/runtime/fixtures/sleep-state.bpf.o',
      'deep',
      [u64(first), u64(second)],
      `buf0,buf1,u64:${seed}`,
    );
    assert.equal(typeof k, 'object', String(k));
    const kr = k as KernelRun;
    assert.equal(kr.ringbuf.length, 1);
    for (const engine of ENGINES) {
      const coll = newCollection(spec, {
        engine,
        verify: false,
        userMemory: {
          source: (addr) => later(addr === USER ? u64(first) : addr === USER + 64 ? u64(second) : undefined),
        },
      });
      const ctx = new Uint8Array(24);
      const dv = new DataView(ctx.buffer);
      dv.setBigUint64(0, BigInt(USER), true);
      dv.setBigUint64(8, BigInt(USER + 64), true);
      dv.setBigUint64(16, seed, true);
      const r = await coll.program('deep').runSleepable({ ctx });
      assert.equal(r.retval, kr.retval, engine);
      assert.equal(r.sleeps, 2);
      assert.equal(
        hex(coll.map('result').lookup(new Uint8Array(4))!),
        kr.maps.get('result[00000000]'),
        engine,
      );
      assert.deepEqual((coll.map('events') as RingbufMap).consume().map(hex), kr.ringbuf, engine);
      coll.close();
    }
  }
});
