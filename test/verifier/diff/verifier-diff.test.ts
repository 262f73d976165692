// Differential test of tsbpf's verifier against the kernel's on 5,000 generated programs (seed
// 1): the kernel's verdicts come live from bpf() through kbatch, or are replayed from
// diff-corpus/kernel-verdicts.json. No crash of verify(), no unsoundness beyond the recorded
// baseline (which may only shrink), and no memory fault when accepted programs run checked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { KNOWN_UNSOUND_FILE, runDiff } from './run.ts';

const SEED = 1;
const N = 5000;

interface KnownUnsound {
  hash: string;
  id: string;
  kernel: string;
}

test('tsbpf verifier vs kernel verifier on generated programs', async () => {
  const known = JSON.parse(readFileSync(KNOWN_UNSOUND_FILE, 'utf8')) as KnownUnsound[];
  const run = await runDiff({ seed: SEED, n: N, kernel: 'auto', soundnessSample: 800 });
  const s = run.summary;
  const judged = N - s.unknown;
  const c = s.counts;
  console.log(
    `verifier diff: kernel verdicts ${s.source === 'replay' ? 'replayed from diff-corpus/kernel-verdicts.json (no bpf())' : `from bpf() (${s.source})`}` +
      (s.unknown ? `; ${s.unknown} programs without a recorded verdict skipped` : ''),
  );
  console.log(
    `verifier agreement: ${c['agree-accept'] + c['agree-reject']}/${judged} (${(100 * s.agreement).toFixed(2)}%), unsound: ${c.unsound}, overstrict: ${c.overstrict}, crashes: ${c.crash}; same rejection message ${s.sameMessage}/${c['agree-reject']}; checked runs ${s.soundness.ran} (faults ${s.soundness.faults})`,
  );
  for (const t of s.top.slice(0, 8)) console.log(`  ${t.count} × ${t.key} (e.g. ${t.example})`);
  for (const t of s.messageMismatches.slice(0, 4))
    console.log(`  message differs ${t.count} × ${t.key} (e.g. ${t.example})`);
  // a replay must cover the program set, or the recording is stale (regenerate it)
  assert.ok(judged >= N * 0.95, `only ${judged} of ${N} programs have a kernel verdict`);
  assert.ok(
    s.kernelRejects > judged * 0.25 && s.kernelRejects < judged * 0.85,
    'a mix of accepts and rejects',
  );
  const crashes = run.disagreements.filter((d) => d.result.outcome === 'crash');
  assert.deepEqual(
    crashes.map((d) => `${d.case.id}: ${d.result.tsbpf}`),
    [],
    'verify() threw instead of answering',
  );
  const knownHashes = new Set(known.map((k) => k.hash));
  const fresh = run.disagreements.filter(
    (d) => d.result.outcome === 'unsound' && !knownHashes.has(d.case.hash),
  );
  assert.deepEqual(
    fresh.map((d) => `${d.case.id} [${d.case.family}] kernel: ${d.kernel.msg.at(-1)}\n${d.case.asm}`),
    [],
    'tsbpf accepts programs the kernel rejects (new unsoundness)',
  );
  const stillUnsound = new Set(
    run.disagreements.filter((d) => d.result.outcome === 'unsound').map((d) => d.case.hash),
  );
  const fixed = known.filter((k) => !stillUnsound.has(k.hash));
  if (fixed.length)
    console.log(
      `  ${fixed.length} known-unsound entries now agree: drop them from diff-corpus/known-unsound.json`,
    );
  assert.deepEqual(
    run.faults.map((f) => `${f.case.id}: ${JSON.stringify(f.outcome)}\n${f.case.asm}`),
    [],
    'an accepted program faulted in checked mode',
  );
  assert.ok(s.soundness.ran >= 500, `only ${s.soundness.ran} accepted programs ran checked`);
});
