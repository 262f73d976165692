// tsbpf verify --kernel: the static feature scan for a release, then the verifier under its limits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KERNEL_VERSIONS, kernelProfile } from '../../src/kernels/index.ts';
import { cli, root, scratch } from './helpers.ts';

const tmp = scratch('tsbpf-verify-kernel-');
after(tmp.remove);
const ex = (p: string): string => join(root, 'examples', p);

function write(name: string, text: string): string {
  const p = tmp.path(name);
  writeFileSync(p, text);
  return p;
}

interface KernelJson {
  version: string;
  verdict: 'ok' | 'blocked' | 'rejected';
  max_processed_insns: number;
  reasons: { text: string; from: 'scan' | 'verifier'; needs?: string; program?: string }[];
  programs: { name: string; verdict: string; insns_processed: number }[];
}

const kernelsOf = (out: string): KernelJson[] => (JSON.parse(out) as { kernels: KernelJson[] }).kernels;

/**
 * No back-edge, so every release's static scan passes, but 14 independent forks each add a distinct
 * power of two to r1, which is later a stack offset (so precise): no two paths' states are equal and
 * the verifier walks all 2^14 of them (about 10 processed insns per path): above 131,072, below 1M.
 */
function pathExplosion(forks: number): string {
  const lines = ['call 7', 'r6 = r0', 'r1 = 0', '*(u64 *)(r10 - 8) = r1'];
  for (let i = 0; i < forks; i++)
    lines.push('r7 = r6', `r7 &= ${1 << i}`, 'if r7 == 0 goto +1', `r1 += ${1 << i}`);
  lines.push('r1 &= 7', 'r2 = r10', 'r2 += -8', 'r2 += r1', 'r0 = *(u8 *)(r2 + 0)', 'exit');
  return `${lines.join('\n')}\n`;
}

/** The running kernel's processed-insn count for a raw socket filter (kbpf --log 1), when bpf() works here. */
async function kernelProcessed(src: string): Promise<number | undefined> {
  const kbpf = join(root, 'node_modules/.cache/kbpf');
  if (!existsSync(kbpf)) return undefined;
  const bin = `${src}.bin`;
  if ((await cli('asm', src, '-o', bin)).code !== 0) return undefined;
  const k = spawnSync(kbpf, ['--type', 'socket_filter', '--log', '1', bin], { encoding: 'utf8' });
  const m = /^processed (\d+) insns/m.exec(k.stdout ?? '');
  return m ? Number(m[1]) : undefined;
}

test('the profiles this test relies on: 128k processed insns before 5.2, 1M after; loops from 5.3', () => {
  assert.equal(kernelProfile('5.1').maxProcessedInsns, 131_072);
  assert.equal(kernelProfile('5.4').maxProcessedInsns, 1_000_000);
  assert.equal(kernelProfile('5.1').boundedLoops, false);
  assert.equal(kernelProfile('5.4').boundedLoops, true);
});

test('timer example: blocked on 5.10 (syscall programs, bpf_timer), loads on 6.18', async () => {
  const o = ex('timer/timer.bpf.o');
  const b = await cli('verify', o, '--kernel', '5.10');
  assert.equal(b.code, 1);
  assert.match(b.out, /^kernel 5\.10: blocked/);
  assert.match(b.out, /bpf_timer_init \(helper 169\).* needs 5\.15/);
  const errLines = b.err.trimEnd().split('\n');
  assert.equal(errLines.length, 1);
  assert.match(errLines[0]!, /^tsbpf verify: .*blocked on 5\.10: .*(syscall|bpf_timer)/);
  const ok = await cli('verify', o, '--kernel', '6.18');
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^kernel 6\.18: ok/);
  // every program ran through the verifier, which needs the bpf_timer offsets from BTF to accept them
  for (const name of ['timer_arm', 'timer_oneshot', 'timer_stop', 'timer_arm_xdp'])
    assert.match(ok.out, new RegExp(`program ${name}: accept`));
  const j = kernelsOf((await cli('verify', o, '--kernel', '5.10', '--json')).out);
  assert.equal(j.length, 1);
  assert.equal(j[0]!.verdict, 'blocked');
  assert.ok(j[0]!.reasons.length > 1, 'every blocking reason is listed, not just the first');
  assert.ok(j[0]!.reasons.some((r) => r.text.includes('syscall') || r.text.includes('bpf_timer')));
});

test('--prog narrows the scan to one program: bpf_loop helper named with its insn', async () => {
  const r = await cli(
    'verify',
    ex('bpf-loop/bpf_loop.bpf.o'),
    '--prog',
    'loop_histogram',
    '--kernel',
    '5.15',
  );
  assert.equal(r.code, 1);
  assert.match(r.err, /bpf_loop \(helper 181\) at insn \d+ of loop_histogram needs 5\.17/);
  assert.doesNotMatch(r.out, /loop_primes/);
});

