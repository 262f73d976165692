// Sleepable iterators (test/iter/fixtures/iter_sleep.bpf.o, SEC("iter.s/task")): each task's
// run copies user memory in two halves with bpf_copy_from_user and sleeps while the host's
// bytes are on their way; iterateAsync resumes it with its state intact, on both engines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/index.ts';
import { iterate, iterateAsync } from '../../src/runtime/iter/index.ts';
import { cli, root } from '../cli/helpers.ts';
import { runKiter } from './kiter.ts';

const OBJ = join(root, 'test/iter/fixtures/iter_sleep.bpf.o');
const spec = loadCollectionSpec(readFileSync(OBJ), { file: 'iter_sleep.bpf.o' });
const BASE = 0x7f00_0000_1000n;
const EFAULT = -14;

const later = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));
const textOf = (i: number) => new TextEncoder().encode(`task ${i}: `.padEnd(32, String.fromCharCode(97 + i)));

/** What the program prints for one task, computed here from its bytes. */
function expectedLine(pid: number, bytes: Uint8Array | undefined): string {
  if (!bytes) return `${pid}: copies ${EFAULT} ${EFAULT} sum 0 ''\n`;
  let sum = 0n;
  for (let i = 0; i < 16; i++) sum += BigInt(bytes[i]!);
  for (let i = 16; i < 32; i++) sum = BigInt.asUintN(64, sum * 31n + BigInt(bytes[i]!));
  return `${pid}: copies 0 0 sum ${sum} '${String.fromCharCode(...bytes)}'\n`;
}

for (const engine of ['interp', 'jit'] as const) {
  test(`${engine}: iter.s/task sleeps in bpf_copy_from_user and resumes with its state`, async () => {
    const coll = newCollection(spec, { engine, rodata: { buf_addr: BASE } });
    const tasks = [{ pid: 100 }, { pid: 101 }, { pid: 102 }, { pid: 103 }];
    const bufs = [textOf(0), textOf(1), textOf(2)]; // task 3's buffer never comes: -EFAULT
    // task 0's halves arrive separately (it sleeps twice), the others' whole. Each arrives a
    // timer tick after the one before: the resumed run reaches the next copy in microtasks,
    // before any timer, so every copy but the second halves of tasks 1 and 2 finds no bytes.
    const h0 = later(1, bufs[0]!.subarray(0, 16));
    const h1 = h0.then(() => later(1, bufs[0]!.subarray(16)));
    const t1 = h1.then(() => later(1, bufs[1]!));
    const t2 = t1.then(() => later(1, bufs[2]!));
    coll.userMemory.provideLater(BASE, 16, h0);
    coll.userMemory.provideLater(BASE + 16n, 16, h1);
    coll.userMemory.provideLater(BASE + 32n, 32, t1);
    coll.userMemory.provideLater(BASE + 64n, 32, t2);
    const r = await iterateAsync(coll.program('read_bufs'), { objects: tasks });
    assert.equal(r.error, undefined);
    const want = tasks.map((t, i) => expectedLine(t.pid, bufs[i])).join('') + 'done after 3\n';
    assert.equal(r.text, want);
    assert.equal(r.sleeps, 4); // task 0 twice, tasks 1 and 2 once, task 3 faults at once
    // the bytes are mapped now: a second session reads without sleeping, same output
    const again = await iterateAsync(coll.program('read_bufs'), { objects: tasks });
    assert.equal(again.text, want);
    assert.equal(again.sleeps, 0);
    coll.close();
  });

  test(`${engine}: two sessions of one iter.s program sleep and resume interleaved`, async () => {
    const coll = newCollection(spec, { engine, rodata: { buf_addr: BASE } });
    const a = textOf(4);
    const b = textOf(5);
    coll.userMemory.provideLater(BASE, 32, later(20, a));
    coll.userMemory.provideLater(BASE + 32n, 32, later(5, b));
    // session 1 waits for task 0's bytes (20 ms) while session 2 runs past its own first
    // task; both read slot 0 first, slot 1 second
    const [r1, r2] = await Promise.all([
      iterateAsync(coll.program('read_bufs'), { objects: [{ pid: 1 }, { pid: 2 }] }),
      iterateAsync(coll.program('read_bufs'), { objects: [{ pid: 7 }, { pid: 8 }] }),
    ]);
    assert.equal(r1.text, expectedLine(1, a) + expectedLine(2, b) + 'done after 1\n');
    assert.equal(r2.text, expectedLine(7, a) + expectedLine(8, b) + 'done after 1\n');
    coll.close();
  });
}

test('a synchronous iterate of a sleeping iter.s program is a fault; iter.s/bpf_map_elem is refused', () => {
  const coll = newCollection(spec, { rodata: { buf_addr: BASE } });
  coll.userMemory.provideLater(BASE, 32, later(1, textOf(0)));
  assert.throws(() => iterate(coll.program('read_bufs'), { objects: [{ pid: 1 }] }), /sleep/);
  // kernel: bpf_iter_link_attach() -EINVAL (bpf_map_elem has no BPF_ITER_RESCHED)
  assert.throws(
    () => iterate(coll.program('cannot_sleep_here'), { map: coll.map('one') }),
    /cannot run sleepable programs/,
  );
  coll.close();
});

test('kernel: the same iter.s/task program, -EFAULT from an unmapped address, prints alike', async (t) => {
  // kthreadd (pid 2) is a task in every Linux; buf_addr 0 is never mapped
  const k = runKiter(OBJ, 'read_bufs', '-', [], {
    readSize: 4096,
    rodata: { only_pid: Uint8Array.of(2, 0, 0, 0) },
  });
  if (k.skip) return t.skip(k.skip);
  const kText = String.fromCharCode(...k.stdout);
  const coll = newCollection(spec, { rodata: { only_pid: 2 } });
  const r = await iterateAsync(coll.program('read_bufs'), { objects: [{ pid: 1 }, { pid: 2 }, { pid: 3 }] });
  coll.close();
  assert.equal(r.text, `${expectedLine(2, undefined)}done after 2\n`);
  assert.match(kText, /^2: copies -14 -14 sum 0 ''\ndone after \d+\n$/);
  assert.equal(kText.split('\n')[0], r.text.split('\n')[0]);
});

test('tsbpf iter: an iter.s program waits for --user memory delivered after --user-delay', async () => {
  const text = 'hello from user memory, 32 byte';
  const hex = Buffer.from(`${text}\0`, 'latin1').toString('hex');
  const tasks = join(root, 'test/iter/fixtures/one-task.json');
  const r = await cli(
    'iter',
    OBJ,
    '--prog',
    'read_bufs',
    '--set',
    `buf_addr=${BASE}`,
    '--objects',
    tasks,
    '--user',
    `0x${BASE.toString(16)}=${hex}`,
    '--user-delay',
    '5',
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    expectedLine(42, new TextEncoder().encode(`${text}\0`)).replace(`${text}\0`, text) + 'done after 0\n',
  );
});
