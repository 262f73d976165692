// test/iter/fixtures/iter_cases.bpf.o: the printf dialect and the seq buffer's overflow rules,
// each checked against the kernel's own iterator output when bpf() works.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { toHex } from '../../src/cli/io.ts';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/index.ts';
import { iterate } from '../../src/runtime/iter/index.ts';
import { root } from '../cli/helpers.ts';
import { type KiterElem, runKiter } from './kiter.ts';

const OBJ = join(root, 'test/iter/fixtures/iter_cases.bpf.o');
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

function runTs(prog: string, map: string, elems: readonly KiterElem[], readSize: number, rodata = {}) {
  const spec = loadCollectionSpec(readFileSync(OBJ), { file: 'iter_cases.bpf.o' });
  const coll = newCollection(spec, { verify: false, rodata });
  const m = coll.map(map);
  for (const e of elems) m.update(e.key, e.value);
  const r = iterate(coll.program(prog), { map: m, readSize });
  coll.close();
  return r;
}

/** struct sample { u64 a; u64 b; u8 ip4[4]; u8 ip6[16]; char s[12]; } (48 bytes) */
function sample(a: bigint, b: bigint, ip4: number[], ip6: number[], s: string): Uint8Array {
  const v = new Uint8Array(48);
  const dv = new DataView(v.buffer);
  dv.setBigUint64(0, BigInt.asUintN(64, a), true);
  dv.setBigUint64(8, BigInt.asUintN(64, b), true);
  v.set(ip4, 16);
  v.set(ip6, 20);
  for (let i = 0; i < s.length; i++) v[36 + i] = s.charCodeAt(i);
  return v;
}

const SAMPLES: KiterElem[] = [
  {
    key: u32(0),
    value: sample(
      -42n,
      0xdeadbeefn,
      [192, 168, 1, 7],
      [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1],
      'hello',
    ),
  },
  { key: u32(1), value: sample(7n, 0xffff_ffff_ffff_ffffn, [10, 0, 0, 255], Array(16).fill(0xab), '') },
  { key: u32(2), value: sample(-(2n ** 63n), 0n, [0, 0, 0, 0], Array(16).fill(0), 'x_y-z 12345') },
  {
    key: u32(3),
    value: sample(
      2n ** 31n,
      12345678901234n,
      [255, 255, 255, 255],
      [...Array(15).fill(0), 255],
      'eleven-char',
    ),
  },
];

test('formats: the text tsbpf prints for the printf dialect', () => {
  const r = runTs('formats', 'samples', SAMPLES, 131072);
  assert.equal(r.error, undefined);
  const lines = r.text.split('\n');
  // Values reasoned from C's printf rules, independent of both implementations.
  assert.equal(
    lines[0],
    '0: -42|-42|4294967254|ffffffd6|FFFFFFD6|-42|18446744073709551574|ffffffffffffffd6|-42|18446744073709551574|DEADBEEF',
  );
  assert.equal(
    lines[1],
    '[  -42][-42  ][-0042][-42][-42][-42   ][deadbeef][DEADBEEF][  z][y  ][ hello][hello ]',
  );
  assert.equal(
    lines[2],
    '192.168.1.7 192.168.001.007 2001:0db8:0000:0000:0000:0000:0000:0001 20010db8000000000000000000000001 100% hello|| 00000000deadbeef',
  );
  assert.equal(lines[3], '\0|ffffffffffffffd6 -42 -42 00000000003735928559');
  assert.equal(lines[4], 'bad: -22 -22 -22 -22 -22 -22 -22 -22 -22');
  assert.equal(lines[5], '1: 7|7|7|7|7|7|7|7|7|7|FFFFFFFFFFFFFFFF');
  assert.equal(
    lines[6],
    '[    7][7    ][00007][+7][ 7][+7    ][ffffffff][FFFFFFFF][  z][y  ][      ][      ]',
  );
});

test('kernel: formats print the same bytes', (t) => {
  const k = runKiter(OBJ, 'formats', 'samples', SAMPLES, { readSize: 4096 });
  if (k.skip) return t.skip(k.skip);
  const r = runTs('formats', 'samples', SAMPLES, 4096);
  assert.equal(r.text, String.fromCharCode(...k.stdout));
});

const KEYS: KiterElem[] = Array.from({ length: 16 }, (_, i) => ({ key: u32(i), value: new Uint8Array(48) }));

