// The interface the VM needs from a map, and the map helpers built on it.
// The real maps module plugs in by implementing VmMap; ArrayMap (array-map.ts) is a stub.
import type { FuncProto, HelperImpl, HelperTable } from './helpers.ts';
import { BPF_FUNC_map_delete_elem, BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem } from './helpers.ts';

export interface VmMap {
  readonly name: string;
  /** Address of the map's descriptor in the arena: what `lddw rX, map` loads. */
  readonly ptr: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Address of the value for the key at keyAddr, or 0 (kernel: map->ops->map_lookup_elem). */
  lookup(keyAddr: number): number;
  /** 0 or a negative errno. */
  update(keyAddr: number, valueAddr: number, flags: bigint): number;
  delete(keyAddr: number): number;
  /** Address of value byte `off` for BPF_PSEUDO_MAP_VALUE, or undefined when not supported. */
  directValueAddr(off: number): number | undefined;
}

const EINVAL = 22;

// kernel: bpf_map_lookup_elem_proto etc.
const lookupProto: FuncProto = {
  ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL',
  args: [{ type: 'ARG_CONST_MAP_PTR' }, { type: 'ARG_PTR_TO_MAP_KEY' }],
};
const updateProto: FuncProto = {
  ret: 'RET_INTEGER',
  args: [
    { type: 'ARG_CONST_MAP_PTR' },
    { type: 'ARG_PTR_TO_MAP_KEY' },
    { type: 'ARG_PTR_TO_MAP_VALUE' },
    { type: 'ARG_ANYTHING' },
  ],
};
const deleteProto: FuncProto = {
  ret: 'RET_INTEGER',
  args: [{ type: 'ARG_CONST_MAP_PTR' }, { type: 'ARG_PTR_TO_MAP_KEY' }],
};

/** Registers bpf_map_lookup_elem/update_elem/delete_elem, resolving map pointers with `mapAt`. */
export function registerMapHelpers(t: HelperTable, mapAt: (ptr: number) => VmMap | undefined): void {
  const need = (ctx: Parameters<HelperImpl>[0], ptr: number, keyAddr: number): VmMap => {
    const m = ctx.argHi(1) === 0 ? mapAt(ptr) : undefined;
    if (!m) return ctx.fault('helper', `r1 is not a map pointer (0x${ptr.toString(16)})`);
    if (!ctx.arena.check(keyAddr, m.keySize, false))
      return ctx.fault('helper', `map ${m.name}: key pointer 0x${keyAddr.toString(16)} not readable`);
    return m;
  };
  t.register({
    id: BPF_FUNC_map_lookup_elem,
    name: 'bpf_map_lookup_elem',
    proto: lookupProto,
    impl: (ctx, ptr, key) => need(ctx, ptr, key).lookup(key),
  });
  t.register({
    id: BPF_FUNC_map_update_elem,
    name: 'bpf_map_update_elem',
    proto: updateProto,
    impl: (ctx, ptr, key, value) => {
      const m = need(ctx, ptr, key);
      if (!ctx.arena.check(value, m.valueSize, false)) return -EINVAL;
      return m.update(key, value, ctx.arg64(4));
    },
  });
  t.register({
    id: BPF_FUNC_map_delete_elem,
    name: 'bpf_map_delete_elem',
    proto: deleteProto,
    impl: (ctx, ptr, key) => need(ctx, ptr, key).delete(key),
  });
}
