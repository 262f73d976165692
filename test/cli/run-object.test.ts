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

test('run awaits a sleepable program whose user memory arrives after --user-delay', async () => {
  const ctx = new Uint8Array(16);
  new DataView(ctx.buffer).setBigUint64(0, 0x7f0000001000n, true);
  new DataView(ctx.buffer).setUint32(8, 20, true);
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/tsbpf-sleep-');
  try {
    writeFileSync(`${dir}/ctx.bin`, ctx);
    const bytes = 'ab'.repeat(12) + 'cd'.repeat(8); // 12 × 0xab, 8 × 0xcd
    for (const engine of ['interp', 'jit']) {
      const r = await run([
        'run',
        'examples/sleepable/sleepable.bpf.o',
        '--ctx',
        `${dir}/ctx.bin`,
        '--user',
        `0x7f0000001000=${bytes}`,
        '--user-delay',
        '5',
        '--engine',
        engine,
        '--dump-maps',
        '--json',
      ]);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as {
        retval: number;
        sleeps: number;
        maps: { entries: { key: string; value: string }[] }[];
      };
      assert.equal(j.retval, 20);
      // two 16-byte copies, each waiting for the delayed memory (the second finds it mapped)
      assert.ok(j.sleeps >= 1, `sleeps ${j.sleeps}`);
      const nonzero = j.maps[0]!.entries.filter((e) => !/^0+$/.test(e.value));
      assert.deepEqual(
        nonzero.map((e) => [e.key, e.value]),
        [
          ['171', '0c00000000000000'],
          ['205', '0800000000000000'],
        ],
      );
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('run verifies kfunc calls with the ids the loader gave them (task kfuncs, bpf_obj_new)', async () => {
  // acquire the current task, compare its tgid with bpf_get_current_pid_tgid's, release: XDP_PASS
  const r = await run(['run', 'test/verifier/kptr/kptr.bpf.o', '--prog', 'kf_acquire_release_ok', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { retval: number; verified: boolean };
  assert.equal(j.verified, true);
  assert.equal(j.retval, 2);
  // a zeroed object of the program's own struct type, written and read back: XDP_PASS
  const o = await run(['run', 'test/verifier/kptr/obj_new.bpf.o', '--prog', 'obj_new_ok', '--json']);
  assert.equal(o.code, 0, o.err);
  assert.equal((JSON.parse(o.out) as { retval: number }).retval, 2);
});
