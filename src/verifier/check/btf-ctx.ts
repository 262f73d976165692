// The ctx of fentry/fexit/fmod_ret, lsm and tp_btf programs typed by the attach point's BTF
// prototype (kernel: btf_ctx_access()): argument i is a u64 slot at ctx + 8*i (a struct passed by
// value takes its size rounded up to 8), fexit/lsm see the return value after the arguments.
// Scalars may be read in any size; pointers to structs become PTR_TO_BTF_ID, trusted for tp_btf
// and lsm (kernel: prog_args_trusted()), plain for fentry/fexit/fmod_ret; other pointers are
// scalars the program cannot dereference.
import type { Btf } from '../../btf/btf.ts';
import type { BtfTypeOrVoid } from '../../btf/types.ts';
import { nextId, reject } from '../env.ts';
import type { VerifierEnv } from '../env.ts';
import type { RegState } from '../reg.ts';
import { unknownScalar } from '../reg.ts';
import { scalar, u64 } from '../domain/index.ts';
import { lsmRetvalRange } from './return-code.ts';
import type { AttachProto } from './attach-proto.ts';
import { btfPointer } from './btf-ptr.ts';
import { isTrustedLsmHook } from './lsm-hooks.ts';

/** kernel: MAX_BPF_FUNC_ARGS */
const MAX_BPF_FUNC_ARGS = 12;

/** kernel: btf_type_str() (btf_kind_str[]) */
function kindStr(t: BtfTypeOrVoid): string {
  return t.kind === 'void' ? 'UNKNOWN' : t.kind.toUpperCase();
}

/** Bytes of ctx one argument of this type occupies (kernel: btf_ctx_arg_idx()). */
function slotBytes(btf: Btf, typeId: number): number {
  const t = btf.resolve(typeId);
  if (t.kind === 'ptr') return 8;
  const size = 'size' in t ? t.size : 0;
  return Math.ceil(size / 8) * 8;
}

// kernel: btf_ctx_arg_idx(): counted over every argument, a tracepoint's __data included
function ctxArgIdx(p: AttachProto, off: number): number {
  let end = 0;
  for (let i = 0; i < p.params.length; i++) {
    end += slotBytes(p.btf, p.params[i]!.type);
    if (off < end) return i;
  }
  end += slotBytes(p.btf, p.ret);
  return off < end ? p.params.length : p.params.length + 1;
}

const isSmallInt = (t: BtfTypeOrVoid): boolean => t.kind === 'int' && t.size <= 8;

/** kernel: tracing_prog_is_valid_access() (tracing) or btf_ctx_access() alone (lsm). */
export function btfCtxAccess(
  env: VerifierEnv,
  p: AttachProto,
  off: number,
  size: number,
  t: 'read' | 'write',
): RegState {
  const bad = (...why: string[]): never =>
    reject(...why, `invalid bpf_context access off=${off} size=${size}`);
  if (env.progType === 'tracing' && (off < 0 || off >= 8 * MAX_BPF_FUNC_ARGS || off % size !== 0)) bad();
  // tracing_prog_is_valid_access() refuses writes; lsm's is_valid_access is btf_ctx_access()
  // alone, which never looks at the access type: an lsm program may overwrite any argument slot
  // (and the return value's) it may read, as the trampoline's copy of the arguments
  if (t === 'write' && env.progType !== 'lsm') bad();
  if (off % 8 !== 0) bad(`func '${p.name}' offset ${off} is not multiple of 8`);
  // the index counts the skipped __data too, then names the argument after it (as the kernel)
  const arg = ctxArgIdx(p, off);
  const nrArgs = p.params.length - p.skip;
  if (arg > nrArgs) bad(`func '${p.name}' doesn't have ${arg + 1}-th argument`);
  let typeId: number;
  if (arg === nrArgs) {
    // the return value: fexit and lsm see it; fmod_ret only for functions returning an int
    if (env.attachType === 'modify_return') {
      const r = p.btf.resolve(p.ret);
      if (!isSmallInt(r)) bad(`ret type ${kindStr(r)} not allowed for fmod_ret`);
    } else if (env.attachType !== 'trace_fexit' && env.attachType !== 'lsm_mac') {
      bad(`func '${p.name}' doesn't have ${arg + 1}-th argument`);
    }
    typeId = p.ret;
  } else {
    typeId = p.params[arg + p.skip]!.type;
  }
  const ty = p.btf.resolve(typeId);
  const k = ty.kind;
  if (isSmallInt(ty) || k === 'enum' || k === 'enum64' || k === 'struct' || k === 'union') {
    const r = unknownScalar();
    // an lsm program reads the previous program's return value: within the hook's range
    // (kernel: info->is_retval, then __mark_reg_s32_range() in check_mem_access())
    const range = arg === nrArgs && t === 'read' ? lsmRetvalRange(env) : undefined;
    if (range) markS32Range(r, range.min, range.max);
    return r;
  }
  if (ty.kind !== 'ptr') {
    return bad(
      `func '${p.name}' arg${arg} '${ty.name}' has type ${kindStr(ty)}. Only pointer access is allowed`,
    );
  }
  if (size !== 8) bad(`func '${p.name}' size ${size} must be 8`);
  // kernel: btf_type_is_struct_ptr(): other pointers cannot be walked, they are plain numbers
  const target = p.btf.resolve(ty.type);
  if (target.kind !== 'struct' && target.kind !== 'union') return unknownScalar();
  const trusted =
    env.attachType === 'trace_raw_tp' || (env.progType === 'lsm' && isTrustedLsmHook(env.attachTo ?? ''));
  const maybeNull = arg < nrArgs && p.params[arg + p.skip]!.name.endsWith('__nullable');
  const r = btfPointer(env, target.name, { trusted, maybeNull });
  if (maybeNull && t === 'read') r.id = nextId(env);
  return r;
}

/** kernel: __mark_reg_s32_range(): both signed ranges narrowed to [min, max], then synced. */
function markS32Range(r: RegState, min: number, max: number): void {
  const s = r.s;
  s.s32min = Math.max(s.s32min, min);
  s.s32max = Math.min(s.s32max, max);
  if (u64.slt(s.smin, u64.fromS32(min))) s.smin = u64.fromS32(min);
  if (u64.sgt(s.smax, u64.fromS32(max))) s.smax = u64.fromS32(max);
  scalar.regBoundsSync(s);
}
