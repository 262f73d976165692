// Helper prototypes the verifier checks calls against (kernel: the bpf_func_proto of each helper
// and each program type's get_func_proto()). The runtime's table (src/vm/helpers.ts) only has
// the helpers it implements; the verifier needs the prototypes of every helper programs call.
import type { ArgSpec, ArgType, FuncProto, TypeFlag } from '../vm/helpers.ts';
import { isSleepableLsmHook } from './check/lsm-hooks.ts';
import type { ProgTypeName, VerifierEnv } from './env.ts';

/** Which program types get a helper (kernel: bpf_base_func_proto() and the per-type lists). */
type Avail = 'base' | 'tracing' | 'skb' | 'tc' | 'xdp' | 'tc_xdp' | 'perf_out' | 'iter' | 'btf_tracing';

export interface HelperProto extends FuncProto {
  avail: Avail;
  /** Per argument: the struct an ARG_PTR_TO_BTF_ID must point to (kernel: arg_btf_id). */
  argBtf?: readonly (string | undefined)[];
  /** RET_PTR_TO_BTF_ID: the struct, trusted (kernel: ret_btf_id, RET_PTR_TO_BTF_ID_TRUSTED). */
  retBtf?: string;
  /** May this program call the helper at all (kernel: bpf_func_proto.allowed)? */
  allowed?: (env: Pick<VerifierEnv, 'progType' | 'attachType' | 'attachTo'>) => boolean;
}

/** kernel: btf_allowlist_d_path (fentry/fexit/fmod_ret targets) */
const D_PATH_ALLOWLIST = new Set([
  'security_file_permission',
  'security_inode_getattr',
  'security_file_open',
  'security_path_truncate',
  'vfs_truncate',
  'vfs_fallocate',
  'dentry_open',
  'vfs_getattr',
  'filp_close',
]);

// kernel: bpf_d_path_allowed()
function dPathAllowed(env: Pick<VerifierEnv, 'progType' | 'attachType' | 'attachTo'>): boolean {
  if (env.progType === 'tracing' && env.attachType === 'trace_iter') return true;
  if (env.progType === 'lsm') return isSleepableLsmHook(env.attachTo ?? '');
  const tramp =
    env.attachType === 'trace_fentry' ||
    env.attachType === 'trace_fexit' ||
    env.attachType === 'modify_return';
  return env.progType === 'tracing' && tramp && D_PATH_ALLOWLIST.has(env.attachTo ?? '');
}

const a = (type: ArgType, ...flags: TypeFlag[]): ArgSpec => (flags.length ? { type, flags } : { type });
const ANY = a('ARG_ANYTHING');
const MAP = a('ARG_CONST_MAP_PTR');
const KEY = a('ARG_PTR_TO_MAP_KEY');
const CTX = a('ARG_PTR_TO_CTX');
const RO_MEM = a('ARG_PTR_TO_MEM', 'MEM_RDONLY');
const UNINIT_MEM = a('ARG_PTR_TO_MEM', 'MEM_UNINIT', 'MEM_WRITE');
const SIZE = a('ARG_CONST_SIZE');
const SIZE0 = a('ARG_CONST_SIZE_OR_ZERO');
/** kernel: ARG_PTR_TO_BTF_ID with btf_seq_file_ids[0] */
const SEQ_FILE = a('ARG_PTR_TO_BTF_ID');
const int = (avail: Avail, ...args: ArgSpec[]): HelperProto => ({ ret: 'RET_INTEGER', args, avail });

