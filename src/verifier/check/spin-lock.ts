// bpf_spin_lock/bpf_spin_unlock (kernel: process_spin_lock(), acquire_lock_state(),
// release_lock_state()): a held lock is a reference of its own kind in the state's reference list,
// named by the map value pointer's id and its map; one lock at a time, no helper calls while it
// is held, and it must be released before the program ends.
import type { Insn } from '../../isa/index.ts';
import { opcode as opNs } from '../../isa/index.ts';
import { tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import type { RefState, VerifierState } from '../state.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

export const BPF_FUNC_spin_lock = 93;
export const BPF_FUNC_spin_unlock = 94;

/** A reference entry that is a held lock (kernel: REF_TYPE_LOCK). */
export const isLockRef = (r: RefState): boolean => r.lockMap !== undefined;
export const heldLocks = (st: VerifierState): number => st.refs.filter(isLockRef).length;
/** References the program must release itself (locks are reported on their own). */
export const objectRefs = (st: VerifierState): RefState[] => st.refs.filter((r) => !isLockRef(r));

// kernel: process_spin_lock()
export function processSpinLock(
  env: VerifierEnv,
  state: VerifierState,
  regno: number,
  reg: RegState,
  isLock: boolean,
  insnIdx: number,
): void {
  const m = env.maps[reg.mapIndex];
  if (!tnum.isConst(reg.s.varOff)) {
    reject(`R${regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset`);
  }
  if (!m || m.spinLockOff === undefined) reject(`map '${m?.name ?? ''}' has no valid bpf_spin_lock`);
  const off = (u64.toNumberS(tnum.value(reg.s.varOff)) ?? 0) + reg.off;
  if (off !== m.spinLockOff) {
    reject(`off ${off} doesn't point to 'struct bpf_spin_lock' that is at ${m.spinLockOff}`);
  }
  if (isLock) {
    if (heldLocks(state)) reject('Locking two bpf_spin_locks are not allowed');
    state.refs.push({ id: reg.id, insnIdx, lockMap: reg.mapIndex });
    return;
  }
  if (!heldLocks(state)) reject('bpf_spin_unlock without taking a lock');
  const k = state.refs.findIndex((r) => isLockRef(r) && r.id === reg.id && r.lockMap === reg.mapIndex);
  if (k < 0) reject('bpf_spin_unlock of different lock');
  state.refs = state.refs.filter((_, i) => i !== k);
}

/** kernel: do_check_insn(), BPF_CALL while a lock is held. */
export function checkCallWhileLocked(state: VerifierState, insn: Insn): void {
  if (!heldLocks(state)) return;
  if (insn.src === 0 && insn.imm !== BPF_FUNC_spin_unlock) {
    reject('function calls are not allowed while holding a lock');
  }
  if (insn.src === op.PSEUDO_KFUNC_CALL) reject('function calls are not allowed while holding a lock');
}

/** kernel: check_resource_leak() with check_lock: `what` may not run with a lock held. */
export function checkNoLockHeld(state: VerifierState, what: string): void {
  if (heldLocks(state)) reject(`${what} cannot be used inside bpf_spin_lock-ed region`);
}

/** kernel: check_resource_leak() with check_lock: `what` may not run inside an RCU section. */
export function checkNoRcuLock(state: VerifierState, what: string): void {
  if (state.activeRcuLock) reject(`${what} cannot be used inside bpf_rcu_read_lock-ed region`);
}
