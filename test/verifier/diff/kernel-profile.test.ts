// `verify(..., { kernel: '6.18' })`, the profile of the running kernel, against that kernel: on every
// program of the differential corpus (seed 1, the 5,000 of verifier-diff.test.ts) and every case
// file, the profile's verdict must be the kernel's. Kernel verdicts come live from bpf() (kbatch)
// for programs the recording lacks, else from diff-corpus/kernel-verdicts.json, which kbatch wrote.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelProfile } from '../../../src/kernels/index.ts';
import { verify } from '../../../src/verifier/index.ts';
import { caseProgram, loadCases, mapInfo } from '../cases.ts';
import { generate } from './gen/index.ts';
import { buildKbatch, type KernelVerdict, kernelVerdicts } from './kernel.ts';
import { fromRecorded, loadRecorded } from './run.ts';

const SEED = 1;
const N = 5000;
const profile = kernelProfile('6.18');

test('the 6.18 profile gives the kernel verdict on every differential-corpus program', async () => {
  const cases = Array.from({ length: N }, (_, i) => generate(SEED, i));
  const recorded = loadRecorded();
  const verdicts = new Map<string, KernelVerdict>();
  for (const c of cases) if (recorded[c.hash]) verdicts.set(c.hash, fromRecorded(recorded[c.hash]!));
  const missing = cases.filter((c) => !verdicts.has(c.hash));
  const bin = missing.length > 0 ? buildKbatch() : undefined;
  if (bin) {
    const live = await kernelVerdicts(bin, missing);
    for (let i = 0; i < missing.length; i++) verdicts.set(missing[i]!.hash, live[i]!);
  }
  const judged = cases.filter((c) => verdicts.has(c.hash));
  // a stale recording without bpf() would judge nothing: that must fail, not pass vacuously
  assert.ok(judged.length >= N * 0.95, `only ${judged.length} of ${N} programs have a kernel verdict`);
  const differ: string[] = [];
  let rejects = 0;
  let sameMessage = 0;
  for (const c of judged) {
    const k = verdicts.get(c.hash)!;
    const r = verify(
      { insns: c.insns, progType: c.type, maps: c.maps.map(mapInfo) },
      { logLevel: 0, kernel: profile },
    );
    if (r.verdict !== k.verdict)
      differ.push(
        `${c.id}: kernel ${k.verdict} (${k.msg.at(-1) ?? ''}), 6.18 profile ${r.verdict} (${r.error?.message ?? ''})`,
      );
    if (k.verdict === 'reject') {
      rejects++;
      if (r.error && k.msg.some((l) => l.startsWith(r.error!.message))) sameMessage++;
    }
  }
  console.log(
    `6.18 profile vs kernel: ${judged.length - differ.length}/${judged.length} same verdict; same message on ${sameMessage}/${rejects} rejections`,
  );
  assert.ok(rejects > judged.length * 0.25, 'the corpus mixes accepts and rejects');
  assert.deepEqual(differ, []);
});

test('the 6.18 profile gives every case file its kernel-checked expectation', () => {
  // kernel-diff.test.ts loads each case into the running kernel and holds it to `-- expect`
  for (const c of loadCases()) {
    const r = verify(caseProgram(c), { kernel: '6.18' });
    assert.equal(r.verdict, c.expect, `${c.name}: ${r.error?.message ?? 'accepted'}`);
  }
});
