// test/verifier/features/features.bpf.o, one program per rule of the verifier features the
// examples need: tsbpf's verdict and message equal the ones recorded here, and the running
// kernel (through kobj, libbpf) still gives them. Rebuild the object with features/build.sh.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { loadExampleProgram } from './objects.ts';

const object = join(repoRoot, 'test/verifier/features/features.bpf.o');

/** Program → the kernel's verdict: 'accept', or the first line of its refusal. */
const EXPECTED: Record<string, string> = {
  mim_ok: 'accept',
  mim_no_null_check: 'R1 type=map_value_or_null expected=map_ptr',
  mim_update_outer: 'cannot pass map_type 12 into func bpf_map_update_elem#2',
  lock_ok: 'accept',
  lock_twice: 'function calls are not allowed while holding a lock',
  lock_call_inside: 'function calls are not allowed while holding a lock',
  unlock_without_lock: 'bpf_spin_unlock without taking a lock',
  unlock_other_lock: 'bpf_spin_unlock of different lock',
  lock_wrong_offset: "off 4 doesn't point to 'struct bpf_spin_lock' that is at 0",
  iter_elem_ok: 'accept',
  iter_key_no_null_check: "R1 invalid mem access 'rdonly_buf_or_null'",
  iter_write_key: 'R1 cannot write into rdonly_buf',
  iter_task_ok: 'accept',
  iter_task_no_null_check: "R1 invalid mem access 'trusted_ptr_or_null_'",
  iter_task_write: 'only read is supported',
  seq_write_in_xdp: 'program of this type cannot use helper bpf_seq_write#127',
  iter_seq_write_null_seq: 'R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_',
  glob_ok: 'accept',
  glob_callee_no_null_check: "R1 invalid mem access 'mem_or_null'",
  glob_ret_unknown: 'accept',
  glob_small_buf: 'invalid read from stack R1 off=-4 size=8',
  glob_ctx_expected: 'arg#0 expects pointer to ctx',
  glob_scalar_expected: 'R1 is not a scalar',
  glob_void_ptr_arg: "arg#0 reference type('UNKNOWN ') size cannot be determined: -22",
  glob_null_arg: 'accept',
  glob_in_lock: 'global function calls are not allowed while holding a lock,',
  glob_pkt_stale: "R6 invalid mem access 'scalar'",
};

test('every program of the object has an expectation', () => {
  const spec = loadCollectionSpec(readFileSync(object), { file: object });
  assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(EXPECTED).sort());
});

for (const [name, want] of Object.entries(EXPECTED)) {
  test(`tsbpf: ${name} ${want === 'accept' ? 'is accepted' : `is refused with "${want}"`}`, () => {
    const r = verify(loadExampleProgram(object, name).input, { logLevel: 1 });
    if (want === 'accept') assert.equal(r.verdict, 'accept', `${r.error?.message}\n${r.log.join('\n')}`);
    else assert.equal(r.error?.message, want);
  });
}

const skip = prepareKobj();
test('kernel: the recorded verdicts and messages are what Linux says', { skip }, () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    const r = runKobj(['--prog', name, '--log', '1', object]);
    const p = r.programs[0]!;
    if (want === 'accept') assert.equal(p.verdict, 'accept', name);
    else assert.equal(closingMessage(logOf(r.stdout))[0], want, name);
  }
});