// kernel: enum bpf_func_id values
export const HELPER_PROTOS: ReadonlyMap<number, HelperProto> = new Map<number, HelperProto>([
  [1, { ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [MAP, KEY], avail: 'base' }],
  [2, int('base', MAP, KEY, a('ARG_PTR_TO_MAP_VALUE'), ANY)],
  [3, int('base', MAP, KEY)],
  [4, int('tracing', UNINIT_MEM, SIZE0, ANY)],
  [5, int('base')],
  // the format's arguments are not checked (kernel: bpf_trace_printk_proto has two args)
  [6, int('base', RO_MEM, SIZE)],
  [7, int('base')],
  [8, int('base')],
  [9, int('tc', CTX, ANY, RO_MEM, SIZE, ANY)],
  [10, int('tc', CTX, ANY, ANY, ANY, ANY)],
  [11, int('tc', CTX, ANY, ANY, ANY, ANY)],
  [12, { ret: 'RET_VOID', args: [CTX, MAP, ANY], avail: 'base' }],
  [14, int('base')],
  [15, int('tracing')],
  [16, int('tracing', UNINIT_MEM, SIZE)],
  [34, int('tc', CTX)],
  [39, int('tc', CTX, ANY)],
  [23, int('tc_xdp', ANY, ANY)],
  [25, int('perf_out', CTX, MAP, ANY, RO_MEM, SIZE0)],
  [26, int('skb', CTX, ANY, UNINIT_MEM, SIZE)],
  [
    28,
    int(
      'tc_xdp',
      a('ARG_PTR_TO_MEM', 'PTR_MAYBE_NULL', 'MEM_RDONLY'),
      SIZE0,
      a('ARG_PTR_TO_MEM', 'PTR_MAYBE_NULL', 'MEM_RDONLY'),
      SIZE0,
      ANY,
    ),
  ],
  [35, int('tracing')],
  [44, int('xdp', CTX, ANY)],
  [51, int('xdp', MAP, ANY, ANY)],
  [54, int('xdp', CTX, ANY)],
  [65, int('xdp', CTX, ANY)],
  [87, int('base', MAP, a('ARG_PTR_TO_MAP_VALUE', 'MEM_RDONLY'), ANY)],
  [88, int('base', MAP, a('ARG_PTR_TO_MAP_VALUE', 'MEM_UNINIT', 'MEM_WRITE'))],
  [89, int('base', MAP, a('ARG_PTR_TO_MAP_VALUE', 'MEM_UNINIT', 'MEM_WRITE'))],
  [112, int('tracing', UNINIT_MEM, SIZE0, ANY)],
  [113, int('tracing', UNINIT_MEM, SIZE0, ANY)],
  [114, int('tracing', UNINIT_MEM, SIZE0, ANY)],
  [115, int('tracing', UNINIT_MEM, SIZE0, ANY)],
  [93, { ret: 'RET_VOID', args: [a('ARG_PTR_TO_SPIN_LOCK')], avail: 'base' }],
  [94, { ret: 'RET_VOID', args: [a('ARG_PTR_TO_SPIN_LOCK')], avail: 'base' }],
  [125, int('base')],
  // kernel: bpf_seq_printf_proto, bpf_seq_write_proto, bpf_seq_printf_btf_proto (iterators only)
  [126, int('iter', SEQ_FILE, RO_MEM, SIZE, a('ARG_PTR_TO_MEM', 'PTR_MAYBE_NULL', 'MEM_RDONLY'), SIZE0)],
  [127, int('iter', SEQ_FILE, RO_MEM, SIZE0)],
  [128, int('iter', SEQ_FILE, RO_MEM, SIZE0, ANY)],
  [130, int('base', MAP, RO_MEM, SIZE0, ANY)],
  [
    131,
    { ret: 'RET_PTR_TO_MEM_OR_NULL', args: [MAP, a('ARG_CONST_ALLOC_SIZE_OR_ZERO'), ANY], avail: 'base' },
  ],
  // kernel: bpf_copy_from_user_proto (might_sleep; in bpf_base_func_proto())
  [148, { ...int('base', UNINIT_MEM, SIZE0, ANY), mightSleep: true }],
  [132, { ret: 'RET_VOID', args: [a('ARG_PTR_TO_RINGBUF_MEM', 'OBJ_RELEASE'), ANY], avail: 'base' }],
  [133, { ret: 'RET_VOID', args: [a('ARG_PTR_TO_RINGBUF_MEM', 'OBJ_RELEASE'), ANY], avail: 'base' }],
  [134, int('base', MAP, ANY)],
  [160, int('base')],
  // kernel: bpf_for_each_map_elem_proto (bpf_base_func_proto(), bpf_capable)
  [164, int('base', MAP, a('ARG_PTR_TO_FUNC'), a('ARG_PTR_TO_STACK', 'PTR_MAYBE_NULL'), ANY)],
  // kernel: bpf_user_ringbuf_drain_proto (bpf_base_func_proto(), bpf_capable)
  [209, int('base', MAP, a('ARG_PTR_TO_FUNC'), a('ARG_PTR_TO_STACK', 'PTR_MAYBE_NULL'), ANY)],
  [169, int('base', a('ARG_PTR_TO_TIMER'), MAP, ANY)],
  [170, int('base', a('ARG_PTR_TO_TIMER'), a('ARG_PTR_TO_FUNC'))],
  [171, int('base', a('ARG_PTR_TO_TIMER'), ANY, ANY)],
  [172, int('base', a('ARG_PTR_TO_TIMER'))],
  [181, int('base', ANY, a('ARG_PTR_TO_FUNC'), a('ARG_PTR_TO_STACK', 'PTR_MAYBE_NULL'), ANY)],
  // kernel: bpf_probe_read_compat_str_proto (gpl_only)
  [45, { ...int('tracing', UNINIT_MEM, SIZE0, ANY), gplOnly: true }],
  // kernel: bpf_strtol_proto, bpf_strtoul_proto (bpf_base_func_proto() since 6.12); the result
  // pointer is the kernel's ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED of 8
  [105, int('base', RO_MEM, SIZE, ANY, a('ARG_PTR_TO_LONG'))],
  [106, int('base', RO_MEM, SIZE, ANY, a('ARG_PTR_TO_LONG'))],
  // kernel: bpf_snprintf_proto (gpl_only); the format is checked at load (check_bpf_snprintf_call())
  [
    165,
    {
      ...int(
        'base',
        a('ARG_PTR_TO_MEM', 'PTR_MAYBE_NULL', 'MEM_WRITE'),
        SIZE0,
        a('ARG_PTR_TO_CONST_STR'),
        a('ARG_PTR_TO_MEM', 'PTR_MAYBE_NULL', 'MEM_RDONLY'),
        SIZE0,
      ),
      gplOnly: true,
    },
  ],
  // kernel: bpf_xdp_get_buff_len_proto, bpf_xdp_load_bytes_proto, bpf_xdp_store_bytes_proto
  [188, int('xdp', CTX)],
  [189, int('xdp', CTX, ANY, UNINIT_MEM, SIZE)],
  [190, int('xdp', CTX, ANY, RO_MEM, SIZE)],
  // kernel: the dynptr helpers (bpf_base_func_proto(), bpf_capable; check/dynptr.ts)
  [
    197,
    int(
      'base',
      UNINIT_MEM,
      SIZE0,
      ANY,
      a('ARG_PTR_TO_DYNPTR', 'DYNPTR_TYPE_LOCAL', 'MEM_UNINIT', 'MEM_WRITE'),
    ),
  ],
  [198, int('base', MAP, ANY, ANY, a('ARG_PTR_TO_DYNPTR', 'DYNPTR_TYPE_RINGBUF', 'MEM_UNINIT', 'MEM_WRITE'))],
  [
    199,
    {
      ret: 'RET_VOID',
      args: [a('ARG_PTR_TO_DYNPTR', 'DYNPTR_TYPE_RINGBUF', 'OBJ_RELEASE'), ANY],
      avail: 'base',
    },
  ],
  [
    200,
    {
      ret: 'RET_VOID',
      args: [a('ARG_PTR_TO_DYNPTR', 'DYNPTR_TYPE_RINGBUF', 'OBJ_RELEASE'), ANY],
      avail: 'base',
    },
  ],
  [201, int('base', UNINIT_MEM, SIZE0, a('ARG_PTR_TO_DYNPTR', 'MEM_RDONLY'), ANY, ANY)],
  [202, int('base', a('ARG_PTR_TO_DYNPTR', 'MEM_RDONLY'), ANY, RO_MEM, SIZE0, ANY)],
  [
    203,
    {
      ret: 'RET_PTR_TO_DYNPTR_MEM_OR_NULL',
      args: [a('ARG_PTR_TO_DYNPTR', 'MEM_RDONLY'), ANY, a('ARG_CONST_ALLOC_SIZE_OR_ZERO')],
      avail: 'base',
    },
  ],
  // kernel: bpf_map_lookup_percpu_elem_proto (per-CPU maps only: check_map_func_compatibility())
  [195, { ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [MAP, KEY, ANY], avail: 'base' }],
  // kernel: bpf_get_current_task_btf_proto (RET_PTR_TO_BTF_ID_TRUSTED; bpf_base_func_proto())
  [158, { ret: 'RET_PTR_TO_BTF_ID', args: [], avail: 'base', retBtf: 'task_struct' }],
  // void *bpf_kptr_xchg(void *map_value, void *ptr): the kptr's struct comes from the map's BTF
  [
    194,
    {
      ret: 'RET_PTR_TO_BTF_ID_OR_NULL',
      args: [a('ARG_PTR_TO_KPTR'), a('ARG_PTR_TO_BTF_ID', 'PTR_MAYBE_NULL', 'OBJ_RELEASE')],
      avail: 'base',
    },
  ],
  // kernel: bpf_d_path_proto (tracing_prog_func_proto(); its `allowed` checks the attach point)
  [
    147,
    {
      ...int('btf_tracing', a('ARG_PTR_TO_BTF_ID'), UNINIT_MEM, SIZE0),
      argBtf: ['path'],
      allowed: dPathAllowed,
    },
  ],
  // kernel: bpf_copy_from_user_task_proto (gpl_only, might_sleep; bpf_base_func_proto())
  [
    191,
    {
      ...int('base', UNINIT_MEM, SIZE0, ANY, a('ARG_PTR_TO_BTF_ID'), ANY),
      argBtf: [undefined, undefined, undefined, 'task_struct'],
      mightSleep: true,
      gplOnly: true,
    },
  ],
]);

