// Kfunc arguments and kptrs against Linux 6.18: test/verifier/kptr/kptr.bpf.o and, for objects
// of the program's own types (bpf_obj_new/bpf_obj_drop), obj_new.bpf.o (one program per rule,
// rebuilt by kptr/build.sh). The table holds what the kernel answered through kobj
// (`kobj --log 1`: verdict, the first line of its refusal, processed instructions); tsbpf's
// verifier must give the same, and where bpf() works the kernel test re-checks the table itself.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { resolveKfuncCalls } from '../../src/runtime/kfunc-calls.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
import { kernelVerdicts, scanObject } from '../../src/kernels/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';

/** Program → [processed insns, undefined (accepted) or the kernel's message]. */
const expected: Record<string, [number, string | undefined]> = {
  // step 1: kfunc arguments (check_kfunc_args())
  kf_acquire_release_ok: [18, undefined],
  kf_from_pid_ok: [19, undefined],
  kf_from_pid_missing: [10, undefined],
  // KF_RELEASE implies trusted arguments; KF_RET_NULL results need a NULL check first
  kf_release_no_null_check: [5, 'Possibly NULL pointer passed to trusted arg0'],
  kf_acquire_leak: [11, 'Unreleased reference id=2 alloc_insn=2'],
  kf_release_unreferenced: [3, 'release kernel function bpf_task_release expects refcounted PTR_TO_BTF_ID'],
  // not a BTF pointer: the kernel takes it for memory, which task_struct cannot be
  kf_acquire_scalar: [2, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar'],
  kf_acquire_null: [2, 'Possibly NULL pointer passed to trusted arg0'],
  kf_acquire_ctx: [1, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar'],
  kf_acquire_stack: [8, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar'],
  // after the first release the register is a scalar
  kf_release_twice: [10, 'arg#0 pointer type STRUCT task_struct must point to scalar, or struct with scalar'],
  kf_use_after_release: [9, "R6 invalid mem access 'scalar'"],
  kf_release_offset: [8, 'R1 must have zero offset when passed to release func or trusted arg to kfunc'],
  kf_task_in_socket_filter: [2, 'calling kernel function bpf_task_from_pid is not allowed'],
  kf_dynptr_size_stack: [6, 'Expected an initialized dynptr as arg #0'],
  kf_dynptr_size_ctx: [1, 'arg#0 expected pointer to stack or const struct bpf_dynptr'],
  kf_from_xdp_not_ctx: [12, 'arg#0 expected pointer to ctx, but got fp'],
  kf_from_xdp_flags_ptr: [5, 'R2 is not a scalar'],
  kf_slice_size_unknown: [14, 'R4 must be a known constant'],
  // a kfunc's memory argument: check_helper_mem_access() (read, then write), no helper type list
  kf_copy_str_scalar_dst: [5, 'R1 type=scalar expected=fp'],
  kf_copy_str_short_stack: [6, 'invalid read from stack R1 off=-8 size=16'],
  // step 2: kptrs in map values
  kptr_xchg_ok: [27, undefined],
  kptr_xchg_null_ok: [19, undefined],
  kptr_xchg_leak_old: [20, 'Unreleased reference id=4 alloc_insn=15'],
  // a referenced kptr of an RCU-freed type loads as rcu_ptr_or_null_ in a non-sleepable program
  kptr_load_rcu_ok: [21, undefined],
  kptr_load_acquire_ok: [21, undefined],
  kptr_load_no_null_check: [9, "R1 invalid mem access 'rcu_ptr_or_null_'"],
  kptr_release_loaded: [11, 'R1 must be referenced or trusted'],
  kptr_store_direct: [10, 'store to referenced kptr disallowed'],
  kptr_store_null_direct: [9, 'store to referenced kptr disallowed'],
  kptr_store_untrusted_ok: [14, undefined],
  kptr_store_untrusted_scalar: [
    10,
    'invalid kptr access, R1 type=scalar expected=ptr_task_struct or untrusted_ptr_task_struct',
  ],
  kptr_store_untrusted_ctx: [
    9,
    'invalid kptr access, R7 type=ctx expected=ptr_task_struct or untrusted_ptr_task_struct',
  ],
  kptr_untrusted_load_ok: [20, undefined],
  kptr_untrusted_acquire: [11, 'R1 must be a rcu pointer'],
  kptr_xchg_untrusted_field: [16, "off=8 kptr isn't referenced kptr"],
  kptr_xchg_not_kptr: [16, "off=16 doesn't point to kptr"],
  kptr_xchg_unreferenced: [12, 'R2 must be referenced when passed to release function'],
  kptr_xchg_stack_dest: [10, 'R1 type=fp expected=map_value, ptr_'],
  // bpf_kptr_xchg() moved the reference into the map: the register is a scalar now
  kptr_use_after_xchg: [20, "R7 invalid mem access 'scalar'"],
  kptr_access_size4: [8, 'kptr access size must be BPF_DW'],
  kptr_access_misaligned: [8, 'kptr access misaligned expected=0 off=4'],
  kptr_helper_indirect: [15, 'kptr cannot be accessed indirectly by helper'],
  kptr_cnt_ok: [13, undefined],
  // sleepable: outside an RCU section the kptr loads untrusted
  kptr_sleepable_no_rcu: [13, 'R1 must be a rcu pointer'],
  kptr_sleepable_rcu_ok: [26, undefined],
};

/** obj_new.bpf.o: bpf_obj_new() objects, alone and in a `__kptr` field. */
const objNew: Record<string, [number, string | undefined]> = {
  obj_new_ok: [15, undefined],
  // bpf_obj_new() zeroes the object
  obj_new_zeroed: [26, undefined],
  obj_new_leak: [10, 'Unreleased reference id=2 alloc_insn=4'],
  obj_new_no_null_check: [5, "R0 invalid mem access 'ptr_or_null_'"],
  // bpf_obj_drop's argument is KF_ARG_PTR_TO_ALLOC_BTF_ID: trusted first, then allocated
  obj_drop_twice: [12, 'R1 must be referenced or trusted'],
  obj_use_after_drop: [10, "R6 invalid mem access 'scalar'"],
  obj_drop_task: [4, 'arg#0 expected pointer to allocated object'],
  obj_drop_stack: [7, 'R1 must be referenced or trusted'],
  obj_access_beyond: [6, 'access beyond struct foo at off 16 size 4'],
  obj_new_not_struct: [4, 'bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct'],
  obj_new_var_id: [4, 'R1 must be a known constant'],
  obj_kptr_xchg_ok: [29, undefined],
  obj_kptr_take_ok: [23, undefined],
  // a stashed object loads as rcu_ptr_or_null_foo (MEM_ALLOC | MEM_RCU), writable
  obj_kptr_load: [20, undefined],
  obj_kptr_load_write: [17, undefined],
  obj_kptr_xchg_task: [15, 'invalid kptr access, R2 type=trusted_ptr_task_struct expected=ptr_foo'],
};

const OBJECTS: Record<string, Record<string, [number, string | undefined]>> = {
  'test/verifier/kptr/kptr.bpf.o': expected,
  'test/verifier/kptr/obj_new.bpf.o': objNew,
};

function tsbpfVerify(object: string, name: string, logLevel = 1) {
  const spec = resolveKfuncCalls(
    loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object }),
  );
  const linked = linkProgram(spec, name, { mapIndex: 'used' });
  return verify(linkedVerifyProgram(spec, linked), { logLevel });
}

for (const [object, table] of Object.entries(OBJECTS)) {
  for (const [name, [insns, message]] of Object.entries(table)) {
    test(`tsbpf: ${name} ${message === undefined ? 'is accepted' : `is refused: ${message}`}`, () => {
      const r = tsbpfVerify(object, name);
      assert.equal(r.verdict === 'accept' ? undefined : r.error?.message, message);
      assert.equal(r.insnsProcessed, insns);
    });
  }

  test(`${object}: the table names every program of the object`, () => {
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object });
    assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(table).sort());
  });
}

