// A kfunc's arguments as the kernel reads them off its BTF prototype, with the kernel's messages
// (`arg#0 ...`, `R1 must be referenced or trusted`, ...); the memory, size, ctx-offset and dynptr
// checks that follow are the helpers' (call.ts), with the same argument types.
// kernel: check_kfunc_args(), get_kfunc_ptr_arg_type(), process_kf_arg_ptr_to_btf_id()
import type { ArgSpec } from '../../vm/helpers.ts';
import { tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import { isKnownZero, regTypeStr } from '../reg.ts';
import type { VerifierState } from '../state.ts';
import { curFrame } from '../state.ts';
import { markRegPrecise } from '../precision.ts';
import { btfStructIdsMatch, btfTypeName } from './btf-ptr.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

/** kernel: the KF_* flags of BTF_ID_FLAGS() that change how arguments and results are checked */
export type KfFlag = 'KF_ACQUIRE' | 'KF_RELEASE' | 'KF_RET_NULL' | 'KF_RCU' | 'KF_TRUSTED_ARGS';

/**
 * What an argument is to the kernel, from its BTF type and name suffix: a scalar, a constant
 * (`__k`), ignored (`__ign`), the program's ctx, a dynptr, memory (with a size after it),
 * `struct NAME *`, or an object of bpf_obj_new() (`__alloc`).
 */
export type KfArgKind = 'scalar' | 'const' | 'ignore' | 'ctx' | 'dynptr' | 'mem' | 'btf' | 'alloc';

export interface KfuncArgProto {
  args: readonly ArgSpec[];
  flags?: readonly KfFlag[];
  /** Per argument, when the helper argument type does not say it (kfArgKind()). */
  kinds?: readonly (KfArgKind | undefined)[];
  /** Per argument: the struct a `btf` argument points to. */
  argBtf?: readonly (string | undefined)[];
}

export interface KfuncArgMeta {
  /** kernel: meta->ref_obj_id, the reference an argument carries */
  refObjId: number;
  /** kernel: meta->release_regno */
  releaseRegno: number;
  /** kernel: meta->arg_constant.value (a `__k` argument), -1 if none */
  constant: number;
}

export const hasKf = (fn: { flags?: readonly KfFlag[] }, f: KfFlag): boolean =>
  fn.flags?.includes(f) === true;

export function kfArgKind(fn: KfuncArgProto, i: number): KfArgKind {
  const k = fn.kinds?.[i];
  if (k) return k;
  switch (fn.args[i]!.type) {
    case 'ARG_PTR_TO_CTX':
      return 'ctx';
    case 'ARG_PTR_TO_DYNPTR':
      return 'dynptr';
    case 'ARG_PTR_TO_MEM':
      return 'mem';
    case 'ARG_PTR_TO_BTF_ID':
      return 'btf';
    default:
      return 'scalar';
  }
}

/** kernel: is_trusted_reg() for BTF pointers: referenced, or trusted or allocated and not untrusted */
const isTrustedReg = (r: RegState): boolean => r.refObjId !== 0 || ((r.trusted || r.alloc) && !r.untrusted);

/** The checks of check_kfunc_args() on argument `i`, before the type-specific helper checks. */
export function checkKfuncArg(
  env: VerifierEnv,
  state: VerifierState,
  name: string,
  fn: KfuncArgProto,
  i: number,
  meta: KfuncArgMeta,
): void {
  if (i >= fn.args.length) return;
  const regno = i + 1;
  const reg = curFrame(state).regs[regno]!;
  const kind = kfArgKind(fn, i);
  if (kind === 'ignore' || reg.type === 'NOT_INIT') return;
  if (kind === 'scalar' || kind === 'const') {
    if (reg.type !== 'SCALAR_VALUE') reject(`R${regno} is not a scalar`);
    if (kind === 'const') {
      if (!tnum.isConst(reg.s.varOff)) reject(`R${regno} must be a known constant`);
      meta.constant = u64.toNumberU(tnum.value(reg.s.varOff)) ?? -1;
      markRegPrecise(env, regno);
    }
    return;
  }
  const release = hasKf(fn, 'KF_RELEASE');
  // KF_RELEASE implies trusted arguments
  const trusted = hasKf(fn, 'KF_TRUSTED_ARGS') || release;
  const rcu = hasKf(fn, 'KF_RCU');
  const nullable = fn.args[i]!.flags?.includes('PTR_MAYBE_NULL') === true;
  if ((trusted || rcu) && (isKnownZero(reg) || reg.maybeNull) && !nullable)
    reject(`Possibly NULL pointer passed to trusted arg${i}`);
  if (reg.refObjId) {
    meta.refObjId = reg.refObjId;
    if (release) meta.releaseRegno = regno;
  }
  if (nullable && isKnownZero(reg)) return; // kernel: KF_ARG_PTR_TO_NULL
  switch (kind) {
    case 'ctx':
      if (reg.type !== 'PTR_TO_CTX') reject(`arg#${i} expected pointer to ctx, but got ${regTypeStr(reg)}`);
      return;
    case 'dynptr':
      if (reg.type !== 'PTR_TO_STACK' && reg.type !== 'CONST_PTR_TO_DYNPTR')
        reject(`arg#${i} expected pointer to stack or const struct bpf_dynptr`);
      return;
    case 'btf':
      checkBtfArg(env, name, fn.argBtf?.[i] ?? '', i, reg, trusted, rcu, release);
      return;
    case 'alloc':
      // kernel: KF_ARG_PTR_TO_ALLOC_BTF_ID (bpf_obj_drop's argument)
      if ((trusted || rcu) && !isTrustedReg(reg)) reject(`R${regno} must be referenced or trusted`);
      checkZeroOffset(reg, regno);
      if (reg.type !== 'PTR_TO_BTF_ID' || !reg.alloc || reg.rcu || reg.untrusted)
        reject(`arg#${i} expected pointer to allocated object`);
      if (!reg.refObjId) reject('allocated object must be referenced');
      return;
    default:
      return;
  }
}

function checkBtfArg(
  env: VerifierEnv,
  name: string,
  struct: string,
  i: number,
  reg: RegState,
  trusted: boolean,
  rcu: boolean,
  release: boolean,
): void {
  const regno = i + 1;
  // kernel: get_kfunc_ptr_arg_type(): not a BTF pointer, so memory, which a struct with
  // pointers in it cannot be
  if (reg.type !== 'PTR_TO_BTF_ID')
    reject(`arg#${i} pointer type STRUCT ${struct} must point to scalar, or struct with scalar`);
  if ((trusted || rcu) && !isTrustedReg(reg)) {
    if (!rcu) reject(`R${regno} must be referenced or trusted`);
    if (!reg.rcu) reject(`R${regno} must be a rcu pointer`);
  }
  if (trusted || rcu || (release && reg.refObjId)) checkZeroOffset(reg, regno);
  // kernel: process_kf_arg_ptr_to_btf_id() (strict for trusted and released arguments)
  const regName = btfTypeName(env.layoutBtf, reg.btfId);
  const strict = trusted || rcu || release;
  const match = strict
    ? reg.off === 0 && regName === struct
    : btfStructIdsMatch(env.layoutBtf, reg.btfId, reg.off, struct);
  if (!match) {
    reject(
      `kernel function ${name} args#${i} expected pointer to STRUCT ${struct} but R${regno} has a pointer to STRUCT ${regName}`,
    );
  }
}

// kernel: check_func_arg_reg_off() with OBJ_RELEASE
function checkZeroOffset(reg: RegState, regno: number): void {
  if (reg.off < 0) reject(`negative offset ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`);
  if (reg.off) reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
  if (!tnum.isConst(reg.s.varOff) || !u64.isZero(tnum.value(reg.s.varOff)))
    reject(`variable ${regTypeStr(reg)} access var_off=${tnum.strn(reg.s.varOff)} disallowed`);
}

/** After every argument (kernel: the end of check_kfunc_args()). */
export function checkKfuncRelease(name: string, fn: KfuncArgProto, meta: KfuncArgMeta): void {
  if (hasKf(fn, 'KF_RELEASE') && !meta.releaseRegno)
    reject(`release kernel function ${name} expects refcounted PTR_TO_BTF_ID`);
}
