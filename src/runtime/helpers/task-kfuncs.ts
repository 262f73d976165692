// The task kfuncs over the runtime's task model: one task, the current one (the block
// bpf_get_current_task_btf() hands out, pid/tgid/comm from the host facts). Tasks here never
// die while a program runs, so acquire and release only count references.
// kernel: kernel/bpf/helpers.c bpf_task_acquire(), bpf_task_release(), bpf_task_from_pid()
import type { Helper, HelperTable } from '../../vm/helpers.ts';
import type { RuntimeEnv } from './env.ts';
import { KFUNC_IDS } from './kfuncs.ts';
import { currentTaskAddr } from './task-btf.ts';

/** References the programs hold on tasks (acquired minus released); 0 after balanced runs. */
export interface TaskRefs {
  held: number;
}

const task = { type: 'ARG_PTR_TO_BTF_ID' } as const;

export function taskKfuncs(env: RuntimeEnv, refs: TaskRefs): Helper[] {
  return [
    {
      id: KFUNC_IDS.bpf_task_acquire!,
      name: 'bpf_task_acquire',
      proto: { ret: 'RET_PTR_TO_BTF_ID', args: [task] },
      // refcount_inc_not_zero() on a live task: the same pointer back
      impl: (_ctx, p) => {
        if (p) refs.held++;
        return p;
      },
    },
    {
      id: KFUNC_IDS.bpf_task_release!,
      name: 'bpf_task_release',
      proto: { ret: 'RET_VOID', args: [task] },
      impl: () => {
        refs.held--;
        return 0;
      },
    },
    {
      id: KFUNC_IDS.bpf_task_from_pid!,
      name: 'bpf_task_from_pid',
      proto: { ret: 'RET_PTR_TO_BTF_ID', args: [{ type: 'ARG_ANYTHING' }] },
      // find_task_by_pid_ns(pid, &init_pid_ns): the current task is the only one modelled
      impl: (ctx, pidU) => {
        const pid = pidU | 0;
        const h = env.host;
        if (pid <= 0 || (pid !== (h.pid ?? 0) && pid !== (h.tgid ?? h.pid ?? 0))) return 0;
        refs.held++;
        return currentTaskAddr(ctx, env);
      },
    },
  ];
}

export function registerTaskKfuncs(t: HelperTable, env: RuntimeEnv): TaskRefs {
  const refs: TaskRefs = { held: 0 };
  for (const k of taskKfuncs(env, refs)) t.register(k);
  return refs;
}
