// Differential execution against the running kernel: seeded random programs the verifier
// accepts (socket_filter, sched_cls and xdp, with packets), run by BPF_PROG_TEST_RUN through kbpf and by
// tsbpf's testRun (interpreter and JIT); retval and data_out must be identical. Programs the kernel rejects are
// replaced by new ones and counted. DIFF_N sets the count, DIFF_SEED replays a run.
// Without bpf() (not root, no gcc) the kernel's answers for the default seed come from
// recorded/kernel-diff.json instead (DIFF_REPLAY=1 forces that); DIFF_RECORD=1 on a machine
// with bpf() rewrites it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TsbpfError } from '../../src/errors.ts';
import { disassemble } from '../../src/isa/disasm.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { verify } from '../../src/verifier/index.ts';
import { JitEngine } from '../../src/jit/engine.ts';
import { cli, prng, scratch } from '../cli/helpers.ts';
import { type GenProgram, generateProgram } from './gen.ts';
import { type KbpfResult, kbpfProblem, pool, runKbpf } from './kbpf.ts';

const N = Number(process.env.DIFF_N ?? 220);
const SEED = Number(process.env.DIFF_SEED ?? 20261126);
const tmp = scratch('tsbpf-diff-');
after(tmp.remove);

/** bpf() needs root; probe with the smallest program. */
async function oracleProblem(): Promise<string | undefined> {
  const p = kbpfProblem();
  if (p) return p;
  const f = tmp.path('probe.bin');
  writeFileSync(f, Buffer.from('b7000000010000009500000000000000', 'hex'));
  const r = await runKbpf(['--run', f]);
  if (r.verdict !== 'accept' || r.retval !== 1)
    return `bpf() unavailable: ${r.raw.split('\n').slice(0, 2).join(' ')}`;
  return undefined;
}

const files = (p: GenProgram): { prog: string; data: string } => ({
  prog: tmp.path(`${p.name}.bin`),
  data: tmp.path(`${p.name}.data`),
});

async function kernel(p: GenProgram): Promise<KbpfResult> {
  const { prog, data } = files(p);
  writeFileSync(prog, encodeProgram(p.insns));
  writeFileSync(data, p.data);
  return runKbpf(['--type', p.type, '--run', '--data', data, prog]);
}

function describe(p: GenProgram): string {
  return [
    `${p.name} (${p.type}), data ${Buffer.from(p.data).toString('hex')}`,
    disassemble(p.insns, { slotNumbers: true, labels: true }),
  ].join('\n');
}

const RECORDED = new URL('recorded/kernel-diff.json', import.meta.url).pathname;
const DEFAULTS = N === 220 && SEED === 20261126;

/** One kernel answer, tied to the exact program and packet it was for. */
interface Recorded {
  name: string;
  sha1: string;
  verdict: KbpfResult['verdict'];
  retval?: number;
  dataOut?: string;
  runError?: string;
}

const sha1 = (p: GenProgram): string =>
  createHash('sha1').update(encodeProgram(p.insns)).update(p.data).update(p.type).digest('hex');

/** Generated programs with the kernel's answers: live through kbpf, or replayed. */
async function kernelAnswers(
  live: boolean,
): Promise<{ accepted: { p: GenProgram; k: KbpfResult }[]; rejected: { p: GenProgram; k: KbpfResult }[] }> {
  const r = prng(SEED);
  const accepted: { p: GenProgram; k: KbpfResult }[] = [];
  const rejected: { p: GenProgram; k: KbpfResult }[] = [];
  if (!live) {
    const rec = JSON.parse(readFileSync(RECORDED, 'utf8')) as { seed: number; programs: Recorded[] };
    for (const x of rec.programs) {
      const p = generateProgram(r, x.name);
      assert.equal(
        sha1(p),
        x.sha1,
        `${x.name} is not the recorded program: the generator changed; re-record with DIFF_RECORD=1 where bpf() works`,
      );
      const k: KbpfResult = {
        verdict: x.verdict,
        raw: 'recorded',
        retval: x.retval,
        dataOut: x.dataOut,
        runError: x.runError,
      };
      (x.verdict === 'accept' ? accepted : rejected).push({ p, k });
    }
    return { accepted, rejected };
  }
  let made = 0;
  while (accepted.length < N) {
    const batch = Array.from({ length: N - accepted.length + 8 }, () => generateProgram(r, `prog${made++}`));
    const results = await pool(batch, 4, kernel);
    batch.forEach((p, i) => {
      const k = results[i]!;
      if (k.verdict === 'accept') accepted.push({ p, k });
      else rejected.push({ p, k });
    });
    assert.ok(made < N * 4, `the kernel rejects too many generated programs (${rejected.length} of ${made})`);
  }
  if (process.env.DIFF_RECORD && DEFAULTS) {
    const all = [...accepted, ...rejected].sort(
      (a, b) => Number(a.p.name.slice(4)) - Number(b.p.name.slice(4)),
    );
    const programs: Recorded[] = all.map(({ p, k }) => ({
      name: p.name,
      sha1: sha1(p),
      verdict: k.verdict,
      ...(k.retval !== undefined ? { retval: k.retval } : {}),
      ...(k.dataOut !== undefined ? { dataOut: k.dataOut } : {}),
      ...(k.runError !== undefined ? { runError: k.runError } : {}),
    }));
    writeFileSync(
      RECORDED,
      `${JSON.stringify({ seed: SEED, kernel: 'Linux 6.18 (kbpf)', programs }, null, 1)}\n`,
    );
  }
  return { accepted, rejected };
}

