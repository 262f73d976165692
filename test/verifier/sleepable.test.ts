// Where a sleepable helper may be called (kernel: check_helper_call(), do_check()): only in
// programs loaded sleepable, and not while a bpf_spin_lock is held (every call but the unlock
// is refused there). The case files sleep-*.case check the first rule against the kernel; a
// spin-lock map needs BTF, which kbpf's case maps do not carry, so the second is tested here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleAuto } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';

const lockMap = { type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, spinLockOff: 0 };

/** Looks up the value, optionally takes its lock, copies 8 user bytes to the stack, unlocks. */
function program(locked: boolean) {
  return assembleAuto(
    [
      'r1 = 0',
      '*(u32 *)(r10 - 4) = r1',
      'r2 = r10',
      'r2 += -4',
      'r1 = map_fd(0) ll',
      'call 1',
      'if r0 == 0 goto +12',
      'r6 = r0',
      'r1 = r6',
      locked ? 'call 93' : 'r0 = 0',
      'r1 = r10',
      'r1 += -16',
      'r2 = 8',
      'r3 = 0',
      'call 148',
      'r1 = r6',
      locked ? 'call 94' : 'r0 = 0',
      'r0 = 0',
      'exit',
      'r0 = 1',
      'exit',
    ].join('\n'),
    'sleepable.s',
  );
}

test('bpf_copy_from_user is accepted in a sleepable program, refused in the same program loaded non-sleepable', () => {
  const insns = program(false);
  assert.equal(verify({ insns, progType: 'syscall', maps: [lockMap] }).verdict, 'accept');
  const r = verify({ insns, progType: 'syscall', sleepable: false, maps: [lockMap] });
  assert.equal(r.verdict, 'reject');
  assert.equal(r.error?.message, 'helper call might sleep in a non-sleepable prog');
  assert.equal(insns[r.error!.insnIdx]?.imm, 148);
});

test('bpf_copy_from_user while holding a bpf_spin_lock is refused', () => {
  const insns = program(true);
  const r = verify({ insns, progType: 'syscall', maps: [lockMap] });
  assert.equal(r.verdict, 'reject');
  assert.equal(r.error?.message, 'function calls are not allowed while holding a lock');
  assert.equal(insns[r.error!.insnIdx]?.imm, 148);
});

test('map types a sleepable program may use (as 6.18 loads them with kobj)', () => {
  const insns = assembleAuto('r1 = map_fd(0) ll\nr0 = 0\nexit', 'maps.s');
  const verdict = (type: string, sleepable: boolean) =>
    verify({
      insns,
      progType: 'syscall',
      sleepable,
      maps: [{ type, keySize: 4, valueSize: 8, maxEntries: 4 }],
    });
  for (const type of ['queue', 'stack', 'percpu_hash', 'lru_percpu_hash', 'array_of_maps', 'hash'])
    assert.equal(verdict(type, true).verdict, 'accept', type);
  for (const type of ['bloom_filter', 'lpm_trie', 'perf_event_array', 'prog_array']) {
    const r = verdict(type, true);
    assert.equal(
      r.error?.message,
      'Sleepable programs can only use array, hash, ringbuf and local storage maps',
      type,
    );
    assert.equal(verdict(type, false).verdict, 'accept', `${type}, not sleepable`);
  }
});
