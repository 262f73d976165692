// Kernel functions (kfuncs) a program may call through `extern ... __ksym` declarations. clang
// emits `call -1` with a relocation against the extern; libbpf patches in the vmlinux BTF id.
// tsbpf has no vmlinux BTF: every kfunc here gets a small id of its own (KFUNC_IDS), and the
// collection rewrites each call to `call` src=BPF_PSEUDO_KFUNC_CALL with that id.
// kernel: kernel/bpf/bpf_iter.c (bpf_iter_num_new/next/destroy)
import type { Helper, HelperTable } from '../../vm/helpers.ts';
import { dynptrKfuncs } from '../../vm/dynptr-helpers.ts';
import type { PacketCtx } from '../../vm/packet-helpers.ts';
import { E2BIG, EINVAL } from './env.ts';
import { BPF_MAX_LOOPS } from './callbacks.ts';
import { type RcuState, rcuKfuncs } from './rcu.ts';

/** kfunc name → the id tsbpf uses for it in `call` imm. */
export const KFUNC_IDS: Readonly<Record<string, number>> = {
  bpf_iter_num_new: 1,
  bpf_iter_num_next: 2,
  bpf_iter_num_destroy: 3,
  /** Sleepable; registered with the user memory by runtime/sleep/helpers.ts. */
  bpf_copy_from_user_str: 4,
  /** No-ops with a depth (rcu.ts); the verifier checks the sections. */
  bpf_rcu_read_lock: 5,
  bpf_rcu_read_unlock: 6,
  bpf_dynptr_from_skb: 7,
  bpf_dynptr_from_xdp: 8,
  bpf_dynptr_slice: 9,
  bpf_dynptr_slice_rdwr: 10,
  bpf_dynptr_size: 11,
  bpf_dynptr_is_null: 12,
  bpf_dynptr_is_rdonly: 13,
  bpf_dynptr_adjust: 14,
  bpf_dynptr_clone: 15,
  bpf_dynptr_copy: 16,
  bpf_dynptr_memset: 17,
  /** The runtime's task objects (task-kfuncs.ts). */
  bpf_task_acquire: 18,
  bpf_task_release: 19,
  bpf_task_from_pid: 20,
  /** Objects of the program's own types (obj-kfuncs.ts). */
  bpf_obj_new_impl: 21,
  bpf_obj_drop_impl: 22,
};

const iterArg = { type: 'ARG_PTR_TO_STACK' } as const;

/** struct bpf_iter_num_kern { int cur; int end; } sits in the program's 8-byte bpf_iter_num. */
function kfuncs(): Helper[] {
  const iter = (ctx: Parameters<Helper['impl']>[0], it: number): DataView => {
    if (!ctx.arena.check(it, 8, true))
      ctx.fault('helper', `0x${it.toString(16)} is not a writable struct bpf_iter_num`);
    return ctx.arena.dv;
  };
  return [
    {
      id: KFUNC_IDS.bpf_iter_num_new!,
      name: 'bpf_iter_num_new',
      proto: { ret: 'RET_INTEGER', args: [iterArg, { type: 'ARG_ANYTHING' }, { type: 'ARG_ANYTHING' }] },
      impl: (ctx, it, startU, endU) => {
        const dv = iter(ctx, it);
        const start = startU | 0;
        const end = endU | 0;
        const fail = (e: number) => {
          dv.setInt32(it, 0, true);
          dv.setInt32(it + 4, 0, true);
          return -e;
        };
        // start == end is an empty range; the first next() returns NULL.
        if (start > end) return fail(EINVAL);
        if (end - start > BPF_MAX_LOOPS) return fail(E2BIG);
        // next() increments first, so cur starts one below.
        dv.setInt32(it, start - 1, true);
        dv.setInt32(it + 4, end, true);
        return 0;
      },
    },
    {
      id: KFUNC_IDS.bpf_iter_num_next!,
      name: 'bpf_iter_num_next',
      proto: { ret: 'RET_PTR_TO_MEM_OR_NULL', args: [iterArg] },
      impl: (ctx, it) => {
        const dv = iter(ctx, it);
        const cur = dv.getInt32(it, true);
        const end = dv.getInt32(it + 4, true);
        if (cur + 1 >= end) {
          dv.setInt32(it, 0, true);
          dv.setInt32(it + 4, 0, true);
          return 0;
        }
        dv.setInt32(it, cur + 1, true);
        return it;
      },
    },
    {
      id: KFUNC_IDS.bpf_iter_num_destroy!,
      name: 'bpf_iter_num_destroy',
      proto: { ret: 'RET_VOID', args: [iterArg] },
      impl: (ctx, it) => {
        const dv = iter(ctx, it);
        dv.setInt32(it, 0, true);
        dv.setInt32(it + 4, 0, true);
        return 0;
      },
    },
  ];
}

/**
 * Registers the kfuncs; returns the RCU section depth they keep. `ctxOf`: the packet contexts of
 * test runs (an skb dynptr is read-only where the program type may not write packets).
 */
export function registerKfuncs(t: HelperTable, ctxOf?: (ctxAddr: number) => PacketCtx | undefined): RcuState {
  const rcu: RcuState = { depth: 0 };
  const ids = { lock: KFUNC_IDS.bpf_rcu_read_lock!, unlock: KFUNC_IDS.bpf_rcu_read_unlock! };
  const dynptr = dynptrKfuncs(
    {
      fromSkb: KFUNC_IDS.bpf_dynptr_from_skb!,
      fromXdp: KFUNC_IDS.bpf_dynptr_from_xdp!,
      slice: KFUNC_IDS.bpf_dynptr_slice!,
      sliceRdwr: KFUNC_IDS.bpf_dynptr_slice_rdwr!,
      size: KFUNC_IDS.bpf_dynptr_size!,
      isNull: KFUNC_IDS.bpf_dynptr_is_null!,
      isRdonly: KFUNC_IDS.bpf_dynptr_is_rdonly!,
      adjust: KFUNC_IDS.bpf_dynptr_adjust!,
      clone: KFUNC_IDS.bpf_dynptr_clone!,
      copy: KFUNC_IDS.bpf_dynptr_copy!,
      memset: KFUNC_IDS.bpf_dynptr_memset!,
    },
    ctxOf,
  );
  for (const k of [...kfuncs(), ...rcuKfuncs(ids, rcu), ...dynptr]) t.register(k);
  return rcu;
}
