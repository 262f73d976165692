// test/verifier/btf-args/btf_args.bpf.o: ctx arguments typed by the attach point's BTF prototype
// (tp_btf, fentry/fexit/fmod_ret, lsm), bpf_get_current_task_btf(), bpf_d_path(),
// bpf_copy_from_user_task() and loads through map pointers, verified with the running kernel's BTF as libbpf loads them (CO-RE
// against vmlinux, attach points found in it). Rebuild the object with btf-args/build.sh.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Btf } from '../../src/btf/btf.ts';
import { parseBtf } from '../../src/btf/unmarshal.ts';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
import type { VerifyProgram } from '../../src/verifier/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { checkSourceExpectations } from './source-checked.ts';

const object = join(repoRoot, 'test/verifier/btf-args/btf_args.bpf.o');
const VMLINUX = '/sys/kernel/btf/vmlinux';

/** Program → the kernel's verdict: 'accept', or the first line of its refusal (kobj on 6.18). */
const KERNEL_CHECKED: Record<string, string> = {
  tp_ok: 'accept',
  tp_off4: "func 'sched_switch' offset 4 is not multiple of 8",
  tp_ptr_size4: "func 'sched_switch' size 4 must be 8",
  tp_no_arg5: "func 'sched_switch' doesn't have 5-th argument",
  tp_off_past_args: 'invalid bpf_context access off=96 size=8',
  tp_write_ctx: 'invalid bpf_context access off=24 size=8',
  tp_char_ptr: "R1 invalid mem access 'scalar'",
  tp_task_btf: 'accept',
  task_btf_write: 'only read is supported',
  task_btf_in_xdp: 'accept',
  d_path_ok: 'accept',
  d_path_null_file: 'R1 type=ptr_or_null_ expected=ptr_, trusted_ptr_, rcu_ptr_',
  d_path_wrong_type: 'R1 is of type file but path is expected',
  d_path_scalar: 'R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_',
  d_path_small_buf: 'invalid write to stack R2 off=-8 size=16',
  d_path_not_allowed: 'helper call is not allowed in probe',
  d_path_in_xdp: 'program of this type cannot use helper bpf_d_path#147',
  copy_task_ok: 'accept',
  copy_task_current: 'accept',
  copy_task_not_sleepable: 'helper call might sleep in a non-sleepable prog',
  copy_task_null_task: 'R4 type=trusted_ptr_or_null_ expected=ptr_, trusted_ptr_, rcu_ptr_',
  copy_task_wrong_type: 'R4 is of type file but task_struct is expected',
  copy_task_scalar: 'R4 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_',
  map_ptr_ok: 'accept',
  map_ptr_ringbuf: 'accept',
  map_ptr_write: 'only read from bpf_array is supported',
  map_ptr_negative: 'R1 is bpf_array invalid negative access: off=-8',
  map_ptr_beyond: 'R1 pointer arithmetic on map_ptr prohibited',
};

/**
 * fentry/fexit/fmod_ret/lsm programs. The kernel of this machine refuses to load these types
 * (EPERM before its verifier runs, even for `return 0`), so the expectations are read off
 * btf_ctx_access() (kernel/bpf/btf.c), whose messages the tp_btf programs above check against the
 * kernel: tname is the attach function (`bpf_lsm_<hook>` for lsm), arguments count from 1 in
 * "N-th argument"; fexit and lsm see the return value in the slot after the last argument,
 * fentry does not; vfs_read(file, buf, count, pos) has four 8-byte slots. Where the kernel does
 * verify them, the kernel test below compares them too.
 */
const SOURCE_CHECKED: Record<string, string> = {
  fentry_ok: 'accept',
  fentry_walk: 'accept',
  fentry_no_arg1: "func 'security_file_open' doesn't have 2-th argument",
  fentry_off4: "func 'security_file_open' offset 4 is not multiple of 8",
  fentry_ptr_size4: "func 'security_file_open' size 4 must be 8",
  fentry_write_ctx: 'invalid bpf_context access off=0 size=8',
  fentry_write_btf: 'only read is supported',
  fentry_beyond: 'access beyond struct file at off 100000 size 8',
  fentry_scalar_args: 'accept',
  fentry_deref_scalar: "R1 invalid mem access 'scalar'",
  fentry_no_ret: "func 'vfs_read' doesn't have 5-th argument",
  fexit_ret_ok: 'accept',
  fexit_past_ret: "func 'vfs_read' doesn't have 6-th argument",
  fmod_ret_ok: 'accept',
  lsm_ok: 'accept',
  task_btf_ok: 'accept',
};

