// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel: kernel/bpf/arraymap.c).
// Elements are round_up(value_size, 8) apart in one arena block; a per-CPU array has one such
// block per CPU, back to back. Every element always exists and starts zeroed.
import type { Arena } from '../vm/arena.ts';
import { E2BIG, EEXIST, EINVAL, ENOENT, ENOMEM, MapError } from './errno.ts';
import {
  BPF_EXIST,
  BPF_F_ACCESS_MASK,
  BPF_F_INNER_MAP,
  BPF_F_LOCK,
  BPF_F_MMAPABLE,
  BPF_F_NUMA_NODE,
  BPF_F_PRESERVE_ELEMS,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY,
  BPF_NOEXIST,
  mapFlagsAccessOk,
  PCPU_MIN_UNIT_SIZE,
} from './flags.ts';
import { BpfMap, roundUp8 } from './map.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';

const ARRAY_CREATE_FLAG_MASK =
  BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
/** Beyond this a map is refused with ENOMEM rather than exhausting the arena. */
export const MAX_MAP_BYTES = 1 << 29;

/** kernel: array_map_alloc_check() — 0 or a negative errno. Shared by every array-like map. */
export function arrayAllocCheck(s: NormalizedSpec): number {
  const percpu = s.type === BPF_MAP_TYPE_PERCPU_ARRAY;
  if (
    s.maxEntries === 0 ||
    s.keySize !== 4 ||
    s.valueSize === 0 ||
    s.flags & ~ARRAY_CREATE_FLAG_MASK ||
    !mapFlagsAccessOk(s.flags)
  )
    return -EINVAL;
  if (s.type !== BPF_MAP_TYPE_ARRAY && s.flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) return -EINVAL;
  if (s.type !== BPF_MAP_TYPE_PERF_EVENT_ARRAY && s.flags & BPF_F_PRESERVE_ELEMS) return -EINVAL;
  if (s.valueSize > 0x7fffffff) return -E2BIG;
  if (percpu && roundUp8(s.valueSize) > PCPU_MIN_UNIT_SIZE) return -E2BIG;
  return 0;
}

/** Index-keyed maps: the u32 at keyAddr, and the kernel's get_next_key order (0, 1, ...). */
export abstract class IndexedMap extends BpfMap {
  protected index(keyAddr: number): number {
    return this.arena.dv.getUint32(keyAddr, true);
  }

  // kernel: array_map_get_next_key() — a missing or out-of-range key restarts at 0.
  protected getNextKey(keyAddr: number, nextAddr: number): number {
    const i = keyAddr ? this.index(keyAddr) : 0xffffffff;
    if (i >= this.maxEntries) {
      this.arena.dv.setUint32(nextAddr, 0, true);
      return 0;
    }
    if (i === this.maxEntries - 1) return -ENOENT;
    this.arena.dv.setUint32(nextAddr, i + 1, true);
    return 0;
  }

  protected override get supportsBatch(): boolean {
    return true;
  }

  /** Host convenience: the key bytes of index i. */
  static key(i: number): Uint8Array {
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, i >>> 0, true);
    return k;
  }
}

