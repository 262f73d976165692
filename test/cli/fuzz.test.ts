// Fuzz the CLI's parsers in-process: truncated and bit-flipped objects and bytecode, garbage
// assembly and random argument vectors. Every case must end in exit code 0, 1 or 2 — never 70
// (an internal error) or an exception escaping main(). FUZZ_N scales the count, FUZZ_SEED replays.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cli, prng, root, scratch } from './helpers.ts';

const N = Number(process.env.FUZZ_N ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const tmp = scratch('tsbpf-fuzz-');
after(tmp.remove);

function findObjects(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findObjects(p, out);
    else if (name.endsWith('.o')) out.push(p);
  }
  return out;
}
const objects = [...findObjects(join(root, 'examples')), ...findObjects(join(root, 'test/fixtures'))]
  .map((p) => readFileSync(p))
  // The big objects make each case slow without finding more; keep the small ones.
  .filter((b) => b.length < 64 * 1024);

const VALID_ASM = [
  'r0 = 1\nexit',
  'r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 8\nif r4 > r3 goto out\nr0 = *(u64 *)(r2 + 0)\n*(u8 *)(r2 + 3) = r0\nexit\nout:\nr0 = 2\nexit',
  'r1 = 10\nr0 = 0\nl:\nr0 += r1\nr1 -= 1\nif r1 != 0 goto l\nexit',
  'mov %r0, 3\nlsh %r0, 2\nexit',
  'r1 = map_value(0, 0) ll\nr2 = 5\nlock *(u64 *)(r1 + 0) += r2\nr0 = 0\nexit',
  'r6 = r1\nr0 = *(u16 *)skb[12]\nr1 = 2\nr0 = *(u8 *)skb[r1 + 0]\nexit',
  'call 7\nr0 s/= 3\nw0 = bswap16 w0\nexit',
];
const TOKENS = [
  'r0',
  'r1',
  'r10',
  'r11',
  'w3',
  '%r2',
  '=',
  '+=',
  's>>=',
  '*(u64 *)',
  '(r1 + 8)',
  'goto',
  '+3',
  '-1',
  'if',
  '>',
  's<',
  'exit',
  'call',
  'lddw',
  'll',
  'lock',
  'map_value(0,',
  '1)',
  '0x7fffffff',
  '-0x80000000',
  '99999999999999999999',
  ':',
  'l:',
  'mov',
  'add32',
  '%r11',
  ',',
  '[',
  ']',
  'be16',
  'bswap64',
  'ja',
  '\t',
  '#',
  ';',
  'skb[',
  'r1 = 1 ll',
  '\u00ff',
  '.text',
  '.globl',
  'SEC',
  '"',
  "'",
];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function mutateBytes(r: () => number, src: Uint8Array): Uint8Array {
  const b = Uint8Array.from(src);
  const kind = r();
  if (kind < 0.15) return b.subarray(0, Math.floor(r() * b.length));
  const flips = 1 + Math.floor(r() * 8);
  for (let k = 0; k < flips; k++) {
    const at = Math.floor(r() * b.length);
    if (kind < 0.7) b[at]! ^= 1 << Math.floor(r() * 8);
    else b[at] = Math.floor(r() * 256);
  }
  return b;
}

