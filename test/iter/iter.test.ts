// tsbpf iter on examples/iter: the CLI's output against a dump rendered in the test from the
// host map API, the stop (return 1) and empty-map cases, and the kernel's bytes when bpf() works.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/index.ts';
import { iterate } from '../../src/runtime/iter/index.ts';
import { toHex } from '../../src/cli/io.ts';
import { cli, root } from '../cli/helpers.ts';
import { decode, encodeKey, encodeValue, expectedDump, randomStats, type Stat } from './stats-model.ts';
import { runKiter } from './kiter.ts';

const OBJ = join(root, 'examples/iter/iter.bpf.o');
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const fills = (stats: readonly Stat[]) =>
  stats.flatMap((s) => ['--fill', `${toHex(encodeKey(s.key))}=${toHex(encodeValue(s))}`]);

/** A collection holding `stats`, and the elements in the map's own walk order (host API). */
function loaded(stats: readonly Stat[], stopAt = 0) {
  const spec = loadCollectionSpec(readFileSync(OBJ), { file: 'iter.bpf.o' });
  const coll = newCollection(spec, { verify: false, rodata: { stop_at: stopAt } });
  const map = coll.map('stats');
  for (const s of stats) map.update(encodeKey(s.key), encodeValue(s));
  const walk = [...map.entries()].map(([k, v]) => decode(k, v));
  return { coll, map, walk };
}

test('tsbpf iter prints the dump the host map API predicts', async () => {
  const stats = randomStats(40, 7);
  const { coll, walk } = loaded(stats);
  coll.close();
  assert.equal(walk.length, 40);
  assert.deepEqual(new Set(walk.map((s) => s.key)), new Set(stats.map((s) => s.key)));
  const r = await cli('iter', OBJ, '--map', 'stats', ...fills(stats));
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, latin1(expectedDump(walk)));
});

test('a program returning 1 ends the stream with EAGAIN before that element', async () => {
  const stats = randomStats(10, 3);
  const { coll, map, walk } = loaded(stats, 4);
  const res = iterate(coll.program('dump_stats'), { map });
  coll.close();
  assert.equal(res.error?.name, 'EAGAIN');
  assert.equal(res.text, latin1(expectedDump(walk, 4)));
  const j = await cli('iter', OBJ, '--set', 'stop_at=4', '--json', ...fills(stats));
  assert.equal(j.code, 1);
  const parsed = JSON.parse(j.out) as { error: string; bytes: number };
  assert.equal(parsed.error, 'EAGAIN');
  assert.equal(parsed.bytes, expectedDump(walk, 4).length);
});

test('an empty map gets the header and the final call only', () => {
  const { coll, map } = loaded([]);
  const res = iterate(coll.program('dump_stats'), { map });
  coll.close();
  assert.equal(res.error, undefined);
  assert.equal(res.text, latin1(expectedDump([])));
});

test('small reads cut the same stream (the program runs once per element)', () => {
  const stats = randomStats(30, 11);
  for (const readSize of [1, 7, 64, 4096]) {
    const { coll, map, walk } = loaded(stats);
    const res = iterate(coll.program('dump_stats'), { map, readSize });
    // total_packets in .bss proves each element was shown exactly once
    const bss = coll.map('iter.bss').lookup(new Uint8Array(4));
    coll.close();
    assert.equal(res.text, latin1(expectedDump(walk)), `read size ${readSize}`);
    assert.ok(res.reads > 1);
    assert.ok(bss instanceof Uint8Array);
    const total = walk.reduce((n, s) => n + s.packets, 0n);
    assert.equal(new DataView(bss.buffer, bss.byteOffset).getBigUint64(0, true), BigInt.asUintN(64, total));
  }
});

test('CLI usage errors', async () => {
  assert.equal((await cli('iter', OBJ, '--fill', '01=02')).code, 2);
  assert.equal((await cli('iter', OBJ, '--map', 'nope')).code, 2);
  assert.equal((await cli('iter', OBJ, '--fill', 'zz')).code, 2);
  assert.equal((await cli('iter', join(root, 'examples/timer/timer.bpf.o'), '--prog', 'timer_arm')).code, 2);
});

test('tsbpf iter verifies the iterator first: a missing NULL check on ctx->task is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-iter-'));
  try {
    const tasks = join(dir, 'tasks.json');
    writeFileSync(tasks, JSON.stringify([{ pid: 7, tgid: 7, comm: 'init' }]));
    const features = join(root, 'test/verifier/features/features.bpf.o');
    // the kernel refuses this program at load (test/verifier/features.test.ts checks that)
    const bad = await cli('iter', features, '--prog', 'iter_task_no_null_check', '--objects', tasks);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid mem access/);
    // the same walk over the task list runs for a program with the check
    const good = await cli('iter', features, '--prog', 'iter_task_ok', '--objects', tasks);
    assert.equal(good.code, 0, good.err);
    // pid 7 as a u64 (the test harness ends each write with a newline)
    assert.deepEqual([...Buffer.from(good.out, 'latin1')].slice(0, 8), [7, 0, 0, 0, 0, 0, 0, 0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kernel: the pinned iterator prints the same bytes', (t) => {
  const stats = randomStats(48, 5);
  for (const [stopAt, readSize] of [
    [0, 4096],
    [0, 50],
    [7, 4096],
  ] as const) {
    const elems = stats.map((s) => ({ key: encodeKey(s.key), value: encodeValue(s) }));
    const rodata: Record<string, Uint8Array> = stopAt ? { stop_at: encodeKey(stopAt) } : {};
    const k = runKiter(OBJ, 'dump_stats', 'stats', elems, { readSize, rodata });
    if (k.skip) {
      t.skip(k.skip);
      return;
    }
    const { coll, map } = loaded(stats, stopAt);
    const res = iterate(coll.program('dump_stats'), { map, readSize });
    coll.close();
    assert.equal(toHex(res.bytes), toHex(k.stdout), `stop_at=${stopAt} read size ${readSize}`);
    assert.equal(res.error ? `read-error: ${res.error.errno}` : '', k.readError);
  }
});

test('tsbpf iter --objects runs iter/task over the given tasks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-iter-'));
  try {
    const file = join(dir, 'tasks.json');
    writeFileSync(file, JSON.stringify([{ pid: 10, tgid: 9, comm: 'bash' }]));
    const cases = join(root, 'test/iter/fixtures/iter_cases.bpf.o');
    const r = await cli('iter', cases, '--prog', 'list_tasks', '--objects', file);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '9 10 bash\ntasks: 1\n');
    writeFileSync(file, '{"pid": 1}');
    assert.equal((await cli('iter', cases, '--prog', 'list_tasks', '--objects', file)).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsbpf iter --before fill_demo dumps the demo contents', async () => {
  const { coll, map } = loaded([]);
  coll.program('fill_demo').run();
  const walk = [...map.entries()].map(([k, v]) => decode(k, v));
  coll.close();
  // fill_demo: key i*17+3, packets i*100, bytes i*1500+64, delta i-4, tag "demo<i>" ("" for 5)
  assert.deepEqual(
    walk.map((s) => s.key).sort((x, y) => x - y),
    [3, 20, 37, 54, 71, 88, 105, 122],
  );
  const five = walk.find((s) => s.key === 88)!;
  assert.deepEqual([five.packets, five.bytes, five.delta, five.tag], [500n, 7564n, 1, '']);
  const r = await cli('iter', OBJ, '--before', 'fill_demo');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, latin1(expectedDump(walk)));
});
