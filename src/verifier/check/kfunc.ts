// kfunc calls (`call` src=BPF_PSEUDO_KFUNC_CALL). The kernel names a kfunc by its vmlinux BTF
// id; tsbpf's loader gives each kfunc it implements a small id of its own, and the caller of
// verify() says which name each id stands for (VerifyProgram.kfuncs). The verifier knows the
// kfuncs below; a call to any other kfunc is refused before exploration (cfg.ts).
// kernel: check_kfunc_call()
import type { Insn } from '../../isa/index.ts';
import type { ArgSpec, FuncProto } from '../../vm/helpers.ts';
import type { ProgTypeName, VerifierEnv } from '../env.ts';
import { nextId, reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import { isKnownZero, pointer, unknownScalar } from '../reg.ts';
import type { VerifierState } from '../state.ts';
import { curFrame } from '../state.ts';
import { checkKfuncArgs, inSleepable, releaseReference } from './call.ts';
import { btfPointer } from './btf-ptr.ts';
import type { KfuncArgMeta, KfuncArgProto } from './kfunc-args.ts';
import { checkKfuncArg, checkKfuncRelease, hasKf, kfArgKind } from './kfunc-args.ts';
import { markRegNotInit } from './regs.ts';
import { dynptrKfuncSlice } from './dynptr.ts';
import { tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';

const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

// kernel: net/core/filter.c bpf_kfunc_set_skb / bpf_kfunc_set_xdp
const SKB_PROG_TYPES: readonly ProgTypeName[] = [
  'sched_cls',
  'sched_act',
  'sk_skb',
  'socket_filter',
  'cgroup_skb',
  'lwt_out',
  'lwt_in',
  'lwt_xmit',
  'lwt_seg6local',
  'netfilter',
  'tracing',
];

/** kernel: may_access_direct_pkt_data(env, NULL, BPF_WRITE) */
const PKT_WRITE_PROG_TYPES: ReadonlySet<string> = new Set([
  'sched_cls',
  'sched_act',
  'xdp',
  'lwt_xmit',
  'sk_skb',
  'sk_msg',
  'cgroup_sockopt',
]);

const a = (type: ArgSpec['type'], ...flags: NonNullable<ArgSpec['flags']>): ArgSpec =>
  flags.length ? { type, flags } : { type };

const dynptrIn = a('ARG_PTR_TO_DYNPTR', 'MEM_RDONLY');
// void *bpf_dynptr_slice(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk)
const sliceProto = (): KfuncProto => ({
  ret: 'RET_PTR_TO_MEM_OR_NULL',
  args: [
    dynptrIn,
    a('ARG_ANYTHING'),
    a('ARG_PTR_TO_MEM', 'PTR_MAYBE_NULL', 'MEM_UNINIT', 'MEM_WRITE'),
    a('ARG_CONST_SIZE_OR_ZERO'),
  ],
});
const SLICE_NO_BUFFER: KfuncProto = { ...sliceProto(), args: [dynptrIn, a('ARG_ANYTHING')] };

interface KfuncProto extends FuncProto, KfuncArgProto {
  /** kernel: KF_SLEEPABLE */
  sleepable?: boolean;
  /** The program types whose kfunc id set holds it (kernel: register_btf_kfunc_id_set()); all if absent. */
  progTypes?: readonly ProgTypeName[];
  /** Returns `struct NAME *` (kernel: a kfunc whose BTF return type points to a struct). */
  retBtf?: string;
}

// kernel: kernel/bpf/helpers.c kfunc_init(): generic_kfunc_set's program types
const GENERIC_PROG_TYPES: readonly ProgTypeName[] = [
  'tracing',
  'sched_cls',
  'xdp',
  'struct_ops',
  'syscall',
  'cgroup_skb',
];

const task = a('ARG_PTR_TO_BTF_ID');

// kernel: the BTF_ID_FLAGS() sets of kernel/bpf/helpers.c (common_btf_ids: every program type)
const KFUNC_PROTOS: ReadonlyMap<string, KfuncProto> = new Map<string, KfuncProto>([
  ['bpf_rcu_read_lock', { ret: 'RET_VOID', args: [] }],
  [
    // int bpf_dynptr_from_skb(struct __sk_buff *s, u64 flags, struct bpf_dynptr *ptr__uninit)
    'bpf_dynptr_from_skb',
    {
      ret: 'RET_INTEGER',
      args: [a('ARG_PTR_TO_CTX'), a('ARG_ANYTHING'), a('ARG_PTR_TO_DYNPTR', 'DYNPTR_TYPE_SKB', 'MEM_UNINIT')],
      progTypes: SKB_PROG_TYPES,
    },
  ],
  [
    'bpf_dynptr_from_xdp',
    {
      ret: 'RET_INTEGER',
      args: [a('ARG_PTR_TO_CTX'), a('ARG_ANYTHING'), a('ARG_PTR_TO_DYNPTR', 'DYNPTR_TYPE_XDP', 'MEM_UNINIT')],
      progTypes: ['xdp'],
    },
  ],
  ['bpf_dynptr_slice', sliceProto()],
  ['bpf_dynptr_slice_rdwr', sliceProto()],
  ['bpf_dynptr_size', { ret: 'RET_INTEGER', args: [dynptrIn] }],
  ['bpf_dynptr_is_null', { ret: 'RET_INTEGER', args: [dynptrIn] }],
  ['bpf_dynptr_is_rdonly', { ret: 'RET_INTEGER', args: [dynptrIn] }],
  ['bpf_dynptr_adjust', { ret: 'RET_INTEGER', args: [dynptrIn, a('ARG_ANYTHING'), a('ARG_ANYTHING')] }],
  // int bpf_dynptr_clone(const struct bpf_dynptr *p, struct bpf_dynptr *clone__uninit)
  ['bpf_dynptr_clone', { ret: 'RET_INTEGER', args: [dynptrIn, a('ARG_PTR_TO_DYNPTR', 'MEM_UNINIT')] }],
  // int bpf_dynptr_copy(struct bpf_dynptr *dst_ptr, u32 dst_off, struct bpf_dynptr *src_ptr, u32 src_off, u32 size)
  [
    'bpf_dynptr_copy',
    {
      ret: 'RET_INTEGER',
      args: [dynptrIn, a('ARG_ANYTHING'), dynptrIn, a('ARG_ANYTHING'), a('ARG_ANYTHING')],
    },
  ],
  // int bpf_dynptr_memset(struct bpf_dynptr *p, u32 offset, u32 size, u8 val)
  [
    'bpf_dynptr_memset',
    { ret: 'RET_INTEGER', args: [dynptrIn, a('ARG_ANYTHING'), a('ARG_ANYTHING'), a('ARG_ANYTHING')] },
  ],
  ['bpf_rcu_read_unlock', { ret: 'RET_VOID', args: [] }],
  // struct task_struct *bpf_task_acquire(struct task_struct *p): KF_ACQUIRE | KF_RCU | KF_RET_NULL
  [
    'bpf_task_acquire',
    {
      ret: 'RET_PTR_TO_BTF_ID',
      args: [task],
      argBtf: ['task_struct'],
      retBtf: 'task_struct',
      flags: ['KF_ACQUIRE', 'KF_RCU', 'KF_RET_NULL'],
      progTypes: GENERIC_PROG_TYPES,
    },
  ],
  // void bpf_task_release(struct task_struct *p): KF_RELEASE
  [
    'bpf_task_release',
    {
      ret: 'RET_VOID',
      args: [task],
      argBtf: ['task_struct'],
      flags: ['KF_RELEASE'],
      progTypes: GENERIC_PROG_TYPES,
    },
  ],
  // void *bpf_obj_new_impl(u64 local_type_id__k, void *meta__ign): KF_ACQUIRE | KF_RET_NULL
  [
    'bpf_obj_new_impl',
    {
      ret: 'RET_PTR_TO_BTF_ID',
      args: [a('ARG_ANYTHING'), a('ARG_ANYTHING')],
      kinds: ['const', 'ignore'],
      flags: ['KF_ACQUIRE', 'KF_RET_NULL'],
      progTypes: GENERIC_PROG_TYPES,
    },
  ],
  // void bpf_obj_drop_impl(void *p__alloc, void *meta__ign): KF_RELEASE
  [
    'bpf_obj_drop_impl',
    {
      ret: 'RET_VOID',
      args: [a('ARG_ANYTHING'), a('ARG_ANYTHING')],
      kinds: ['alloc', 'ignore'],
      flags: ['KF_RELEASE'],
      progTypes: GENERIC_PROG_TYPES,
    },
  ],
  // struct task_struct *bpf_task_from_pid(s32 pid): KF_ACQUIRE | KF_RET_NULL
  [
    'bpf_task_from_pid',
    {
      ret: 'RET_PTR_TO_BTF_ID',
      args: [a('ARG_ANYTHING')],
      retBtf: 'task_struct',
      flags: ['KF_ACQUIRE', 'KF_RET_NULL'],
      progTypes: GENERIC_PROG_TYPES,
    },
  ],
  [
    // int bpf_copy_from_user_str(void *dst, u32 dst__sz, const void *unsafe_ptr__ign, u64 flags)
    'bpf_copy_from_user_str',
    {
      ret: 'RET_INTEGER',
      args: [
        a('ARG_PTR_TO_MEM', 'MEM_WRITE'),
        a('ARG_CONST_SIZE_OR_ZERO'),
        a('ARG_ANYTHING'),
        a('ARG_ANYTHING'),
      ],
      kinds: [undefined, undefined, 'ignore'],
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
  if (fn.progTypes && !fn.progTypes.includes(env.progType))
    reject(`calling kernel function ${name} is not allowed`);
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
  const slice = name === 'bpf_dynptr_slice' || name === 'bpf_dynptr_slice_rdwr';
  // buffer__opt: a NULL buffer skips the memory check of the pair (kernel: check_kfunc_args())
  const noBuffer = slice && isKnownZero(curFrame(state).regs[3]!);
  const clone = name === 'bpf_dynptr_clone';
  const proto = noBuffer ? SLICE_NO_BUFFER : fn;
  const argMeta: KfuncArgMeta = { refObjId: 0, releaseRegno: 0, constant: -1 };
  const dynptr = checkKfuncArgs(env, state, helperView(proto), idx, clone, (i) =>
    checkKfuncArg(env, state, name, proto, i, argMeta),
  );
  checkKfuncRelease(name, fn, argMeta);
  if (hasKf(fn, 'KF_RELEASE')) releaseReference(env, state, argMeta.refObjId);
  let r0: RegState | undefined;
  if (slice) {
    // buffer__szk: the slice's size, a constant
    const size = curFrame(state).regs[4]!;
    if (size.type !== 'SCALAR_VALUE' || !tnum.isConst(size.s.varOff)) reject('R4 must be a known constant');
    const rdwr = name === 'bpf_dynptr_slice_rdwr';
    if (rdwr && !PKT_WRITE_PROG_TYPES.has(env.progType))
      reject('the prog does not allow writes to packet data');
    const memSize = u64.toNumberU(tnum.value(size.s.varOff)) ?? 0;
    r0 = dynptrKfuncSlice(env, memSize, dynptr!, !rdwr);
  }
  const frame = curFrame(state);
  for (let r = 0; r <= 5; r++) {
    markRegNotInit(frame, r);
    env.log.scratchReg(r);
  }
  if (fn.ret === 'RET_INTEGER') frame.regs[0] = unknownScalar();
  if (fn.retBtf) frame.regs[0] = kfuncBtfResult(env, state, fn, idx, btfPointer(env, fn.retBtf));
  if (name === 'bpf_obj_new_impl')
    frame.regs[0] = kfuncBtfResult(env, state, fn, idx, objNew(env, argMeta.constant));
  if (r0) frame.regs[0] = r0;
}

// kernel: the bpf_obj_new_impl case of check_kfunc_call(): a struct of the program's own BTF
function objNew(env: VerifierEnv, typeId: number): RegState {
  if (typeId < 0 || typeId > 0xffffffff) reject('local type ID argument must be in range [0, U32_MAX]');
  const btf = env.btf;
  if (!btf) reject('bpf_obj_new/bpf_percpu_obj_new requires prog BTF');
  const t = typeId > 0 && typeId < btf.count + 1 ? btf.typeById(typeId) : undefined;
  if (!t || (t.kind !== 'struct' && t.kind !== 'union'))
    reject('bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct');
  return pointer('PTR_TO_BTF_ID', { btfId: typeId, alloc: true });
}

/**
 * The prototype the helper checks see: memory and `struct NAME *` arguments pass their type
 * check untouched (the kernel checks them in check_kfunc_args(), kfunc-args.ts), sizes still
 * bound the memory before them.
 */
function helperView(fn: KfuncProto): FuncProto {
  const args = fn.args.map((x, i) => {
    const kind = kfArgKind(fn, i);
    if (kind === 'mem' || kind === 'btf' || kind === 'ignore') return { ...x, type: 'ARG_ANYTHING' as const };
    return x;
  });
  return { ret: fn.ret, args };
}

// kernel: check_kfunc_call() for a kfunc returning a pointer to a struct
function kfuncBtfResult(
  env: VerifierEnv,
  state: VerifierState,
  fn: KfuncProto,
  idx: number,
  r: RegState,
): RegState {
  const retNull = hasKf(fn, 'KF_RET_NULL');
  r.maybeNull = retNull;
  if (retNull) r.id = nextId(env);
  if (hasKf(fn, 'KF_ACQUIRE')) {
    const id = nextId(env);
    state.refs.push({ id, insnIdx: idx });
    if (retNull) r.id = id;
    r.refObjId = id;
  }
  return r;
}