/** One mostly well-formed instruction: the interesting failures are past the decoder. */
function randomInsn(r: () => number, view: DataView, at: number, n: number, idx: number): void {
  const reg = (): number => Math.floor(r() * 10);
  const small = (): number => Math.floor(r() * 33) - 16;
  let code: number;
  let dst = reg();
  let src = 0;
  let off = 0;
  let imm = r() < 0.5 ? small() : Math.floor(r() * 2 ** 32) | 0;
  const form = r();
  if (form < 0.4) {
    const aluOp = pick(r, [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]);
    const cls = r() < 0.5 ? 0x07 : 0x04;
    const x = r() < 0.4 ? 0x08 : 0;
    code = aluOp | cls | x;
    if (x) src = reg();
    if (aluOp >= 0x60 && aluOp <= 0x70 && !x) imm &= cls === 0x07 ? 63 : 31;
    if (x) imm = 0;
  } else if (form < 0.6) {
    code = pick(r, [0x61, 0x69, 0x71, 0x79]);
    src = pick(r, [1, 10, reg()]);
    off = src === 10 ? -8 * (1 + Math.floor(r() * 8)) : small();
    imm = 0;
  } else if (form < 0.75) {
    code = pick(r, [0x63, 0x6b, 0x73, 0x7b, 0x62, 0x7a]);
    dst = pick(r, [10, 1, reg()]);
    off = dst === 10 ? -8 * (1 + Math.floor(r() * 8)) : small();
    if ((code & 0x07) === 0x03) {
      src = reg();
      imm = 0;
    }
  } else {
    code = pick(r, [0x05, 0x15, 0x1d, 0x25, 0x2d, 0x55, 0x5d, 0x65, 0xa5, 0xb5, 0xc5, 0xd5, 0x16, 0x56]);
    const maxFwd = n - idx - 2;
    off = maxFwd > 0 ? Math.floor(r() * (maxFwd + 1)) : 0;
    if (code === 0x05) {
      dst = 0;
      imm = 0;
    } else if ((code & 0x08) !== 0) {
      src = reg();
      imm = 0;
    }
  }
  view.setUint8(at, code);
  view.setUint8(at + 1, (src << 4) | dst);
  view.setInt16(at + 2, off, true);
  view.setInt32(at + 4, imm, true);
}

function randomBytecode(r: () => number): Uint8Array {
  const n = 2 + Math.floor(r() * 14);
  const b = new Uint8Array(n * 8);
  const view = new DataView(b.buffer);
  for (let i = 0; i < n - 1; i++) randomInsn(r, view, i * 8, n, i);
  view.setUint8((n - 1) * 8, 0x95);
  return b;
}

function garbageAsm(r: () => number): string {
  if (r() < 0.25) return pick(r, VALID_ASM);
  if (r() < 0.5) {
    // A valid program with one line damaged.
    const lines = pick(r, VALID_ASM).split('\n');
    const at = Math.floor(r() * lines.length);
    const words = lines[at]!.split(' ');
    words[Math.floor(r() * words.length)] = pick(r, TOKENS);
    lines[at] = words.join(' ');
    return lines.join('\n');
  }
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    const w = 1 + Math.floor(r() * 6);
    lines.push(Array.from({ length: w }, () => pick(r, TOKENS)).join(' '));
  }
  return lines.join('\n');
}

// Small limits keep every run and every verification short.
const RUN_SAFE = ['--max-insns', '20000', '--verify-limit', '20000'];

/** Random argument vectors ('-' is left out: in-process it would wait for stdin). */
function randomArgv(r: () => number, file: string): string[] {
  const pool = [
    'asm',
    'disasm',
    'run',
    'obj',
    'show',
    'link',
    'btf',
    'dump',
    '--json',
    '--prog',
    'x',
    '--type',
    'xdp',
    'syscall',
    'kprobe',
    'nope',
    '--map',
    'array:4:8:1',
    'hash:4:4:4',
    'array:0:0:0',
    'array:4:8',
    '--data',
    '--ctx',
    '--repeat',
    '0',
    '7',
    '-1',
    '0x10',
    '--engine',
    'jit',
    'interp',
    '--force',
    '-o',
    '--kernel-style',
    '--linked',
    '--dump-maps',
    '--',
    '--help',
    '--version',
    '--max-insns',
    '',
    file,
    file,
  ];
  const n = Math.floor(r() * 7);
  const argv = Array.from({ length: n }, () => pick(r, pool));
  // -o must never name a real file of ours: point it into the scratch directory.
  const o = argv.indexOf('-o');
  if (o >= 0) argv.splice(o + 1, 0, tmp.path('out.bin'));
  if (argv[0] === 'run') argv.push(...RUN_SAFE);
  return argv;
}

type Case = { what: string; argv: string[] };

