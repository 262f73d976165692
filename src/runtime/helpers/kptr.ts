// bpf_kptr_xchg(): swaps the pointer in a map value's kptr for another (or NULL) and returns the
// old one; the verifier moves the reference between the program and the map.
// kernel: kernel/bpf/helpers.c bpf_kptr_xchg()
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';

export const BPF_FUNC_kptr_xchg = 194;

// kernel: bpf_kptr_xchg_proto (the kptr's struct comes from the map value's BTF)
const proto = {
  ret: 'RET_PTR_TO_BTF_ID_OR_NULL',
  args: [
    { type: 'ARG_PTR_TO_KPTR' },
    { type: 'ARG_PTR_TO_BTF_ID', flags: ['PTR_MAYBE_NULL', 'OBJ_RELEASE'] },
  ],
} as const satisfies FuncProto;

export function registerKptrHelpers(t: HelperTable): void {
  t.register({
    id: BPF_FUNC_kptr_xchg,
    name: 'bpf_kptr_xchg',
    proto,
    impl: (ctx: HelperCtx, dst: number, ptr: number) => {
      if (!ctx.arena.check(dst, 8, true))
        ctx.fault('helper', `bpf_kptr_xchg: 0x${dst.toString(16)} is not a writable kptr`);
      const dv = ctx.arena.dv;
      // arena addresses fit in 32 bits: the high half of a kptr is always 0
      const old = dv.getUint32(dst, true);
      dv.setUint32(dst, ptr, true);
      dv.setUint32(dst + 4, ctx.argHi(2), true);
      return old;
    },
  });
}
