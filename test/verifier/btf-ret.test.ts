// test/verifier/btf-ret/btf_ret.bpf.o: the return values BTF-attached programs may have and the
// ctx writes lsm programs may make, verified with the running kernel's BTF as libbpf loads them.
// fentry/fexit/fmod_ret/lsm: this machine's kernel refuses to load those types (EPERM before its
// verifier runs), so their expectations are read off Linux 6.18's source: check_return_code()
// (kernel/bpf/verifier.c: fentry/fexit [0, 0], BPF_TRACE_ITER [0, 1], BPF_TRACE_RAW_TP and
// BPF_MODIFY_RETURN unchecked, lsm by get_func_retval_range() compared in 32 bits,
// verbose_invalid_scalar()'s message), bpf_lsm_get_retval_range() and bool_lsm_hooks
// (kernel/bpf/bpf_lsm.c), and btf_ctx_access() (kernel/bpf/btf.c: never looks at the access
// type; lsm_verifier_ops uses it alone, so lsm ctx writes pass where reads do). tp_btf and
// iter programs load here: the kernel test compares them with Linux.
// Rebuild the object with btf-ret/build.sh.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Btf } from '../../src/btf/btf.ts';
import { parseBtf } from '../../src/btf/unmarshal.ts';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
import { verify } from '../../src/verifier/index.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { checkSourceExpectations } from './source-checked.ts';

const object = join(repoRoot, 'test/verifier/btf-ret/btf_ret.bpf.o');
const VMLINUX = '/sys/kernel/btf/vmlinux';
const exit = (range: string, bounds: string) =>
  `At program exit the register R0 has ${bounds} should have been in [${range}]`;

/** Program → the kernel's verdict on this machine (kobj on 6.18). */
const KERNEL_CHECKED: Record<string, string> = {
  tp_btf_ret7: 'accept',
  iter_ret1: 'accept',
  iter_ret2: exit('0, 1', 'smin=2 smax=2'),
  tp_btf_write: 'invalid bpf_context access off=24 size=8',
};

/** Program → the verdict read off the 6.18 source (this kernel refuses the types with EPERM). */
const SOURCE_CHECKED: Record<string, string> = {
  fentry_ret0: 'accept',
  fentry_ret1: exit('0, 0', 'smin=1 smax=1'),
  fexit_ret_bit: exit('0, 0', 'smin=0 smax=1'),
  fmod_ret_errno: 'accept',
  lsm_eperm: 'accept',
  lsm_max_errno: 'accept',
  lsm_below_errno: exit('-4095, 0', 'smin=4294963200 smax=4294963200'),
  lsm_below_errno64: exit('-4095, 0', 'smin=-4096 smax=-4096'),
  lsm_positive: exit('-4095, 0', 'smin=1 smax=1'),
  lsm_upper_bits: 'accept',
  lsm_prev_ret: 'accept',
  lsm_bool_1: 'accept',
  lsm_bool_2: exit('0, 1', 'smin=2 smax=2'),
  lsm_void_any: 'accept',
  lsm_write_scalar: 'accept',
  lsm_write_scalar4: 'accept',
  lsm_write_ptr: 'accept',
  lsm_write_ret: 'accept',
  lsm_write_off4: "func 'bpf_lsm_file_open' offset 4 is not multiple of 8",
  lsm_write_ptr_size4: "func 'bpf_lsm_file_open' size 4 must be 8",
  lsm_write_past: "func 'bpf_lsm_file_open' doesn't have 3-th argument",
};

const EXPECTED = { ...KERNEL_CHECKED, ...SOURCE_CHECKED };
const vmlinuxSkip = existsSync(VMLINUX) ? undefined : `${VMLINUX} is missing`;
let vmlinux: Btf | undefined;

function tsbpf(name: string) {
  vmlinux ??= parseBtf(readFileSync(VMLINUX), { file: VMLINUX });
  const spec = loadCollectionSpec(readFileSync(object), { file: object });
  const linked = linkProgram(spec, name, { mapIndex: 'used', coreTarget: vmlinux });
  return verify(
    { ...linkedVerifyProgram(spec, linked, { coreTarget: vmlinux }), attachBtf: vmlinux },
    { logLevel: 1 },
  );
}

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
    else assert.equal(r.error?.message, want, r.log.join('\n'));
  });
}

const skip = vmlinuxSkip ?? prepareKobj();
test('kernel: the tp_btf and iter verdicts and messages are what Linux says', { skip }, () => {
  for (const [name, want] of Object.entries(KERNEL_CHECKED)) {
    const r = runKobj(['--prog', name, '--log', '1', object]);
    const p = r.programs[0]!;
    if (want === 'accept') assert.equal(p.verdict, 'accept', `${name}: ${p.errno}`);
    else assert.equal(closingMessage(logOf(r.stdout))[0], want, name);
  }
});

test('kernel: fentry/fexit/fmod_ret/lsm expectations, where this kernel verifies those types', {
  skip,
}, (t) => {
  const refused = checkSourceExpectations(object, SOURCE_CHECKED);
  if (refused) t.diagnostic(`${refused} programs not verified by this kernel (EPERM before the verifier)`);
});
