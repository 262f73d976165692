// Differential fuzzing of tsbpf's verifier against the running kernel's:
//   npm run fuzz:verifier -- --n 100000 --seed 7 [--out DIR] [--heavy] [--sound N]
//   npm run fuzz:verifier -- --record   (re-record test/verifier/diff-corpus for the CI test)
// Progress goes to stderr, the summary JSON to stdout; every disagreement and checked-mode
// fault becomes a reproducer in DIR (default fuzz-verifier-out/): NAME.s (program text),
// NAME.txt (type, maps, kernel message, tsbpf message).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeProgram } from '../src/isa/index.ts';
import type { GenCase } from '../test/verifier/diff/gen/index.ts';
import {
  KNOWN_UNSOUND_FILE,
  type RecordedVerdict,
  runDiff,
  toRecorded,
  VERDICTS_FILE,
} from '../test/verifier/diff/run.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'fuzz-verifier-out' },
    heavy: { type: 'boolean', default: false },
    sound: { type: 'string', default: '2000' },
    record: { type: 'boolean', default: false },
  },
});

const record = values.record;
const seed = record ? 1 : Number(values.seed);
const n = record ? 5000 : Number(values.n);
const t0 = Date.now();
const run = await runDiff({
  seed,
  n,
  heavy: values.heavy,
  kernel: 'live',
  soundnessSample: Number(values.sound),
  onProgress: (done, total) =>
    process.stderr.write(`\r${done}/${total} programs, ${((Date.now() - t0) / 1000).toFixed(0)} s`),
});
process.stderr.write('\n');

if (record) {
  const verdicts: Record<string, RecordedVerdict> = {};
  for (const c of run.cases) verdicts[c.hash] = toRecorded(run.verdicts.get(c.hash)!);
  writeFileSync(VERDICTS_FILE, `${JSON.stringify(verdicts)}\n`);
  const unsound = run.disagreements
    .filter((d) => d.result.outcome === 'unsound')
    .map((d) => ({ hash: d.case.hash, id: d.case.id, kernel: d.kernel.msg.at(-1) ?? '' }));
  writeFileSync(KNOWN_UNSOUND_FILE, `${JSON.stringify(unsound, null, 2)}\n`);
  process.stderr.write(
    `recorded ${Object.keys(verdicts).length} kernel verdicts, ${unsound.length} known unsound\n`,
  );
}

mkdirSync(values.out, { recursive: true });
const header = (c: GenCase): string =>
  `; ${c.id} family=${c.family} tags=${c.tags.join(',')}\n; type=${c.type} maps=${c.maps.join(' ') || '-'}\n; hex=${Buffer.from(encodeProgram(c.insns)).toString('hex')}\n`;
for (const d of run.disagreements) {
  const name = `${d.result.outcome}-${d.case.family}-${d.case.id.replace(':', '-')}`;
  writeFileSync(join(values.out, `${name}.s`), `${header(d.case)}${d.case.asm}`);
  writeFileSync(
    join(values.out, `${name}.txt`),
    `outcome: ${d.result.outcome}\nkernel: ${d.kernel.verdict} (errno ${d.kernel.errno}, ${d.kernel.processed} insns)\n` +
      `kernel message:\n${d.kernel.msg.map((l) => `  ${l}`).join('\n')}\ntsbpf: ${d.result.tsbpf || 'accept'}\n`,
  );
}
for (const f of run.faults) {
  const name = `fault-${f.case.family}-${f.case.id.replace(':', '-')}`;
  writeFileSync(join(values.out, `${name}.s`), `${header(f.case)}${f.case.asm}`);
  writeFileSync(join(values.out, `${name}.txt`), `${JSON.stringify(f.outcome, null, 2)}\n`);
}
const distinct = new Set(run.cases.map((c) => c.hash)).size;
console.log(
  JSON.stringify({ ...run.summary, distinct, seconds: (Date.now() - t0) / 1000, out: values.out }, null, 2),
);