test('isa-v4 is blocked before 6.6 naming cpu v4, ok from 6.6', async () => {
  const r = await cli('verify', ex('isa-v4/isa_v4.bpf.o'), '--kernel', 'all', '--json');
  assert.equal(r.code, 0, 'loads on the newest release');
  const ks = kernelsOf(r.out);
  assert.deepEqual(
    ks.map((k) => k.version),
    [...KERNEL_VERSIONS],
  );
  for (const k of ks) {
    const old = Number(k.version.split('.')[0]) * 100 + Number(k.version.split('.')[1]) < 606;
    assert.equal(k.verdict, old ? 'blocked' : 'ok', k.version);
    if (!old) continue;
    assert.match(k.reasons.find((x) => x.from === 'scan')!.text, /cpu v4/);
    // that release's verifier: an opcode its bpf_opcode_in_insntable() lacked, or a reserved field
    assert.match(
      k.reasons.find((x) => x.from === 'verifier')!.text,
      /^isa_v4: (unknown opcode [0-9a-f]{2}|BPF_(ALU|MOV) uses reserved fields) \(insn \d+\)$/,
    );
  }
  const one = await cli('verify', ex('isa-v4/isa_v4.bpf.o'), '--kernel', '6.1');
  assert.equal(one.code, 1);
  assert.match(one.err, /cpu v4 .* needs 6\.6/);
});

test('--kernel all --json: xdp_parse loads everywhere; the text table has one row per release', async () => {
  const r = await cli('verify', ex('xdp-parse/xdp_parse.bpf.o'), '--kernel', 'all', '--json');
  assert.equal(r.code, 0);
  const ks = kernelsOf(r.out);
  assert.equal(ks.length, KERNEL_VERSIONS.length);
  for (const k of ks) {
    assert.equal(k.verdict, 'ok', k.version);
    assert.equal(k.programs[0]!.verdict, 'accept');
    assert.equal(k.max_processed_insns, kernelProfile(k.version).maxProcessedInsns);
  }
  const t = await cli('verify', ex('xdp-parse/xdp_parse.bpf.o'), '--kernel', 'all');
  for (const v of KERNEL_VERSIONS) assert.match(t.out, new RegExp(`^${v.replace('.', '\\.')} +ok$`, 'm'));
});

test('a long bounded loop: blocked on 5.1 (no bounded loops), accepted on 5.4', async () => {
  // 100,000 iterations of two insns: about 200,000 processed, between the 128k and 1M limits.
  const s = write('loop.s', 'r1 = 0\nl:\nr1 += 1\nif r1 < 100000 goto l\nr0 = 0\nexit\n');
  const old = await cli('verify', s, '--kernel', '5.1', '--log', '0');
  assert.equal(old.code, 1);
  assert.match(old.err, /blocked on 5\.1: bounded loop .* needs 5\.3/);
  const j = kernelsOf((await cli('verify', s, '--kernel', '5.4', '--json', '--log', '0')).out)[0]!;
  assert.equal(j.verdict, 'ok');
  const n = j.programs[0]!.insns_processed;
  assert.ok(n > 131_072 && n < 1_000_000, `processed ${n}`);
  const k = await kernelProcessed(s);
  if (k !== undefined) assert.equal(n, k, 'the running kernel counts the same');
});

test("the release's processed-insn limit: too large for 5.1, accepted on 5.4", async () => {
  const s = write('explode.s', pathExplosion(14));
  const old = await cli('verify', s, '--kernel', '5.1', '--log', '0');
  assert.equal(old.code, 1);
  assert.match(old.out, /^kernel 5\.1: rejected/);
  assert.match(old.err, /rejected on 5\.1: .*BPF program is too large\. Processed 131073 insn/);
  const j = kernelsOf((await cli('verify', s, '--kernel', '5.4', '--json', '--log', '0')).out)[0]!;
  assert.equal(j.verdict, 'ok');
  assert.ok(j.programs[0]!.insns_processed > 131_072);
  const k = await kernelProcessed(s);
  if (k !== undefined) assert.equal(j.programs[0]!.insns_processed, k, 'the running kernel counts the same');
});

test('bad versions and conflicting options are usage errors (exit 2, one line)', async () => {
  const o = ex('xdp-parse/xdp_parse.bpf.o');
  for (const bad of ['5', 'five', '', '2.6', '5.x']) {
    const r = await cli('verify', o, '--kernel', bad);
    assert.equal(r.code, 2, `--kernel ${JSON.stringify(bad)}`);
    assert.equal(r.err.trimEnd().split('\n').length, 1);
    assert.match(r.err, /--kernel/);
  }
  const both = await cli('verify', o, '--kernel', '5.10', '--limit', '100');
  assert.equal(both.code, 2);
});

test('--unprivileged keeps its meaning under --kernel: BPF_MAXINSNS for every release', async () => {
  // 5,001 insns: fine for root from 5.2 (1M), too long without CAP_BPF on any release (4,096).
  const s = write('long.s', `${'r0 = 0\n'.repeat(5000)}exit\n`);
  const priv = await cli('verify', s, '--kernel', '5.4', '--log', '0');
  assert.equal(priv.code, 0, priv.err);
  const unpriv = await cli('verify', s, '--kernel', '5.4', '--unprivileged', '--log', '0');
  assert.equal(unpriv.code, 1);
  assert.match(unpriv.err, /rejected on 5\.4: program of 5001 insns is too large for an unprivileged load/);
  const old = await cli('verify', s, '--kernel', '4.19', '--log', '0');
  assert.equal(old.code, 1);
  assert.match(old.err, /blocked on 4\.19: .*4,096-insn limit/);
});

test('plain verify of a bpf_timer program: the map value BTF places the timer, so it is accepted', async () => {
  const r = await cli('verify', ex('timer/timer.bpf.o'), '--prog', 'timer_arm', '--log', '0');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^verdict: accept/);
});