function* cases(r: () => number): Generator<Case> {
  for (let i = 0; i < N; i++) {
    // Mutated objects through every object reader.
    const obj = mutateBytes(r, pick(r, objects));
    const o = tmp.path(`m${i % 4}.o`);
    writeFileSync(o, obj);
    const cmd = pick(r, [
      ['obj', 'show', o, '--json'],
      ['disasm', o],
      ['btf', 'dump', o],
      ['obj', 'link', o, '-o', tmp.path('l.bin'), '--json'],
      ['run', o, ...RUN_SAFE],
      ['verify', o, '--limit', '20000', '--json'],
    ]);
    yield { what: `object #${i}`, argv: cmd };

    // Random and mutated bytecode through disasm and run.
    const bc = r() < 0.7 ? randomBytecode(r) : mutateBytes(r, randomBytecode(r));
    const b = tmp.path('f.bin');
    writeFileSync(b, bc);
    yield { what: `bytecode #${i}`, argv: ['disasm', b, ...(r() < 0.5 ? ['--kernel-style'] : [])] };
    yield {
      what: `bytecode run #${i}`,
      argv: [
        'run',
        b,
        '--type',
        pick(r, ['socket_filter', 'xdp', 'sched_cls', 'syscall']),
        '--map',
        'array:4:8:1',
        ...RUN_SAFE,
        // Unverified programs reach both engines' fault paths.
        ...(r() < 0.4 ? ['--engine', 'jit'] : []),
        ...(r() < 0.4 ? ['--no-verify'] : []),
      ],
    };

    // Garbage assembly through asm and run.
    const s = tmp.path('g.s');
    writeFileSync(s, garbageAsm(r));
    yield { what: `asm #${i}`, argv: ['asm', s, '-o', tmp.path('g.bin'), '--json'] };
    yield { what: `asm run #${i}`, argv: ['run', s, '--map', 'array:4:8:1', ...RUN_SAFE] };

    yield { what: `argv #${i}`, argv: randomArgv(r, r() < 0.5 ? s : o) };
  }
}

test(`CLI fuzz: ${N * 6} inputs end in exit code 0, 1 or 2 (seed ${SEED})`, async () => {
  const r = prng(SEED);
  const codes = new Map<number, number>();
  let count = 0;
  for (const c of cases(r)) {
    count++;
    let res: Awaited<ReturnType<typeof cli>>;
    const t0 = performance.now();
    if (process.env.FUZZ_TRACE)
      appendFileSync(process.env.FUZZ_TRACE, `${c.what} ${JSON.stringify(c.argv)}\n`);
    try {
      res = await cli(...c.argv);
      const ms = performance.now() - t0;
      if (process.env.FUZZ_STATS && ms > 200)
        console.log(
          `SLOW ${Math.round(ms)} ms ${c.what} ${JSON.stringify(c.argv)} -> ${res.code} ${res.err.slice(0, 200)}`,
        );
    } catch (e) {
      assert.fail(
        `${c.what}: exception escaped main(): ${(e as Error).stack}\nargv: ${JSON.stringify(c.argv)}`,
      );
    }
    codes.set(res.code, (codes.get(res.code) ?? 0) + 1);
    if (process.env.FUZZ_STATS)
      console.log(`STAT ${c.what.split(' #')[0]} ${res.code} ${res.err.slice(0, 90)}`);
    assert.ok(
      res.code === 0 || res.code === 1 || res.code === 2,
      `${c.what}: exit ${res.code}: ${res.err}\nargv: ${JSON.stringify(c.argv)}`,
    );
    if (res.code !== 0) assert.equal(res.err.trimEnd().split('\n').length, 1, `${c.what}: ${res.err}`);
  }
  assert.ok(count >= N * 6);
  if (process.env.FUZZ_STATS) console.log(JSON.stringify([...codes]));
  // A fuzzer that only ever fails (or only succeeds) is not exploring: both must occur.
  assert.ok((codes.get(0) ?? 0) > 0 && (codes.get(2) ?? 0) > 0, JSON.stringify([...codes]));
});
