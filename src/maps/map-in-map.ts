// BPF_MAP_TYPE_ARRAY_OF_MAPS and HASH_OF_MAPS (kernel: kernel/bpf/map_in_map.c, arraymap.c,
// hashtab.c). A program's lookup returns the inner map's pointer (what it then passes to
// bpf_map_lookup_elem), or NULL. The slots are an array or hash map of u32 inner-map pointers,
// so indexes, flags and iteration behave exactly like those maps.
import type { Arena } from '../vm/arena.ts';
import { arenaMapAt } from '../vm/maps.ts';
import { ArrayMap } from './array.ts';
import { E2BIG, EINVAL, ENOENT, ENOTSUPP, MapError } from './errno.ts';
import {
  BPF_ANY,
  BPF_F_INNER_MAP,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_PROG_ARRAY,
} from './flags.ts';
import { HashMap } from './hash.ts';
import { BpfMap, mapById } from './map.ts';
import { type CreateMapOptions, type NormalizedSpec, normalizeSpec } from './spec.ts';

/** kernel: bpf_map_meta_alloc() refusals — 0 or a negative errno. */
export function innerTemplateCheck(s: NormalizedSpec): number {
  // No inner map: bpf() sees inner_map_fd 0, which is not a map (EINVAL).
  if (!s.innerMap) return -EINVAL;
  const t = normalizeSpec(s.innerMap);
  if (t.type === BPF_MAP_TYPE_ARRAY_OF_MAPS || t.type === BPF_MAP_TYPE_HASH_OF_MAPS) return -ENOTSUPP;
  if (t.type === BPF_MAP_TYPE_PROG_ARRAY) return -ENOTSUPP;
  return 0;
}

/** kernel: bpf_map_meta_equal() — what an inner map must share with the template. */
export function metaEqual(tpl: NormalizedSpec, m: BpfMap): boolean {
  return (
    tpl.type === m.type &&
    tpl.keySize === m.keySize &&
    tpl.valueSize === m.valueSize &&
    tpl.flags === m.flags &&
    (tpl.flags & BPF_F_INNER_MAP ? true : tpl.maxEntries === m.maxEntries)
  );
}

export class MapInMap extends BpfMap {
  readonly template: NormalizedSpec;
  private readonly slots: ArrayMap | HashMap;
  private readonly isArray: boolean;

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.template = normalizeSpec(spec.innerMap!);
    this.isArray = spec.type === BPF_MAP_TYPE_ARRAY_OF_MAPS;
    const inner: NormalizedSpec = {
      ...spec,
      type: this.isArray ? BPF_MAP_TYPE_ARRAY : BPF_MAP_TYPE_HASH,
      name: `${spec.name}.slots`,
      flags: spec.flags & ~BPF_F_INNER_MAP,
      innerMap: undefined,
    };
    this.slots = this.isArray ? new ArrayMap(arena, inner, opts) : new HashMap(arena, inner, opts);
  }

  protected override onClose(): void {
    this.slots.close();
  }

  private ptrAt(valueAddr: number): number {
    return valueAddr ? this.arena.dv.getUint32(valueAddr, true) : 0;
  }

  // kernel: array_of_map_lookup_elem() / htab_of_map_lookup_elem()
  protected lookupElem(keyAddr: number): number {
    return this.ptrAt(this.slots.lookup(keyAddr));
  }

  /** Programs cannot update map-in-map slots; the verifier refuses the call. */
  protected updateElem(): number {
    return -EINVAL;
  }

  protected deleteElem(keyAddr: number): number {
    if (!this.isArray) return this.slots.delete(keyAddr);
    // kernel: fd_array_map_delete_elem()
    const i = this.arena.dv.getUint32(keyAddr, true);
    if (i >= this.maxEntries) return -E2BIG;
    const v = this.slots.lookup(keyAddr);
    if (this.ptrAt(v) === 0) return -ENOENT;
    this.arena.dv.setUint32(v, 0, true);
    return 0;
  }

  protected getNextKey(keyAddr: number, nextAddr: number): number {
    return this.slots.nextKeyAt(keyAddr, nextAddr);
  }

  /** The inner map stored under `key`, if any. */
  getInner(key: Uint8Array): BpfMap | undefined {
    this.checkKey(key, 'lookup');
    const a = this.lookupElem(this.stageKey(key));
    const m = a ? arenaMapAt(this.arena, a) : undefined;
    return m instanceof BpfMap ? m : undefined;
  }

  /** kernel: bpf_fd_array_map_update_elem() / bpf_fd_htab_map_update_elem(). */
  setInner(key: Uint8Array, inner: BpfMap, flags = BPF_ANY): void {
    this.checkHostWrite(key, undefined, 'update');
    if (inner.closed || inner.arena !== this.arena)
      throw new MapError(9, `map ${this.name}: inner map ${inner.name} is closed or in another arena`);
    if (!metaEqual(this.template, inner))
      throw new MapError(EINVAL, `map ${this.name}: inner map ${inner.name} does not match the template`);
    if (this.isArray && flags !== BPF_ANY)
      throw new MapError(EINVAL, `map ${this.name}: fd arrays take only BPF_ANY`);
    const s = this.stage();
    this.arena.write(s.key, key);
    this.arena.dv.setUint32(s.value, inner.ptr, true);
    this.fail(this.slots.update(s.key, s.value, BigInt(flags)), 'update');
  }

  /** bpf() lookup returns the inner map's id. */
  protected override hostLookup(key: Uint8Array): Uint8Array | undefined {
    const m = this.getInner(key);
    if (!m) return undefined;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, m.id, true);
    return b;
  }

  /** bpf() update takes an inner map fd; here the value is the inner map's id. */
  protected override hostUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.checkHostWrite(key, value, 'update');
    const m = mapById(new DataView(value.buffer, value.byteOffset).getUint32(0, true));
    if (!m) throw new MapError(9, `map ${this.name}: no map with that id`);
    this.setInner(key, m, flags);
  }

  protected override get supportsBatch(): boolean {
    return true;
  }
}