export class ArrayMap extends IndexedMap {
  /** round_up(value_size, 8): distance between elements. */
  readonly elemSize: number;
  /** Address of element 0 of CPU 0; CPU c's copies start c * maxEntries * elemSize later. */
  readonly values: number;
  readonly percpu: boolean;
  private iterKey = 0;

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.percpu = spec.type === BPF_MAP_TYPE_PERCPU_ARRAY;
    this.elemSize = roundUp8(spec.valueSize);
    const bytes = this.elemSize * spec.maxEntries * (this.percpu ? this.nrCpus : 1);
    if (bytes > MAX_MAP_BYTES) {
      this.close();
      throw new MapError(ENOMEM, `map ${spec.name}: ${bytes} bytes of values`);
    }
    // BPF_F_MMAPABLE arrays are page aligned so user space could map them.
    const align = spec.flags & BPF_F_MMAPABLE ? 4096 : 8;
    this.values = this.allocBlock(bytes, align, 'map_value', this.progWritable, 'values');
  }

  /** Address of element i of `cpu`'s copy (no bounds check). */
  elemAddr(i: number, cpu = 0): number {
    return this.values + (cpu * this.maxEntries + i) * this.elemSize;
  }

  protected lookupElem(keyAddr: number): number {
    return this.lookupOnCpu(keyAddr, 0);
  }

  lookupOnCpu(keyAddr: number, cpu: number): number {
    const i = this.index(keyAddr);
    if (i >= this.maxEntries) return 0;
    if (!this.percpu) return this.elemAddr(i);
    // kernel: percpu_array_map_lookup_percpu_elem() — no such CPU, no value.
    return cpu < this.nrCpus ? this.elemAddr(i, cpu) : 0;
  }

  protected updateElem(keyAddr: number, valueAddr: number, flags: number): number {
    return this.updateOnCpu(keyAddr, valueAddr, BigInt(flags), 0);
  }

  // kernel: array_map_update_elem() — a per-CPU array updates the current CPU's copy.
  updateOnCpu(keyAddr: number, valueAddr: number, flags: bigint, cpu: number): number {
    const f = Number(flags > 0xffffn ? 0x10000n : flags);
    if ((f & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    const i = this.index(keyAddr);
    if (i >= this.maxEntries) return -E2BIG;
    if (f & BPF_NOEXIST) return -EEXIST;
    if (f & BPF_F_LOCK && this.spec.spinLockOff === undefined) return -EINVAL;
    if (this.percpu && cpu >= this.nrCpus) return -EINVAL;
    this.copyValue(this.elemAddr(i, this.percpu ? cpu : 0), valueAddr);
    return 0;
  }

  protected deleteElem(): number {
    return -EINVAL; // kernel: array_map_delete_elem()
  }

  /** kernel: array_map_direct_value_addr() — single-element plain arrays only. */
  override directValueAddr(off: number): number | undefined {
    if (this.percpu || this.maxEntries !== 1) return undefined;
    return off >= 0 && off < this.valueSize ? this.values + off : undefined;
  }

  forEach(cpu: number, visit: (keyAddr: number, valueAddr: number) => number): number {
    if (!this.iterKey) this.iterKey = this.allocBlock(8, 8, 'scratch', false, 'iteration key');
    let n = 0;
    for (let i = 0; i < this.maxEntries; i++) {
      this.arena.dv.setUint32(this.iterKey, i, true);
      n++;
      if (visit(this.iterKey, this.elemAddr(i, this.percpu ? cpu : 0)) !== 0) break;
    }
    return n;
  }

  // ---- host side: per-CPU arrays read and write every CPU's copy, like bpf() ----

  override get hostValueSize(): number {
    return this.percpu ? this.elemSize * this.nrCpus : this.valueSize;
  }

  protected override hostLookup(key: Uint8Array): Uint8Array | undefined {
    if (!this.percpu) return super.hostLookup(key);
    this.checkKey(key, 'lookup');
    const i = new DataView(key.buffer, key.byteOffset).getUint32(0, true);
    if (i >= this.maxEntries) return undefined;
    const out = new Uint8Array(this.hostValueSize);
    // kernel: bpf_percpu_array_copy() copies round_up(value_size, 8) bytes per CPU, padding too.
    for (let c = 0; c < this.nrCpus; c++)
      out.set(this.arena.read(this.elemAddr(i, c), this.elemSize), c * this.elemSize);
    return out;
  }

  // kernel: bpf_percpu_array_update()
  protected override hostUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    if (!this.percpu) {
      super.hostUpdate(key, value, flags);
      return;
    }
    this.checkHostWrite(key, value, 'update');
    const i = new DataView(key.buffer, key.byteOffset).getUint32(0, true);
    const err =
      flags > BPF_EXIST ? -EINVAL : i >= this.maxEntries ? -E2BIG : flags === BPF_NOEXIST ? -EEXIST : 0;
    this.fail(err, 'update');
    for (let c = 0; c < this.nrCpus; c++)
      this.arena.write(this.elemAddr(i, c), value.subarray(c * this.elemSize, (c + 1) * this.elemSize));
  }

  /** Host: element i's value on every CPU. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const all = this.lookup(key);
    if (!all) return undefined;
    if (!this.percpu) return [all];
    return Array.from({ length: this.nrCpus }, (_, c) =>
      all.slice(c * this.elemSize, c * this.elemSize + this.valueSize),
    );
  }

  /** Host: writes one value per CPU (each valueSize bytes). */
  updatePerCpu(key: Uint8Array, values: readonly Uint8Array[], flags = 0): void {
    const all = new Uint8Array(this.hostValueSize);
    values.forEach((v, c) => {
      all.set(v.subarray(0, this.valueSize), c * this.elemSize);
    });
    this.update(key, all, flags);
  }
}
