// bpf_user_ringbuf_drain() at run time: samples written into the BPF_MAP_TYPE_USER_RINGBUF of
// test/verifier/objects/user_ringbuf.bpf.o through the host API (UserRingbufMap, libbpf's
// user_ring_buffer__reserve/submit/discard), drained by its programs on both engines, with
// results worked out from the C source; where bpf() is there, kuserrb.c does the same against
// the kernel and the .bss after the run must be byte for byte the same.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { MapError, type UserRingbufMap } from '../../src/maps/index.ts';
import { type Collection, type Engine, newCollection } from '../../src/runtime/index.ts';
import { buildCTool, repoRoot } from '../oracles.ts';

const object = 'test/verifier/objects/user_ringbuf.bpf.o';
const spec = loadCollectionSpec(readFileSync(join(repoRoot, object)), { file: object });
const bssName = spec.maps.find((m) => m.name.endsWith('.bss'))!.name;
const ENGINES: readonly Engine[] = ['interp', 'jit'];
const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);

/** What the producer does before the run, in order. */
type Step = { sample: Uint8Array } | { discard: Uint8Array } | { busy: number };

interface Case {
  name: string;
  prog: string;
  steps: Step[];
  retval: number;
  /** Checks the .bss after the run (layout: drained s64, last {u64, u32, u32}, probed). */
  bss: (b: DataView) => void;
}

const CASES: readonly Case[] = [
  {
    name: 'sums samples, skips the discarded one, stops at 0xffffffff',
    prog: 'accept_drain_sum',
    steps: [
      { sample: u32(10) },
      { sample: new Uint8Array([1, 0]) },
      { discard: u32(5) },
      { sample: u32(2) },
      { sample: u32(0xffffffff) },
      { sample: u32(3) },
    ],
    retval: 2,
    bss: (b) => {
      // five samples taken (the stopping one included), minus the discarded one
      assert.equal(b.getBigInt64(0, true), 4n);
      assert.equal(b.getBigUint64(8, true), 12n);
      assert.equal(b.getUint32(16, true), 2);
      assert.equal(b.getUint32(20, true), 1);
    },
  },
  {
    name: 'stops at a sample still reserved',
    prog: 'accept_drain_sum',
    steps: [{ sample: u32(10) }, { busy: 4 }, { sample: u32(7) }],
    retval: 2,
    bss: (b) => {
      assert.equal(b.getBigInt64(0, true), 1n);
      assert.equal(b.getBigUint64(8, true), 10n);
    },
  },
  {
    name: 'hands the callback a writable local dynptr',
    prog: 'accept_probe_sample',
    steps: [{ sample: new Uint8Array([10, 11, 12, 13, 5]) }, { sample: u32(1) }],
    retval: 2,
    bss: (b) => {
      assert.equal(b.getBigInt64(0, true), 1n);
      const p = 24;
      assert.equal(b.getInt32(p, true), 0, 'is_rdonly');
      assert.equal(b.getUint32(p + 4, true), 5, 'size');
      assert.equal(b.getInt32(p + 8, true), 0, 'bpf_dynptr_write');
      assert.equal(b.getInt32(p + 12, true), 0, 'bpf_dynptr_memset');
      assert.equal(b.getInt32(p + 16, true), 0, 'bpf_dynptr_data is NULL');
      assert.equal(b.getUint32(p + 20, true), 4, 'the adjusted clone');
      assert.equal(b.getUint8(p + 24), 0, 'byte 0 after the write');
      assert.equal(b.getUint8(p + 25), 11, 'byte 1 through the clone');
    },
  },
  {
    name: 'refuses flags other than the wakeup ones',
    prog: 'accept_drain_bad_flags',
    steps: [],
    retval: 2,
    bss: (b) => assert.equal(b.getBigInt64(0, true), 0n),
  },
];

function produce(coll: Collection, steps: readonly Step[]): void {
  const urb = coll.map('urb') as unknown as UserRingbufMap;
  for (const s of steps) {
    if ('sample' in s) urb.write(s.sample);
    else if ('busy' in s) urb.reserve(s.busy);
    else {
      const at = urb.reserve(s.discard.length);
      urb.arena.write(at, s.discard);
      urb.discard(at);
    }
  }
}

