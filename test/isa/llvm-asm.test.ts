import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AsmError } from '../../src/errors.ts';
import { assembleAuto, detectDialect } from '../../src/isa/asm/index.ts';
import { assemble } from '../../src/isa/asm/llvm.ts';
import { slotWord } from '../../src/isa/encode.ts';
import { lddwValue } from '../../src/isa/insn.ts';

const words = (text: string) => assemble(text).map(slotWord);

test('encodings of hand-written lines', () => {
  // Expected words worked out from RFC 9669 §3 field layout: imm<<32 | off<<16 | src<<12 | dst<<8 | code.
  assert.deepEqual(words('r0 = 1'), [0x00000001_000000b7n]);
  assert.deepEqual(words('w0 = -1'), [0xffffffff_000000b4n]);
  assert.deepEqual(words('r1 = 0xffffffff'), [0xffffffff_000001b7n]); // LLVM keeps the low 32 bits
  assert.deepEqual(words('*(u64 *)(r10 - 8) = r1'), [0x00000000_fff81a7bn]);
  assert.deepEqual(words('*(u32 *)(r10 - 8) = w1'), [0x00000000_fff81a63n]);
  assert.deepEqual(words('w0 = *(u32 *)(r1 + 0x10)'), [0x00000000_00101061n]);
  assert.equal(words('if w1 s< w2 goto +0\nexit')[0], 0x00000000_000021cen);
  assert.deepEqual(words('r0 = (s32)r1'), [0x00000000_002010bfn]);
  assert.deepEqual(words('r2 = bswap64 r2'), [0x00000040_000002d7n]);
  assert.deepEqual(words('lock *(u32 *)(r3 + 2) ^= w4'), [0x000000a0_000243c3n]);
  assert.deepEqual(words('r0 = cmpxchg_64(r3 + 2, r0, r4)'), [0x000000f1_000243dbn]);
  assert.deepEqual(words('call bpf_map_lookup_elem'), [0x00000001_00000085n]);
  assert.deepEqual(words('r1 = w6'), words('w1 = w6')); // clang -S prints MOV_32_64 this way
  assert.deepEqual(words('call bpf_ktime_get_ns#5'), [0x00000005_00000085n]);
  assert.deepEqual(words('r0 = *(u32 *)skb[r2 + 3]'), [0x00000003_00002040n]);
  const [ld] = assemble('r3 = -2 ll');
  assert.equal(lddwValue(ld!), -2n); // lddwValue is signed
  assert.equal(ld!.imm64Hi, -1);
});

test('labels, comments, directives and clang -S noise', () => {
  const p = assemble(
    [
      '\t.text',
      '\t.file\t"x.c"',
      '\t.globl\tf                      # -- Begin function f',
      '\t.p2align\t3',
      '\t.type\tf,@function',
      'f:                                  # @f',
      '# %bb.0:',
      '\t.loc\t1 3 0 prologue_end',
      '\tif r1 == 0 goto LBB0_2   ; comment',
      '\tcall g // another',
      '.LBB0_9: LBB0_2:',
      '\texit',
      '.Lfunc_end0:',
      '\t.size\tf, .Lfunc_end0-f',
      'g: r0 = 7',
      '\texit',
    ].join('\n'),
  );
  assert.equal(p.length, 5);
  assert.equal(p[0]!.off, 1); // to the exit at slot 2
  assert.deepEqual([p[1]!.src, p[1]!.imm], [1, 1]); // bpf-to-bpf call to g at slot 3
});

test('errors: one clear message with line and column', () => {
  const cases: [string, RegExp, number, number | undefined][] = [
    ['r0 = 1\nr11 = 1', /unknown register r11/, 2, 1],
    ['exit\n\n  goto LBB0_9', /jump target LBB0_9 is not defined/, 3, 8],
    ['call not_a_helper', /function .*not_a_helper is not defined/, 1, 6],
    ['w1 += r2', /both registers/, 1, 7],
    ['r1 = 0x100000000', /does not fit in 32 bits .*ll/, 1, 6],
    ['r1 = 0x10000000000000000 ll', /64 bits/, 1, 6],
    ['r0 = *(u32 *)(r1 + 40000)', /16 bits/, 1, 18],
    ['frob r1', /unknown instruction "frob"/, 1, 1],
    ['r0 = xchg_64(r10 - 8, r1)', /source register/, 1, 23],
    ['r0 = le17 r0', /unknown value/, 1, 6],
    ['r10 = 1', /r10/, 1, undefined],
    ['r0 = 1 @', /unexpected character/, 1, 8],
    ['call bpf_map_lookup_elem#2', /helper 1, not 2/, 1, 26],
    ['L: exit\nL: exit', /defined twice/, 2, 1],
    ['r0 = *(u32 *)(w1 + 4)', /address must be an rN/, 1, 15],
    ['*(u64 *)(r10 - 8) = w1', /64-bit access needs an rN/, 1, 21],
    ['w0 = xchg_64(r10 - 8, w0)', /64-bit access needs an rN/, 1, 1],
    ['callx w2', /callx target must be an rN/, 1, 7],
  ];
  for (const [src, re, line, col] of cases) {
    assert.throws(
      () => assemble(src, { file: 'a.s' }),
      (e: unknown) => {
        assert.ok(e instanceof AsmError, String(e));
        assert.match(e.message, re, src);
        assert.equal(e.where.line, line, src);
        assert.equal(e.where.col, col, `${src}: ${e.message}`);
        assert.equal(e.where.file, 'a.s');
        return true;
      },
    );
  }
});

