// Context of BTF-typed tracing programs (kernel: btf_ctx_access()): the ctx is an array of u64
// arguments whose types come from BTF. Iterators (kernel: struct bpf_iter__<target> and the
// target's ctx_arg_info in kernel/bpf/*_iter.c) and typed raw tracepoints (tp_btf/, kernel:
// btf_trace_<name> prototypes) are modelled; arguments of both are trusted (kernel:
// prog_args_trusted()) unless the iterator's ctx_arg_info says otherwise. Programs whose attach
// point's prototype is in a BTF at hand (fentry, lsm, tp_btf) are typed by it: btf-ctx.ts.
import { nextId, reject } from '../env.ts';
import type { VerifierEnv } from '../env.ts';
import type { RegState } from '../reg.ts';
import { pointer, unknownScalar } from '../reg.ts';
import { attachProto } from './attach-proto.ts';
import { btfCtxAccess } from './btf-ctx.ts';
import { btfPointer } from './btf-ptr.ts';

type Arg =
  | { kind: 'scalar' }
  | { kind: 'btf'; struct: string; maybeNull: boolean; untrusted?: boolean }
  | { kind: 'buf'; rdonly: boolean };

const meta: Arg = { kind: 'btf', struct: 'bpf_iter_meta', maybeNull: false };

/** Iterator targets: the members of struct bpf_iter__<target> after `meta`. */
const ITER_TARGETS: Record<string, readonly Arg[]> = {
  bpf_map_elem: [
    meta,
    { kind: 'btf', struct: 'bpf_map', maybeNull: false },
    { kind: 'buf', rdonly: true },
    { kind: 'buf', rdonly: false },
  ],
  bpf_map: [meta, { kind: 'btf', struct: 'bpf_map', maybeNull: true }],
  task: [meta, { kind: 'btf', struct: 'task_struct', maybeNull: true }],
  // kernel: task_file_reg_info's ctx_arg_info has no PTR_TRUSTED
  task_file: [
    meta,
    { kind: 'btf', struct: 'task_struct', maybeNull: true, untrusted: true },
    { kind: 'scalar' },
    { kind: 'btf', struct: 'file', maybeNull: true, untrusted: true },
  ],
  // kernel: struct bpf_iter__tcp { meta; sk_common; uid_t uid __aligned(8); } (net/ipv4/tcp_ipv4.c)
  tcp: [meta, { kind: 'btf', struct: 'sock_common', maybeNull: true }, { kind: 'scalar' }],
};

/** Typed raw tracepoints tsbpf knows (kernel: TP_PROTO of each). */
const TP_BTF: Record<string, readonly Arg[]> = {
  sched_process_exec: [
    { kind: 'btf', struct: 'task_struct', maybeNull: false },
    { kind: 'scalar' },
    { kind: 'btf', struct: 'linux_binprm', maybeNull: false },
  ],
  sched_process_fork: [
    { kind: 'btf', struct: 'task_struct', maybeNull: false },
    { kind: 'btf', struct: 'task_struct', maybeNull: false },
  ],
  sched_process_exit: [{ kind: 'btf', struct: 'task_struct', maybeNull: false }],
  sched_switch: [
    { kind: 'scalar' },
    { kind: 'btf', struct: 'task_struct', maybeNull: false },
    { kind: 'btf', struct: 'task_struct', maybeNull: false },
    { kind: 'scalar' },
  ],
};

export const isIterProg = (env: VerifierEnv): boolean =>
  env.progType === 'tracing' && env.attachType === 'trace_iter';

function ctxArgs(env: VerifierEnv): readonly Arg[] | undefined {
  if (env.progType !== 'tracing' || env.attachTo === undefined) return undefined;
  if (env.attachType === 'trace_iter') return ITER_TARGETS[env.attachTo] ?? [meta];
  if (env.attachType === 'trace_raw_tp') return TP_BTF[env.attachTo];
  return undefined;
}

/** Does this program's ctx come from BTF that tsbpf models? Then tracingCtxAccess() decides. */
export const hasBtfCtx = (env: VerifierEnv): boolean =>
  (!isIterProg(env) && attachProto(env) !== undefined) || ctxArgs(env) !== undefined;

/**
 * kernel: btf_ctx_access(): the register a ctx load at `off` yields; maybe-null pointers get an id
 * for their null check.
 */
export function tracingCtxAccess(env: VerifierEnv, off: number, size: number, t: 'read' | 'write'): RegState {
  const proto = isIterProg(env) ? undefined : attachProto(env);
  if (proto) return btfCtxAccess(env, proto, off, size, t);
  const args = ctxArgs(env)!;
  const bad = (): never => reject(`invalid bpf_context access off=${off} size=${size}`);
  if (t === 'write' || off < 0 || off % 8 !== 0) bad();
  const arg = args[off / 8];
  if (!arg) bad();
  if (arg.kind === 'scalar') return unknownScalar();
  if (size !== 8) bad();
  const r =
    arg.kind === 'btf'
      ? btfPointer(env, arg.struct, { trusted: arg.untrusted !== true, maybeNull: arg.maybeNull })
      : pointer('PTR_TO_BUF', { rdonly: arg.rdonly, maybeNull: true });
  if (r.maybeNull) r.id = nextId(env);
  return r;
}
