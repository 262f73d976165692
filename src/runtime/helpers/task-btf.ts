// bpf_get_current_task_btf(): a trusted pointer to the current task_struct. The program reads
// its fields directly (no probe_read), at the offsets its CO-RE relocations resolved against
// the layout BTF, so the task is a read-only block laid out as that BTF's struct task_struct
// and filled with the same host facts bpf_get_current_pid_tgid/_comm answer from.
// kernel: kernel/trace/bpf_trace.c bpf_get_current_task_btf()
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import { layoutBtfObject } from '../iter/btf-object.ts';
import type { HostInfo, RuntimeEnv } from './env.ts';

export const BPF_FUNC_get_current_task_btf = 158;

// kernel: bpf_get_current_task_btf_proto (RET_PTR_TO_BTF_ID_TRUSTED, struct task_struct)
const proto = { ret: 'RET_PTR_TO_BTF_ID', args: [] } as const satisfies FuncProto;

export function registerTaskBtfHelper(t: HelperTable, env: RuntimeEnv): void {
  t.register({
    id: BPF_FUNC_get_current_task_btf,
    name: 'bpf_get_current_task_btf',
    proto,
    impl: (ctx: HelperCtx) => currentTaskAddr(ctx, env),
  });
}

interface TaskBlock {
  addr: number;
  size: number;
  facts: string;
}
/** Per runtime: the current task's block (the task kfuncs hand out the same object). */
const blocks = new WeakMap<RuntimeEnv, TaskBlock>();

/** The arena address of the current task's struct task_struct, laid out on first use. */
export function currentTaskAddr(ctx: HelperCtx, env: RuntimeEnv): number {
  const btf = env.layoutBtf;
  if (!btf) return ctx.fault('helper', 'bpf_get_current_task_btf: no BTF describes struct task_struct');
  const h = env.host;
  const facts = factsKey(h);
  let block = blocks.get(env);
  // laid out once; again only when the host changed its facts between runs
  if (block?.facts !== facts) {
    const image = layoutBtfObject(btf, 'task_struct', {
      pid: h.pid ?? 0,
      tgid: h.tgid ?? h.pid ?? 0,
      comm: h.comm ?? '',
    });
    const a = ctx.arena;
    if (!block || block.size < image.length) {
      if (block) a.freeBlock(block.addr);
      const size = Math.max(8, image.length);
      block = {
        addr: a.alloc(size, 8, { kind: 'mem', writable: false, name: 'struct task_struct' }),
        size,
        facts,
      };
      blocks.set(env, block);
    }
    a.u8.fill(0, block.addr, block.addr + block.size);
    a.write(block.addr, image);
    block.facts = facts;
  }
  return block.addr;
}

function factsKey(h: HostInfo): string {
  return `${h.pid ?? 0}/${h.tgid ?? h.pid ?? 0}/${h.comm ?? ''}`;
}