const problem = process.env.DIFF_REPLAY ? 'DIFF_REPLAY is set' : await oracleProblem();
const replay = problem !== undefined && DEFAULTS && existsSync(RECORDED);

test(`kernel differential: ${N} random accepted programs (seed ${SEED})`, {
  skip: problem !== undefined && !replay ? `${problem}, and no recording for these settings` : false,
}, async (t) => {
  if (replay) t.diagnostic(`replaying recorded kernel results (${problem})`);
  const { accepted, rejected } = await kernelAnswers(!replay);
  const made = accepted.length + rejected.length;
  t.diagnostic(`generated ${made}, kernel accepted ${accepted.length}, rejected ${rejected.length}`);
  for (const { p, k } of rejected.slice(0, 3))
    t.diagnostic(`rejected ${p.name}: ${k.errno ?? k.raw.split('\n')[0]}`);

  const features = new Set<string>();
  const mismatches: string[] = [];
  const verifierRefused: string[] = [];
  const retvals = new Set<number>();
  const jit = new JitEngine();
  let packetsChanged = 0;
  for (const { p, k } of accepted.slice(0, N)) {
    for (const f of p.features) features.add(f);
    // tsbpf's verifier must accept what the kernel's accepted.
    const v = verify({ insns: p.insns, progType: p.type }, { logLevel: 0 });
    if (v.verdict !== 'accept')
      verifierRefused.push(`${p.name}: insn ${v.error?.insnIdx}: ${v.error?.message}`);
    let ours: { retval: number; dataOut: string } | { error: string };
    try {
      const res = testRun(p.insns, { type: p.type, data: p.data, name: p.name });
      ours = { retval: res.retval, dataOut: Buffer.from(res.dataOut).toString('hex') };
    } catch (e) {
      ours = { error: e instanceof TsbpfError ? e.format() : String(e) };
    }
    if (k.runError !== undefined || 'error' in ours) {
      if (!(k.runError !== undefined && 'error' in ours))
        mismatches.push(
          `${describe(p)}\nkernel: ${k.runError ?? 'ran'}; tsbpf: ${'error' in ours ? ours.error : 'ran'}`,
        );
      continue;
    }
    retvals.add(k.retval ?? -1);
    if (p.type !== 'socket_filter' && k.dataOut !== Buffer.from(p.data).toString('hex')) packetsChanged++;
    if (ours.retval !== k.retval || ours.dataOut !== k.dataOut)
      mismatches.push(
        `${describe(p)}\nkernel retval ${k.retval} data ${k.dataOut}\ntsbpf  retval ${ours.retval} data ${ours.dataOut}`,
      );
    // The WebAssembly JIT must give the kernel's answer too.
    try {
      const res = testRun(p.insns, {
        type: p.type,
        data: p.data,
        name: p.name,
        vmOptions: { engine: jit.run },
      });
      const dataOut = Buffer.from(res.dataOut).toString('hex');
      if (res.retval !== k.retval || dataOut !== k.dataOut)
        mismatches.push(
          `${describe(p)}\nkernel retval ${k.retval} data ${k.dataOut}\njit    retval ${res.retval} data ${dataOut}`,
        );
    } catch (e) {
      mismatches.push(`${describe(p)}\njit: ${e instanceof TsbpfError ? e.format() : String(e)}`);
    }
  }
  // The CLI takes the same files and options as kbpf and must print the same results.
  for (const { p, k } of accepted.slice(0, 20)) {
    const { prog, data } = files(p);
    writeFileSync(prog, encodeProgram(p.insns));
    writeFileSync(data, p.data);
    const res = await cli('run', '--type', p.type, '--data', data, prog, '--json');
    assert.equal(res.code, 0, res.err);
    const j = JSON.parse(res.out) as { retval: number; data_out: string };
    assert.deepEqual([j.retval, j.data_out], [k.retval, k.dataOut], `tsbpf run ${p.name}`);
  }
  t.diagnostic(
    `${retvals.size} distinct retvals; ${packetsChanged} xdp/sched_cls programs changed their packet`,
  );
  t.diagnostic(`features covered: ${[...features].sort().join(' ')}`);
  if (mismatches.length) writeFileSync(join(tmp.dir, 'mismatches.txt'), mismatches.join('\n\n'));
  assert.equal(mismatches.length, 0, `${mismatches.length} of ${N} differ; first:\n${mismatches[0]}`);
  assert.deepEqual(verifierRefused, [], 'tsbpf verifier refused programs the kernel accepted');
  // The generator must reach what it promises, or the comparison proves little: varied results,
  // packets written, and every feature family.
  assert.ok(retvals.size > N / 4, `only ${retvals.size} distinct retvals`);
  assert.ok(packetsChanged >= N / 20, `only ${packetsChanged} programs changed their packet`);
  for (const f of [
    'xdp',
    'socket_filter',
    'sched_cls',
    'skb-cb-write',
    'sdiv64',
    'smod32',
    'movsx',
    'bswap',
    'ld_abs',
    'ld_ind',
    'pkt-stx',
    'call',
    'loop',
    'gotol',
  ])
    assert.ok(features.has(f), `no program exercised ${f}`);
});