function ourRun(engine: Engine, c: Case): { retval: number; bss: Uint8Array } {
  const coll = newCollection(spec, { engine, programs: [c.prog] });
  try {
    produce(coll, c.steps);
    const r = coll.program(c.prog).run({ data: new Uint8Array(64) });
    return { retval: r.retval, bss: coll.map(bssName).lookup(new Uint8Array(4))! };
  } finally {
    coll.close();
  }
}

for (const engine of ENGINES)
  for (const c of CASES)
    test(`${engine}: ${c.prog} ${c.name}`, () => {
      const r = ourRun(engine, c);
      assert.equal(r.retval, c.retval);
      c.bss(new DataView(r.bss.buffer, r.bss.byteOffset, r.bss.byteLength));
    });

test('samples that wrap around the ring arrive whole, in order', () => {
  const coll = newCollection(spec, { programs: ['accept_drain_sum'] });
  try {
    const urb = coll.map('urb') as unknown as UserRingbufMap;
    const bss = () => new DataView(coll.map(bssName).lookup(new Uint8Array(4))!.buffer);
    // 60-byte samples take 72 bytes: 50 of them go past the 4096-byte ring's end in two rounds
    let want = 0n;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 50; i++) {
        const s = new Uint8Array(60).fill(0xee);
        s.set(u32(round * 1000 + i));
        urb.write(s);
        want += BigInt(round * 1000 + i);
      }
      coll.program('accept_drain_sum').run({ data: new Uint8Array(64) });
      assert.equal(bss().getBigInt64(0, true), 50n);
      assert.equal(bss().getUint32(16, true), 50);
    }
    // the .bss holds the last drain's sum: the second round's
    assert.equal(bss().getBigUint64(8, true), want - BigInt((49 * 50) / 2));
    assert.equal(urb.consumerPos, urb.producerPos);
  } finally {
    coll.close();
  }
});

test('the producer gets ENOSPC when the ring is full and E2BIG for a sample larger than it', () => {
  const coll = newCollection(spec, { programs: ['accept_drain_sum'] });
  try {
    const urb = coll.map('urb') as unknown as UserRingbufMap;
    for (let i = 0; i < 4096 / 64; i++) urb.write(new Uint8Array(56));
    assert.throws(
      () => urb.reserve(1),
      (e: unknown) => e instanceof MapError && /no room/.test(e.message),
    );
    assert.throws(
      () => urb.reserve(4096),
      (e: unknown) => e instanceof MapError && /does not fit/.test(e.message),
    );
  } finally {
    coll.close();
  }
});

const tool = buildCTool('kuserrb', join(repoRoot, 'test/runtime/kuserrb.c'), ['-lbpf', '-lelf', '-lz']);
function kernelRun(c: Case): { retval: number; bss: string } | string {
  const args = [object, c.prog];
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  for (const s of c.steps) {
    if ('sample' in s) args.push('--sample', hex(s.sample));
    else if ('discard' in s) args.push('--discard', hex(s.discard));
    else args.push('--busy', String(s.busy));
  }
  const r = spawnSync(tool.path, args, { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) return `kuserrb exited ${r.status}: ${(r.stderr || r.stdout).trim()}`;
  return {
    retval: Number(/^retval: (-?\d+)$/m.exec(r.stdout)?.[1]),
    bss: /^bss: ([0-9a-f]+)$/m.exec(r.stdout)?.[1] ?? '',
  };
}
function skipReason(): string | undefined {
  if (tool.skip) return tool.skip;
  const probe = kernelRun(CASES[CASES.length - 1]!);
  return typeof probe === 'string' ? `kernel oracle unavailable (${probe})` : undefined;
}

test('kernel: the same retval and .bss after each run', { skip: skipReason() }, () => {
  for (const c of CASES) {
    const k = kernelRun(c);
    assert.ok(typeof k !== 'string', k as string);
    const ours = ourRun('interp', c);
    assert.equal(k.retval, ours.retval, c.name);
    assert.equal(k.bss, Buffer.from(ours.bss).toString('hex'), c.name);
  }
});