test('a kfunc memory pair that fails says so on a second line, as the kernel', () => {
  const r = tsbpfVerify('test/verifier/kptr/kptr.bpf.o', 'kf_copy_str_scalar_dst');
  assert.match(
    r.log.join('\n'),
    /R1 type=scalar expected=fp\narg#0 arg#1 memory, len pair leads to invalid memory access/,
  );
});

test("objects of bpf_obj_new() are named after the program's own type in the log", () => {
  const r = tsbpfVerify('test/verifier/kptr/obj_new.bpf.o', 'obj_kptr_xchg_ok', 2);
  const log = r.log.join('\n');
  assert.match(log, /R0=ptr_foo\(ref_obj_id=2\)/);
  assert.match(log, /R0=ptr_or_null_foo\(id=4,ref_obj_id=4\)/);
});

const skip = prepareKobj();
for (const [object, table] of Object.entries(OBJECTS)) {
  test(`kernel: ${object}: the same verdicts, messages and processed-instruction counts`, { skip }, () => {
    const r = runKobj([object]);
    assert.equal(r.programs.length, Object.keys(table).length);
    for (const p of r.programs) {
      const [insns, want] = table[p.program]!;
      assert.equal(p.insnsProcessed, insns, p.program);
      assert.equal(p.verdict, want === undefined ? 'accept' : 'reject', p.program);
      if (want === undefined) continue;
      const log = logOf(runKobj(['--prog', p.program, '--log', '1', object]).stdout);
      assert.ok(closingMessage(log).includes(want), `${p.program}: ${closingMessage(log).join(' | ')}`);
    }
  });
}

test("tsbpf's explanation names the kfunc way out of a leak and of an untrusted argument", () => {
  const leak = tsbpfVerify('test/verifier/kptr/kptr.bpf.o', 'kf_acquire_leak').error;
  assert.equal(leak?.principle, 'references released');
  assert.match(leak?.hint ?? '', /bpf_task_release/);
  const loaded = tsbpfVerify('test/verifier/kptr/kptr.bpf.o', 'kptr_release_loaded').error;
  assert.equal(loaded?.principle, 'references released');
  assert.match(loaded?.hint ?? '', /RCU read section/);
  const maybeNull = tsbpfVerify('test/verifier/kptr/kptr.bpf.o', 'kf_release_no_null_check').error;
  assert.match(maybeNull?.hint ?? '', /against NULL/);
});

test('--kernel all: each release judges the kfunc calls itself (no verifier run shared across them)', () => {
  const object = 'test/verifier/kptr/obj_new.bpf.o';
  const spec = resolveKfuncCalls(
    loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object }),
  );
  const req = linkedVerifyProgram(spec, linkProgram(spec, 'obj_new_ok', { mapIndex: 'used' }));
  const versions = ['5.10', '6.18'];
  const [old, cur] = kernelVerdicts([{ name: 'obj_new_ok', req }], scanObject(spec, versions), versions);
  // 5.10 predates kfunc calls (5.13): its do_check() refuses the call instruction
  assert.equal(old?.programs[0]?.res.error?.message, 'BPF_CALL uses reserved fields');
  assert.equal(cur?.programs[0]?.res.verdict, 'accept');
});