test('dialect detection', () => {
  assert.equal(detectDialect('mov %r0, 1\nexit'), 'conformance');
  assert.equal(detectDialect('mov32 r0, 1\nexit'), 'conformance');
  assert.equal(detectDialect('r0 = 1\nexit'), 'llvm');
  assert.equal(detectDialect('# c\n-- asm\nexit\n-- result\n0x0\n'), 'conformance-file');
  assert.deepEqual(assembleAuto('mov %r0, 1\nexit'), assembleAuto('r0 = 1\nexit'));
});

function hasClang(): boolean {
  try {
    execFileSync('clang-19', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('clang-19 -S output assembles to the bytes clang-19 -c produces', {
  skip: hasClang() ? false : 'clang-19 not installed',
}, () => {
  const work = mkdtempSync(join(tmpdir(), 'tsbpf-clang-'));
  const c = `
typedef unsigned long long u64;
static u64 (*ktime)(void) = (void *)5;
__attribute__((noinline)) static int sq(int x) { return x * x + (x >> 3); }
__attribute__((section("xdp"), used)) int f(unsigned *p) {
  u64 t = ktime();
  int acc = 0;
  for (int i = 0; i < 10; i++) acc += sq(i) ^ (int)t;
  __sync_fetch_and_add((u64 *)p, 3);
  (void)__sync_lock_test_and_set(p, 7);
  signed char s = (signed char)p[1];
  return acc + s + (int)__builtin_bswap32(p[2]) + (p[3] > 100 ? 1 : -1);
}`;
  try {
    writeFileSync(join(work, 'x.c'), c);
    const base = ['-target', 'bpf', '-O2', '-mcpu=v4', '-fno-asynchronous-unwind-tables'];
    execFileSync('clang-19', [...base, '-S', join(work, 'x.c'), '-o', join(work, 'x.s')]);
    execFileSync('clang-19', [...base, '-c', join(work, 'x.c'), '-o', join(work, 'x.o')]);
    execFileSync('llvm-objcopy-19', [
      '-O',
      'binary',
      '--only-section=xdp',
      join(work, 'x.o'),
      join(work, 'xdp.bin'),
    ]);
    execFileSync('llvm-objcopy-19', [
      '-O',
      'binary',
      '--only-section=.text',
      join(work, 'x.o'),
      join(work, 'text.bin'),
    ]);
    const s = readFileSync(join(work, 'x.s'), 'utf8');
    // The .s holds both sections in file order (xdp, then .text with sq).
    const all = assemble(s, { file: 'x.s' });
    const want = Buffer.concat([readFileSync(join(work, 'xdp.bin')), readFileSync(join(work, 'text.bin'))]);
    assert.equal(all.length * 8, want.length);
    // Calls to sq cross sections and need relocation; compare everything else slot by slot.
    const got = all.map(slotWord);
    const wantWords = Array.from({ length: want.length / 8 }, (_, k) => want.readBigUInt64LE(k * 8));
    let compared = 0;
    for (let k = 0; k < got.length; k++) {
      if ((wantWords[k]! & 0xffn) === 0x85n && ((wantWords[k]! >> 12n) & 0xfn) === 1n) continue;
      assert.equal(got[k], wantWords[k], `slot ${k}`);
      compared++;
    }
    assert.ok(compared > 20, `compared ${compared}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('clang -S map references explain why they cannot be assembled', () => {
  assert.throws(() => assemble('r1 = counts ll\nexit'), /symbol counts is not defined here .*relocations/);
});

test('long lines stay fast and are rejected cleanly', () => {
  const long = `r0 = ${'1'.repeat(200000)}`;
  assert.throws(() => assemble(long), AsmError);
  const many = `${'r0 += 1\n'.repeat(20000)}exit`;
  assert.equal(assemble(many).length, 20001);
});
