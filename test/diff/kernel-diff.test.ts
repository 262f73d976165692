// Differential execution against the running kernel: seeded random programs the verifier
// accepts (socket_filter and xdp, with packets), run by BPF_PROG_TEST_RUN through kbpf and by
// tsbpf's testRun; retval and data_out must be identical. Programs the kernel rejects are
// replaced by new ones and counted. DIFF_N sets the count, DIFF_SEED replays a run.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TsbpfError } from '../../src/errors.ts';
import { disassemble } from '../../src/isa/disasm.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { verify } from '../../src/verifier/index.ts';
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

const problem = await oracleProblem();

test(`kernel differential: ${N} random accepted programs (seed ${SEED})`, {
  skip: problem ?? false,
}, async (t) => {
  const r = prng(SEED);
  const accepted: { p: GenProgram; k: KbpfResult }[] = [];
  const rejected: { p: GenProgram; k: KbpfResult }[] = [];
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
  t.diagnostic(`generated ${made}, kernel accepted ${accepted.length}, rejected ${rejected.length}`);
  for (const { p, k } of rejected.slice(0, 3))
    t.diagnostic(`rejected ${p.name}: ${k.errno ?? k.raw.split('\n')[0]}`);

  const features = new Set<string>();
  const mismatches: string[] = [];
  const verifierRefused: string[] = [];
  const retvals = new Set<number>();
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
    if (p.type === 'xdp' && k.dataOut !== Buffer.from(p.data).toString('hex')) packetsChanged++;
    if (ours.retval !== k.retval || ours.dataOut !== k.dataOut)
      mismatches.push(
        `${describe(p)}\nkernel retval ${k.retval} data ${k.dataOut}\ntsbpf  retval ${ours.retval} data ${ours.dataOut}`,
      );
  }
  // The CLI takes the same files and options as kbpf and must print the same results.
  for (const { p, k } of accepted.slice(0, 20)) {
    const { prog, data } = files(p);
    const res = await cli('run', '--type', p.type, '--data', data, prog, '--json');
    assert.equal(res.code, 0, res.err);
    const j = JSON.parse(res.out) as { retval: number; data_out: string };
    assert.deepEqual([j.retval, j.data_out], [k.retval, k.dataOut], `tsbpf run ${p.name}`);
  }
  t.diagnostic(`${retvals.size} distinct retvals; ${packetsChanged} xdp programs changed their packet`);
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
