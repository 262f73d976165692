// The prototype a BTF-attached tracing program's ctx is typed by (kernel: prog->aux->
// attach_func_proto, found by bpf_check_attach_target()): the attach function's FUNC_PROTO for
// fentry/fexit/fmod_ret, bpf_lsm_<hook>'s for lsm, and the btf_trace_<tp> typedef's pointed-to
// FUNC_PROTO (first `void *__data` argument skipped) for tp_btf. It lives in the kernel's BTF:
// the attach BTF given to verify(), else the CO-RE target, else the program's own BTF.
import type { Btf } from '../../btf/btf.ts';
import type { BtfFuncProto } from '../../btf/types.ts';
import type { VerifierEnv } from '../env.ts';

export interface AttachProto {
  btf: Btf;
  /** The name the kernel's messages use (kernel: tgt_info->tgt_name). */
  name: string;
  /** Every argument, a tracepoint's leading `__data` included: slots are counted over them all. */
  params: BtfFuncProto['params'];
  /** Leading arguments the program does not see (1 for tp_btf; kernel: attach_btf_trace). */
  skip: number;
  /** Return type id (0 = void). */
  ret: number;
}

const cache = new WeakMap<VerifierEnv, AttachProto | null>();

/** Where the attach point is looked up for this program, or undefined (kernel: attach_btf_id). */
function target(env: VerifierEnv): { name: string; kind: 'func' | 'typedef'; shown: string } | undefined {
  const to = env.attachTo;
  if (to === undefined) return undefined;
  switch (env.attachType) {
    case 'trace_fentry':
    case 'trace_fexit':
    case 'modify_return':
      return env.progType === 'tracing' ? { name: to, kind: 'func', shown: to } : undefined;
    case 'lsm_mac':
      return env.progType === 'lsm'
        ? { name: `bpf_lsm_${to}`, kind: 'func', shown: `bpf_lsm_${to}` }
        : undefined;
    case 'trace_raw_tp':
      return env.progType === 'tracing' ? { name: `btf_trace_${to}`, kind: 'typedef', shown: to } : undefined;
    default:
      return undefined;
  }
}

function lookup(env: VerifierEnv): AttachProto | null {
  const want = target(env);
  if (!want) return null;
  for (const btf of [env.attachBtf, env.layoutBtf, env.btf]) {
    if (!btf) continue;
    const t = btf.findByName(want.name, want.kind)[0];
    if (!t || (t.kind !== 'func' && t.kind !== 'typedef')) continue;
    let proto = btf.typeById(t.type);
    // a tracepoint's typedef is a pointer to its probe's prototype
    if (want.kind === 'typedef' && proto.kind === 'ptr') proto = btf.typeById(proto.type);
    if (proto.kind !== 'func_proto') continue;
    const skip = want.kind === 'typedef' ? 1 : 0;
    return { btf, name: want.shown, params: proto.params, skip, ret: proto.type };
  }
  return null;
}

/** The attach point's prototype, or undefined when the program has none or no BTF has it. */
export function attachProto(env: VerifierEnv): AttachProto | undefined {
  let p = cache.get(env);
  if (p === undefined) {
    p = lookup(env);
    cache.set(env, p);
  }
  return p ?? undefined;
}
