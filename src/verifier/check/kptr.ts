// kptrs: pointers to kernel objects kept in map values, declared in the value's BTF as
// `struct task_struct __kptr *p` (referenced: moved in and out only by bpf_kptr_xchg) or
// `__kptr_untrusted` (plain stores of any task pointer, loads give an untrusted pointer).
// kernel: check_map_access()'s field walk, check_map_kptr_access(), map_kptr_match_type(),
// process_kptr_func(), btf_ld_kptr_type()
import * as op from '../../isa/opcode.ts';
import { tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';
import type { MapInfo, VerifierEnv } from '../env.ts';
import { nextId, reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import { isKnownZero, pointer, regTypeStr } from '../reg.ts';
import type { VerifierState } from '../state.ts';
import { curFrame } from '../state.ts';
import { btfPointer, btfStructIdsMatch, btfTypeName, structId } from './btf-ptr.ts';
import { inSleepable } from './call.ts';
import { heldLocks } from './spin-lock.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

export type KptrField = NonNullable<MapInfo['kptrs']>[number];

/** kernel: BPF_KPTR_REF objects freed after an RCU grace period (rcu_protected_types) */
const RCU_PROTECTED = new Set(['task_struct', 'cgroup', 'bpf_cpumask', 'bpf_crypto_ctx']);

/**
 * Does the kptr hold an object of bpf_obj_new() (a struct of the program's own BTF) rather than
 * a kernel object? The kernel looks the name up in vmlinux; without the kernel's BTF tsbpf takes
 * the kernel structs its kfuncs hand out for kernel ones.
 */
export function kptrIsLocal(env: VerifierEnv, f: KptrField): boolean {
  if (env.attachBtf) return structId(env.attachBtf, f.struct) === 0;
  return !RCU_PROTECTED.has(f.struct);
}

/** A pointer to the kptr's struct: a kernel one, or an allocated one of the program's BTF. */
function kptrPointer(env: VerifierEnv, f: KptrField, local: boolean): RegState {
  if (!local) return btfPointer(env, f.struct, { maybeNull: true });
  return pointer('PTR_TO_BTF_ID', { btfId: structId(env.btf, f.struct), alloc: true, maybeNull: true });
}

/**
 * kernel: check_map_access()'s walk over the value's special fields: an access overlapping a
 * kptr must be an 8-byte access at its exact, constant offset, and never by a helper.
 * Returns the kptr a direct access lands on.
 */
export function checkMapKptrFields(
  m: MapInfo,
  regno: number,
  reg: RegState,
  off: number,
  size: number,
  direct: boolean,
): KptrField | undefined {
  if (!m.kptrs) return undefined;
  const smin = u64.toNumberS(reg.s.smin) ?? 0;
  const umax = u64.toNumberU(reg.s.umax) ?? Number.MAX_SAFE_INTEGER;
  for (const f of m.kptrs) {
    // [x1, x2) and [y1, y2) overlap when x1 < y2 && y1 < x2
    if (!(smin + off < f.off + 8 && f.off < umax + off + size)) continue;
    if (!direct) reject('kptr cannot be accessed indirectly by helper');
    if (!tnum.isConst(reg.s.varOff)) reject('kptr access cannot have variable offset');
    const at = off + (u64.toNumberU(tnum.value(reg.s.varOff)) ?? 0);
    if (at !== f.off) reject(`kptr access misaligned expected=${f.off} off=${at}`);
    if (size !== 8) reject('kptr access size must be BPF_DW');
    return f;
  }
  void regno;
  return undefined;
}

/** kernel: in_rcu_cs(): inside an RCU read section, a spin lock, or any non-sleepable program */
export const inRcuCs = (env: VerifierEnv, state: VerifierState): boolean =>
  state.activeRcuLock || heldLocks(state) > 0 || !inSleepable(env, state);

/**
 * A load or store at a kptr field (kernel: check_map_kptr_access()). Returns the loaded register
 * for loads.
 */
export function checkMapKptrAccess(
  env: VerifierEnv,
  state: VerifierState,
  f: KptrField,
  valueRegno: number,
  stImm: number | undefined,
): RegState | null {
  const insn = env.insns[env.insnIdx]!;
  const mode = op.mode(insn.code);
  const cls = op.cls(insn.code);
  if (mode !== op.MODE_MEM && mode !== op.MODE_MEMSX)
    reject('kptr in map can only be accessed using BPF_MEM instruction mode');
  if (cls !== op.CLASS_LDX && f.kind === 'ref') reject('store to referenced kptr disallowed');
  if (cls === op.CLASS_LDX) {
    // kernel: btf_ld_kptr_type(): RCU-freed objects (allocated ones too) stay valid in an RCU
    // section; outside one the pointer is untrusted
    const local = kptrIsLocal(env, f);
    const rcu = f.kind === 'ref' && (local || RCU_PROTECTED.has(f.struct)) && inRcuCs(env, state);
    const r = kptrPointer(env, f, local);
    r.rcu = rcu;
    r.untrusted = !rcu;
    r.alloc = local && rcu;
    r.id = nextId(env);
    return r;
  }
  if (cls === op.CLASS_STX) {
    const val = curFrame(state).regs[valueRegno]!;
    if (!isKnownZero(val)) mapKptrMatchType(env, f, val, valueRegno);
  } else if (stImm) {
    reject(`BPF_ST imm must be 0 when storing to kptr at off=${f.off}`);
  }
  return null;
}

// kernel: map_kptr_match_type(): a task pointer of any trust for an untrusted kptr, a trusted or
// RCU one (referenced, through bpf_kptr_xchg) for a referenced kptr
export function mapKptrMatchType(env: VerifierEnv, f: KptrField, reg: RegState, regno: number): void {
  // kernel: perm_flags: a kernel object may be trusted, RCU or NULL (or untrusted for an untrusted
  // kptr); an allocated one only NULL
  const flagsOk = reg.alloc
    ? !reg.trusted && !reg.rcu && !reg.untrusted
    : f.kind === 'untrusted' || !reg.untrusted;
  const permitted = reg.type === 'PTR_TO_BTF_ID' && !reg.rdonly && !reg.ringbuf && flagsOk;
  let regName = '';
  let ok = permitted;
  if (permitted) {
    regName = btfTypeName(reg.alloc ? env.btf : env.layoutBtf, reg.btfId);
    // kernel: __check_ptr_off_reg(fixed_off_ok)
    if (!tnum.isConst(reg.s.varOff) || !u64.isZero(tnum.value(reg.s.varOff)))
      reject(`variable ${regTypeStr(reg)} access var_off=${tnum.strn(reg.s.varOff)} disallowed`);
    if (reg.off < 0) reject(`negative offset ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`);
    ok =
      reg.alloc === kptrIsLocal(env, f) &&
      (f.kind === 'untrusted' && !reg.alloc
        ? btfStructIdsMatch(env.layoutBtf, reg.btfId, reg.off, f.struct)
        : reg.off === 0 && regName === f.struct);
  }
  if (ok) return;
  const untrusted = f.kind === 'untrusted' ? ` or untrusted_ptr_${f.struct}` : '';
  reject(
    `invalid kptr access, R${regno} type=${regTypeStr(reg)}${regName} expected=ptr_${f.struct}${untrusted}`,
  );
}

/** What bpf_kptr_xchg's destination names (kernel: meta->kptr_field). */
export interface KptrXchgMeta {
  field: KptrField;
}

// kernel: process_kptr_func() for bpf_kptr_xchg's map value argument
export function processKptrFunc(env: VerifierEnv, regno: number, reg: RegState): KptrField {
  const m = env.maps[reg.mapIndex]!;
  if (!tnum.isConst(reg.s.varOff))
    reject(`R${regno} doesn't have constant offset. kptr has to be at the constant offset`);
  if (!m.kptrs?.length) reject(`R${regno} has no valid kptr`);
  const off = reg.off + (u64.toNumberS(tnum.value(reg.s.varOff)) ?? 0);
  const f = m.kptrs.find((k) => k.off === off);
  if (!f) reject(`off=${off} doesn't point to kptr`);
  if (f.kind !== 'ref') reject(`off=${off} kptr isn't referenced kptr`);
  return f;
}

/** bpf_kptr_xchg's result: the old object or NULL, a reference the program now holds. */
export function kptrXchgResult(env: VerifierEnv, f: KptrField): RegState {
  return kptrPointer(env, f, kptrIsLocal(env, f));
}