/**
 * Helpers that may move or resize the packet (kernel: bpf_helper_changes_pkt_data()): packet
 * pointers are invalid after them.
 */
const CHANGES_PKT_DATA = new Set([
  9, 10, 11, 13, 18, 19, 31, 38, 39, 43, 44, 50, 54, 63, 65, 73, 74, 75, 76, 90, 91,
]);
export const helperChangesPktData = (id: number): boolean => CHANGES_PKT_DATA.has(id);

/** Helpers whose result is a reference the program must release (kernel: is_acquire_function()). */
/** kernel: is_acquire_function() (ringbuf_reserve, kptr_xchg) */
export const isAcquireHelper = (id: number): boolean => id === 131 || id === 194;
/** kernel: is_release_function(): an argument carries OBJ_RELEASE */
export const isReleaseHelper = (id: number): boolean =>
  HELPER_PROTOS.get(id)?.args.some((x) => x.flags?.includes('OBJ_RELEASE')) === true;

// kernel: bpf_base_func_proto(): the part of the base set a loader without CAP_BPF gets. The rest
// needs CAP_BPF (spin locks, timers, and since 6.12 bpf_loop and bpf_for_each_map_elem, commit
// 5679ff2f138f) or CAP_PERFMON (trace_printk, probe reads, copy_from_user, snprintf).
const BASE_UNPRIVILEGED = new Set(
  [
    [1, 2, 3, 87, 88, 89, 195], // map lookup/update/delete, push/pop/peek, lookup_percpu_elem
    [7, 8, 42, 12, 5, 125, 208], // prandom, smp id, numa node, tail call, ktime ns/boot/tai
    [130, 131, 132, 133, 134], // ringbuf output/reserve/submit/discard/query
    [182, 105, 106], // strncmp, strtol, strtoul
    [14, 120, 15], // current pid_tgid, ns pid_tgid, uid_gid
  ].flat(),
);

