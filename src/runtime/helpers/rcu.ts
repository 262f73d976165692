// bpf_rcu_read_lock()/bpf_rcu_read_unlock(): tsbpf runs programs one at a time and frees nothing
// while one runs, so a read section protects nothing here; the verifier enforces the rules
// (verifier/check/kfunc.ts). The depth only lets tests see that sections open and close.
// kernel: kernel/bpf/helpers.c
import type { Helper } from '../../vm/helpers.ts';

export interface RcuState {
  /** Sections open now (0 after every program the verifier accepted). */
  depth: number;
}

export function rcuKfuncs(ids: { lock: number; unlock: number }, state: RcuState): Helper[] {
  return [
    {
      id: ids.lock,
      name: 'bpf_rcu_read_lock',
      proto: { ret: 'RET_VOID', args: [] },
      impl: () => {
        state.depth++;
        return 0;
      },
    },
    {
      id: ids.unlock,
      name: 'bpf_rcu_read_unlock',
      proto: { ret: 'RET_VOID', args: [] },
      impl: () => {
        if (state.depth > 0) state.depth--;
        return 0;
      },
    },
  ];
}
