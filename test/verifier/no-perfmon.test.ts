// The case files (those without BTF) through the running kernel as a loader with CAP_BPF but
// without CAP_PERFMON and CAP_SYS_ADMIN (capsh --drop, as scripts/kernel-capbpf-diff.ts), and
// through tsbpf with `perfmon: false`: tsbpf must never accept what that kernel rejects, and
// agrees on the verdict of every case listed as agreeing below.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { encodeProgram } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import type { KbpfOutput } from '../oracles.ts';
import { prepareKbpf, runKbpfAsync, TempDir } from '../oracles.ts';
import { caseProgram, loadCases } from './cases.ts';

const DROP = '--drop=cap_sys_admin,cap_perfmon';

function skipReason(): string | false {
  const tool = prepareKbpf();
  if (tool.skip) return `bpf() unavailable: ${tool.skip}`;
  if (process.getuid?.() !== 0) return 'capsh --drop needs root';
  const capsh = spawnSync('capsh', [DROP, '--', '-c', 'exit 0']);
  if (capsh.error || capsh.status !== 0) return 'capsh (libcap2-bin) is missing or cannot drop capabilities';
  return false;
}

const skip = skipReason();

/** Runs `jobs` with at most `n` at a time (the machine has 2 cores). */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const k = next++;
      out[k] = await jobs[k]!();
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

test('case files without CAP_PERFMON: tsbpf --no-perfmon against the kernel under capsh', {
  skip,
}, async () => {
  const tool = prepareKbpf();
  const dir = new TempDir('tsbpf-noperfmon-');
  const cases = loadCases().filter((c) => !c.btf);
  const kernel: KbpfOutput[] = await pool(
    cases.map((c) => () => {
      const prog = dir.file(`${c.name}.bin`, encodeProgram(c.insns));
      const maps = c.maps.flatMap((m) => ['--map', m.split(':').slice(0, 4).join(':')]);
      const args = ['--type', c.progType, '--log', '1', ...maps, prog];
      return runKbpfAsync('capsh', [DROP, '--', '-c', 'exec "$0" "$@"', tool.path, ...args]);
    }),
    2,
  );
  dir.close();
  const unsound: string[] = [];
  const stricter: string[] = [];
  let sameVerdict = 0;
  let sameCount = 0;
  let rootDiffers = 0;
  cases.forEach((c, i) => {
    const k = kernel[i]!;
    assert.ok(k.verdict === 'accept' || k.verdict === 'reject', `${c.name}: kbpf under capsh: ${k.raw}`);
    const r = verify(caseProgram(c), { logLevel: 1, perfmon: false });
    if (r.verdict !== verify(caseProgram(c), { logLevel: 0 }).verdict) rootDiffers++;
    const kMsg = k.log.trim().split('\n').at(-2) ?? '';
    if (r.verdict === 'accept' && k.verdict === 'reject') unsound.push(`${c.name}: kernel: ${kMsg}`);
    else if (r.verdict === 'reject' && k.verdict === 'accept')
      stricter.push(`${c.name}: tsbpf: ${r.error?.message}`);
    else {
      sameVerdict++;
      // a load refused before verification (EPERM) has no processed count
      if (r.insnsProcessed === (k.insnsProcessed ?? 0)) sameCount++;
    }
  });
  const summary = `${cases.length} cases: ${sameVerdict} same verdict, ${sameCount} also the same processed count; tsbpf accepts/kernel rejects: ${unsound.length}, tsbpf rejects/kernel accepts: ${stricter.length}; ${rootDiffers} verdicts differ from tsbpf as root`;
  console.log(summary);
  for (const l of [...unsound, ...stricter]) console.log(`  ${l}`);
  assert.deepEqual(unsound, [], 'tsbpf accepts what the kernel without CAP_PERFMON rejects');
  assert.deepEqual(stricter, [], 'tsbpf rejects what the kernel without CAP_PERFMON accepts');
  // the mode changes something: the 23 verdicts scripts/kernel-capbpf-diff.ts measured
  assert.ok(rootDiffers >= 20, summary);
});
