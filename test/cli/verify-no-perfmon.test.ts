// tsbpf verify --no-perfmon: the verifier as a loader with CAP_BPF but without CAP_PERFMON.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { cli, scratch } from './helpers.ts';

const tmp = scratch('tsbpf-verify-no-perfmon-');
after(tmp.remove);

function write(name: string, text: string): string {
  const p = tmp.path(name);
  writeFileSync(p, text);
  return p;
}

test('--no-perfmon rejects a pointer leak root may make; --json keeps its shape', async () => {
  const s = write('leak.s', 'r0 = r10\nexit\n');
  const root = await cli('verify', s, '--log', '0');
  assert.equal(root.code, 0, root.err);
  const capped = await cli('verify', s, '--no-perfmon', '--json');
  assert.equal(capped.code, 1);
  const j = JSON.parse(capped.out) as {
    verdict: string;
    insns_processed: number;
    error: { message: string };
  };
  assert.equal(j.verdict, 'reject');
  assert.equal(j.insns_processed, 2);
  assert.equal(j.error.message, 'R0 leaks addr as return value');
  // --unprivileged (no CAP_BPF) has no CAP_PERFMON either
  const unpriv = await cli('verify', s, '--unprivileged', '--log', '0');
  assert.equal(unpriv.code, 1);
  assert.match(unpriv.err, /R0 leaks addr as return value/);
});

test('--no-perfmon --log 2 prints the speculative path of a branch with a known outcome', async () => {
  // r1 is 0, so the jump is always taken: only a mispredicting CPU runs insn 3, with r1 unknown
  const s = write('spec.s', 'r0 = 0\nr1 = 0\nif r1 == 0 goto +1\nr0 = 1\nexit\n');
  const root = await cli('verify', s, '--log', '2');
  assert.doesNotMatch(root.out, /speculative/);
  const capped = await cli('verify', s, '--no-perfmon', '--log', '2');
  assert.equal(capped.code, 0, capped.err);
  assert.match(capped.out, /^from 2 to 3 \(speculative execution\): R0=0 R1=scalar\(\) R10=fp0$/m);
  // root walks 0, 1, 2, 4; the speculative path adds 3 and 4
  assert.match(capped.out, /^processed 6 insns/m);
  assert.match(root.out, /^processed 4 insns/m);
});