const EXPECTED = { ...KERNEL_CHECKED, ...SOURCE_CHECKED };
const vmlinuxSkip = existsSync(VMLINUX) ? undefined : `${VMLINUX} is missing`;
let vmlinux: Btf | undefined;

function input(name: string, attachBtf: Btf | undefined): VerifyProgram {
  vmlinux ??= parseBtf(readFileSync(VMLINUX), { file: VMLINUX });
  const spec = loadCollectionSpec(readFileSync(object), { file: object });
  const linked = linkProgram(spec, name, { mapIndex: 'used', coreTarget: vmlinux });
  return {
    ...linkedVerifyProgram(spec, linked, { coreTarget: vmlinux }),
    ...(attachBtf ? { attachBtf } : {}),
  };
}
const tsbpf = (name: string) => verify(input(name, vmlinux), { logLevel: 1 });

test('every program of the object has an expectation', () => {
  const spec = loadCollectionSpec(readFileSync(object), { file: object });
  assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(EXPECTED).sort());
});

for (const [name, want] of Object.entries(EXPECTED)) {
  test(`tsbpf: ${name} ${want === 'accept' ? 'is accepted' : `is refused with "${want}"`}`, {
    skip: vmlinuxSkip,
  }, () => {
    const r = tsbpf(name);
    if (want === 'accept') assert.equal(r.verdict, 'accept', `${r.error?.message}\n${r.log.join('\n')}`);
    else assert.equal(r.error?.message, want);
  });
}

test('a pointer argument of fentry is a plain ptr_, of tp_btf and lsm a trusted one', {
  skip: vmlinuxSkip,
}, () => {
  // level 2 prints every state: the register a ctx load of arg 0 produced
  const typeOf = (name: string): string | undefined =>
    verify(input(name, vmlinux), { logLevel: 2 })
      .log.join('\n')
      .match(/R\d=(\w*ptr_\w+)\(/)?.[1];
  assert.equal(typeOf('fentry_ok'), 'ptr_file');
  assert.equal(typeOf('lsm_ok'), 'trusted_ptr_file');
  assert.equal(typeOf('tp_task_btf'), 'trusted_ptr_task_struct');
});

test('without a BTF that has the attach function, fentry arguments stay plain numbers', {
  skip: vmlinuxSkip,
}, () => {
  tsbpf('fentry_ok'); // parses vmlinux
  const r = verify({ ...input('fentry_ok', undefined), kernelBtf: undefined }, { logLevel: 1 });
  assert.equal(r.error?.message, "R1 invalid mem access 'scalar'");
});

const skip = vmlinuxSkip ?? prepareKobj();
test('kernel: the recorded verdicts and messages are what Linux says; processed counts within 2x', {
  skip,
}, () => {
  for (const [name, want] of Object.entries(KERNEL_CHECKED)) {
    const r = runKobj(['--prog', name, '--log', '1', object]);
    const p = r.programs[0]!;
    if (want !== 'accept') {
      assert.equal(closingMessage(logOf(r.stdout))[0], want, name);
      continue;
    }
    assert.equal(p.verdict, 'accept', name);
    const ours = tsbpf(name).insnsProcessed;
    const theirs = p.insnsProcessed!;
    assert.ok(ours <= 2 * theirs && theirs <= 2 * ours, `${name}: tsbpf ${ours}, kernel ${theirs}`);
  }
});

test('kernel: fentry/fexit/fmod_ret/lsm expectations, where this kernel verifies those types', {
  skip,
}, (t) => {
  const refused = checkSourceExpectations(object, SOURCE_CHECKED);
  if (refused) t.diagnostic(`${refused} programs not verified by this kernel (EPERM before the verifier)`);
});
