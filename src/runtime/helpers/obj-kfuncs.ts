// bpf_obj_new()/bpf_obj_drop(): objects of the program's own struct types, zeroed arena blocks
// the size its BTF gives. The verifier makes sure a program drops (or stashes in a map's kptr)
// every object it allocates and never touches one after dropping it.
// kernel: kernel/bpf/helpers.c bpf_obj_new_impl(), bpf_obj_drop_impl()
import type { Helper, HelperTable } from '../../vm/helpers.ts';
import type { RuntimeEnv } from './env.ts';
import { KFUNC_IDS } from './kfuncs.ts';

/** Addresses of the objects allocated and not yet dropped. */
export type LiveObjects = Set<number>;

export function objKfuncs(env: RuntimeEnv, live: LiveObjects): Helper[] {
  return [
    {
      id: KFUNC_IDS.bpf_obj_new_impl!,
      name: 'bpf_obj_new_impl',
      proto: { ret: 'RET_PTR_TO_BTF_ID', args: [{ type: 'ARG_ANYTHING' }, { type: 'ARG_ANYTHING' }] },
      // the kernel patches the object's size in at load time; tsbpf reads it off the type id
      impl: (ctx, typeId) => {
        const btf = env.progBtf;
        let size = 0;
        try {
          size = btf ? btf.sizeof(typeId) : 0;
        } catch {
          size = 0;
        }
        if (size <= 0) return 0;
        const name = btf?.typeById(typeId).name ?? '';
        const addr = ctx.arena.alloc(size, 8, { kind: 'mem', writable: true, name: `struct ${name}` });
        ctx.arena.u8.fill(0, addr, addr + size);
        live.add(addr);
        return addr;
      },
    },
    {
      id: KFUNC_IDS.bpf_obj_drop_impl!,
      name: 'bpf_obj_drop_impl',
      proto: { ret: 'RET_VOID', args: [{ type: 'ARG_ANYTHING' }, { type: 'ARG_ANYTHING' }] },
      impl: (ctx, p) => {
        if (!live.delete(p)) ctx.fault('helper', `bpf_obj_drop: 0x${p.toString(16)} is not a live object`);
        ctx.arena.freeBlock(p);
        return 0;
      },
    },
  ];
}

export function registerObjKfuncs(t: HelperTable, env: RuntimeEnv): LiveObjects {
  const live: LiveObjects = new Set();
  for (const k of objKfuncs(env, live)) t.register(k);
  return live;
}