// lsm: bpf_lsm_func_proto() falls back to tracing_prog_func_proto()
const TRACING_TYPES = new Set([
  'kprobe',
  'tracepoint',
  'raw_tracepoint',
  'tracing',
  'perf_event',
  'syscall',
  'lsm',
]);

// kernel: bpf_base_func_proto(), its last part: the base helpers only a loader with CAP_PERFMON
// gets (trace_printk, get_current_task(_btf), probe_read_user/kernel(_str), snprintf_btf,
// copy_from_user, snprintf, task_pt_regs, trace_vprintk, copy_from_user_task)
const BASE_PERFMON = new Set([6, 35, 158, 112, 113, 114, 115, 149, 148, 165, 175, 177, 191]);

/**
 * The prototype program type `t` gets for helper `id`, or null (kernel: env->ops->get_func_proto()).
 * `unprivileged`: loaded without CAP_BPF (nor CAP_PERFMON); `perfmon`: with CAP_PERFMON.
 */
export function getHelperProto(
  id: number,
  t: ProgTypeName,
  attachType?: string,
  unprivileged = false,
  perfmon = !unprivileged,
): HelperProto | null {
  const p = HELPER_PROTOS.get(id);
  if (!p) return null;
  if (unprivileged && p.avail === 'base' && !BASE_UNPRIVILEGED.has(id)) return null;
  if (!perfmon && p.avail === 'base' && BASE_PERFMON.has(id)) return null;
  const tc = t === 'sched_cls' || t === 'sched_act';
  switch (p.avail) {
    case 'base':
      return p;
    case 'tracing':
      return TRACING_TYPES.has(t) ? p : null;
    case 'skb':
      return tc || t === 'socket_filter' ? p : null;
    case 'tc':
      return tc ? p : null;
    case 'xdp':
      return t === 'xdp' ? p : null;
    case 'tc_xdp':
      return tc || t === 'xdp' ? p : null;
    case 'perf_out':
      return tc || t === 'xdp' || t === 'socket_filter' || TRACING_TYPES.has(t) ? p : null;
    case 'iter':
      // kernel: tracing_prog_func_proto() checks expected_attach_type == BPF_TRACE_ITER
      return t === 'tracing' && attachType === 'trace_iter' ? p : null;
    case 'btf_tracing':
      return t === 'tracing' || t === 'lsm' ? p : null;
  }
}

/** kernel: __BPF_FUNC_MAX_ID in 6.18 */
export const BPF_FUNC_MAX_ID = 212;
