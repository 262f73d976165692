// `tsbpf run` on objects whose maps carry BTF-placed special fields: the verifier must be told
// where the bpf_timer sits (as BPF_PROG_LOAD learns it from BTF), or it refuses bpf_timer_init.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test('run verifies and runs a timer program (timer offset from BTF)', async () => {
  const r = await run(['run', 'examples/timer/timer.bpf.o', '--prog', 'timer_arm', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { retval: number; verified: boolean };
  assert.equal(j.verified, true);
  assert.equal(j.retval, 0); // arm_ticker(): bpf_timer_start's 0 on success
});
