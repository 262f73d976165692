// kfunc calls (`call` src=BPF_PSEUDO_KFUNC_CALL). The kernel names a kfunc by its vmlinux BTF
// id; tsbpf's loader gives each kfunc it implements a small id of its own, and the caller of
// verify() says which name each id stands for (VerifyProgram.kfuncs). The verifier knows the
// kfuncs below; a call to any other kfunc is refused before exploration (cfg.ts).
// kernel: check_kfunc_call()
import type { Insn } from '../../isa/index.ts';
import type { ArgSpec, FuncProto } from '../../vm/helpers.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import { unknownScalar } from '../reg.ts';
import type { VerifierState } from '../state.ts';
import { curFrame } from '../state.ts';
import { checkKfuncArgs, inSleepable } from './call.ts';
import { markRegNotInit } from './regs.ts';

interface KfuncProto extends FuncProto {
  /** kernel: KF_SLEEPABLE */
  sleepable?: boolean;
}

const a = (type: ArgSpec['type'], ...flags: NonNullable<ArgSpec['flags']>): ArgSpec =>
  flags.length ? { type, flags } : { type };

// kernel: the BTF_ID_FLAGS() sets of kernel/bpf/helpers.c (common_btf_ids: every program type)
const KFUNC_PROTOS: ReadonlyMap<string, KfuncProto> = new Map<string, KfuncProto>([
  ['bpf_rcu_read_lock', { ret: 'RET_VOID', args: [] }],
  ['bpf_rcu_read_unlock', { ret: 'RET_VOID', args: [] }],
  [
    // int bpf_copy_from_user_str(void *dst, u32 dst__sz, const void *unsafe_ptr__ign, u64 flags)
    'bpf_copy_from_user_str',
    {
      ret: 'RET_INTEGER',
      args: [
        a('ARG_PTR_TO_MEM', 'MEM_UNINIT', 'MEM_WRITE'),
        a('ARG_CONST_SIZE_OR_ZERO'),
        a('ARG_ANYTHING'),
        a('ARG_ANYTHING'),
      ],
      sleepable: true,
    },
  ],
]);

/** The number of parameters of kfunc `name`, if the verifier knows it. */
export const kfuncParamCount = (name: string | undefined): number | undefined =>
  name === undefined ? undefined : KFUNC_PROTOS.get(name)?.args.length;

/** Whether the verifier can check calls to kfunc `name`. */
export const knownKfunc = (name: string | undefined): boolean => name !== undefined && KFUNC_PROTOS.has(name);

// kernel: check_kfunc_call(), for kfuncs without BTF-typed arguments
export function checkKfuncCall(env: VerifierEnv, state: VerifierState, insn: Insn, idx: number): void {
  const name = env.kfuncs.get(insn.imm);
  const fn = name === undefined ? undefined : KFUNC_PROTOS.get(name);
  if (name === undefined || fn === undefined) reject(`kernel btf_id ${insn.imm} is not a function`);
  if (fn.sleepable && !inSleepable(env, state))
    reject(`program must be sleepable to call sleepable kfunc ${name}`);
  const rcuLock = name === 'bpf_rcu_read_lock';
  const rcuUnlock = name === 'bpf_rcu_read_unlock';
  // 6.18 has one flag, not a depth: a second lock is refused (nesting came later).
  if (state.activeRcuLock) {
    if (rcuLock) reject(`nested rcu read lock (kernel function ${name})`);
    else if (rcuUnlock) state.activeRcuLock = false;
    else if (fn.sleepable) reject(`kernel func ${name} is sleepable within rcu_read_lock region`);
  } else if (rcuLock) state.activeRcuLock = true;
  else if (rcuUnlock) reject(`unmatched rcu read unlock (kernel function ${name})`);
  checkKfuncArgs(env, state, fn, idx);
  const frame = curFrame(state);
  for (let r = 0; r <= 5; r++) {
    markRegNotInit(frame, r);
    env.log.scratchReg(r);
  }
  if (fn.ret === 'RET_INTEGER') frame.regs[0] = unknownScalar();
}