test('overflow: the element that does not fit runs again in the next read', () => {
  const r = runTs('big_lines', 'samples', KEYS, 1 << 20);
  assert.equal(r.error, undefined);
  const calls = [...r.text.matchAll(/\|key (\d+) call (\d+) seq (\d+) w (-?\d+)/g)].map((m) =>
    m.slice(1).map(Number),
  );
  // every key once, in order, each with its seq_num
  assert.deepEqual(
    calls.map((c) => c[0]),
    KEYS.map((_, i) => i),
  );
  assert.deepEqual(
    calls.map((c) => c[2]),
    KEYS.map((_, i) => i),
  );
  // An element prints 4000 bytes plus ~45 of text: eight fill 32 KiB short of 4000 bytes, so
  // the ninth (key 8) overflows, is discarded and runs again at the start of the second read.
  assert.deepEqual(
    calls.map((c) => c[1]),
    KEYS.map((_, i) => (i < 8 ? i + 1 : i + 2)),
  );
  assert.match(r.text, /end after 18 calls, seq_num 15\n$/);
  assert.ok(
    calls.every((c) => c[3] === 0),
    'only output that fitted is kept',
  );
});

test('kernel: overflow reruns and E2BIG match', (t) => {
  for (const [readSize, huge] of [
    [1 << 20, 0xffffffff],
    [4096, 0xffffffff],
    [1 << 20, 5],
    [1 << 20, 0],
  ] as const) {
    const k = runKiter(OBJ, 'big_lines', 'samples', KEYS, { readSize, rodata: { huge_key: u32(huge) } });
    if (k.skip) return t.skip(k.skip);
    const r = runTs('big_lines', 'samples', KEYS, readSize, { huge_key: huge });
    const what = `read size ${readSize}, huge_key ${huge}`;
    assert.equal(toHex(r.bytes), toHex(k.stdout), what);
    assert.equal(r.error ? `read-error: ${r.error.errno}` : '', k.readError, what);
    if (huge !== 0xffffffff) assert.equal(r.error?.name, 'E2BIG', what);
  }
});

test('iter/bpf_map: one line per map of the collection, as struct bpf_map through BTF', (t) => {
  const spec = loadCollectionSpec(readFileSync(OBJ), { file: 'iter_cases.bpf.o' });
  const coll = newCollection(spec, { verify: false });
  const r = iterate(coll.program('list_maps'), {});
  // expected lines from the host map API
  const want = [...coll.maps.values()]
    .sort((x, y) => x.id - y.id)
    .map(
      (m) =>
        `map ${m.name} type ${m.type} key ${m.keySize} value ${m.valueSize} max ${m.maxEntries} flags ${m.flags.toString(16)}`,
    );
  coll.close();
  assert.equal(r.text, `${want.join('\n')}\nlast seq_num ${want.length - 1}\n`);
  // The kernel lists every map of the system: ours must be among its lines, word for word.
  const k = runKiter(OBJ, 'list_maps', '-', [], { readSize: 4096 });
  if (k.skip) return t.skip(k.skip);
  const kernelLines = new Set(String.fromCharCode(...k.stdout).split('\n'));
  for (const line of want) assert.ok(kernelLines.has(line), `kernel printed no "${line}"`);
});

test('the JIT engine prints the same bytes as the interpreter', () => {
  const spec = loadCollectionSpec(readFileSync(OBJ), { file: 'iter_cases.bpf.o' });
  const out = (['interp', 'jit'] as const).map((engine) => {
    const coll = newCollection(spec, { verify: false, engine });
    const m = coll.map('samples');
    for (const e of SAMPLES) m.update(e.key, e.value);
    const texts = ['formats', 'big_lines'].map(
      (p) => iterate(coll.program(p), { map: m, readSize: 4096 }).text,
    );
    texts.push(iterate(coll.program('list_maps'), {}).text);
    coll.close();
    return texts;
  });
  assert.ok(out[0]![0]!.includes('192.168.1.7'));
  assert.deepEqual(out[1], out[0]);
});

test('iter/task: host-provided tasks laid out as task_struct', (t) => {
  const spec = loadCollectionSpec(readFileSync(OBJ), { file: 'iter_cases.bpf.o' });
  const coll = newCollection(spec, { verify: false });
  const tasks = [
    { pid: 1, tgid: 1, comm: 'init' },
    { pid: 4242, tgid: 4240, comm: 'a-very-long-command-name' }, // comm keeps 15 bytes
    { pid: -5, tgid: 7, comm: '' },
  ];
  const r = iterate(coll.program('list_tasks'), { objects: tasks });
  assert.equal(r.text, '1 1 init\n4240 4242 a-very-long-com\n7 -5 \ntasks: 3\n');
  assert.throws(() => iterate(coll.program('list_tasks'), {}), /needs the host's objects/);
  coll.close();
  // The kernel runs the same program over the system's tasks: kiter itself is one of them.
  const k = runKiter(OBJ, 'list_tasks', '-', [], { readSize: 4096 });
  if (k.skip) return t.skip(k.skip);
  const text = String.fromCharCode(...k.stdout);
  assert.ok(text.includes(`\n${k.pid} ${k.pid} kiter\n`), 'kiter is listed');
  assert.match(text, /\ntasks: \d+\n$/);
});
