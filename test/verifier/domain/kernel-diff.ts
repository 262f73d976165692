// Differential test of src/verifier/domain against the running kernel's verifier (needs root,
// bpf() and a built tools/kbpf). Not part of `npm test`. Usage:
//   npx tsx test/verifier/domain/kernel-diff.ts --kbpf /tmp/kbpf [--seed 1] [--n 200] [--len 30]
//                                              [--record test/verifier/domain/recorded/kernel-6.18.json]
// Prints every disagreement; with --record, saves programs and the kernel's logged states so that
// kernel-replay.test.ts can check the domain without a kernel. A recording keeps, per program, where
// the kernel printed which registers and a SHA-256 of what it printed (the texts themselves would be
// megabytes); on a mismatch, run this script against a kernel to see the readable differences.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  canonical,
  compare,
  encode,
  genProgram,
  parseLog,
  prng,
  shapeOf,
  shapeText,
  simulate,
} from './diff-programs.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const kbpf = opt('kbpf', '/tmp/domain-work/kbpf');
const seed0 = Number(opt('seed', '1'));
const n = Number(opt('n', '100'));
const len = Number(opt('len', '30'));
const record = opt('record', '');

const dir = mkdtempSync(join(tmpdir(), 'kdiff-'));
const recorded: { seed: number; shape: string; sha256: string }[] = [];
let bad = 0;
let rejected = 0;
for (let k = 0; k < n; k++) {
  const seed = seed0 + k;
  const prog = genProgram(prng(seed), len);
  const file = join(dir, 'p.bin');
  writeFileSync(file, encode(prog));
  let out: string;
  try {
    out = execFileSync(kbpf, ['--log', '2', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  if (!out.includes('verdict: accept')) {
    rejected++;
    const why = out
      .split('\n')
      .filter((l) => l && !/^\d+: /.test(l))
      .slice(-3)
      .join(' | ');
    console.log(`seed ${seed}: rejected: ${why}`);
    continue;
  }
  const log = out.slice(out.indexOf('--- log'));
  const observed = parseLog(log);
  const expected = simulate(prog);
  const diffs = compare(expected, observed);
  if (diffs.length) {
    bad++;
    console.log(`seed ${seed}: ${diffs.length} differences`);
    for (const d of diffs.slice(0, 6)) console.log(`  ${d}`);
  }
  const sha256 = createHash('sha256').update(canonical(observed, expected)).digest('hex');
  recorded.push({ seed, shape: shapeText(shapeOf(observed)), sha256 });
}
console.log(`${n} programs: ${n - bad - rejected} agree, ${bad} differ, ${rejected} rejected`);
if (record) {
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  writeFileSync(record, `${JSON.stringify({ kernel, len, programs: recorded })}\n`);
}
