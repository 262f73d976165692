// Replays recorded verdicts of the real kernel verifier (Linux 6.18, see recorded/*.json, made by
// kernel-diff.ts) against the domain: for each recorded random program, the register states the
// domain predicts at every place the kernel printed one must hash to what the kernel printed.
// The programs come from genProgram(seed), so that generator must not change without re-recording.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { canonical, genProgram, parseShape, project, prng, simulate } from './diff-programs.ts';

interface Recording {
  kernel: string;
  len: number;
  programs: { seed: number; shape: string; sha256: string }[];
}

const rec = JSON.parse(
  readFileSync(new URL('./recorded/kernel-6.18.json', import.meta.url), 'utf8'),
) as Recording;

test(`kernel replay: ${rec.programs.length} random programs agree with the ${rec.kernel} verifier log`, () => {
  assert.ok(rec.programs.length >= 100);
  const bad: number[] = [];
  for (const p of rec.programs) {
    const exp = simulate(genProgram(prng(p.seed), rec.len));
    const digest = createHash('sha256')
      .update(canonical(project(exp, parseShape(p.shape)), exp))
      .digest('hex');
    if (digest !== p.sha256) bad.push(p.seed);
  }
  assert.deepEqual(
    bad,
    [],
    `programs differ from the kernel; see: npx tsx test/verifier/domain/kernel-diff.ts --seed S --n 1 --len ${rec.len}`,
  );
});
