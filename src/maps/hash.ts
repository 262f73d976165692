// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH (kernel: kernel/bpf/hashtab.c).
//
// Values live in arena slots (SlotPool); keys and buckets live in JS. Elements sit in
// roundup_pow_of_two(max_entries) buckets by the kernel's hash (jhash/jhash2 of the key with a
// seed, 0 with BPF_F_ZERO_SEED), newest first, so get_next_key and for_each walk in the
// kernel's order — the same order exactly when the seed is zero.
//
// Kernel behaviours kept:
//  - a plain hash replaces an element by writing the new value to a spare element and keeping
//    the old one as the next spare (the kernel's per-CPU extra_elems), so a pointer from an
//    earlier lookup still reads the old value;
//  - per-CPU hashes update in place; an element created by a program has only the current
//    CPU's copy set, the others zeroed (pcpu_init_value);
//  - LRU maps run the kernel's common LRU (lru.ts) for one CPU: same evictions, in batches of
//    target_free = clamp(max_entries / nr_cpus / 2, 1, 128), sometimes before the map is full;
//    an update takes a free element *before* it checks the flags (prealloc_lru_pop), so it can
//    evict even when it then fails. Program lookups and replacements set the reference bit;
//    host lookups do not (htab_lru_map_lookup_elem_sys).
//  - BPF_F_NO_COMMON_LRU gives each CPU its own list (the CPU of the program; host calls act
//    as CPU 0), max_entries rounded up to a multiple of the CPUs.
import type { Arena } from '../vm/arena.ts';
import { E2BIG, EEXIST, EINVAL, ENOENT, ENOMEM, ENOTSUPP, MapError } from './errno.ts';
import {
  BPF_EXIST,
  BPF_F_ACCESS_MASK,
  BPF_F_LOCK,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_NUMA_NODE,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_NOEXIST,
  KMALLOC_MAX_SIZE,
  mapFlagsAccessOk,
  PCPU_MIN_UNIT_SIZE,
} from './flags.ts';
import { BpfMap, roundUp8 } from './map.ts';
import { jhash, jhash2 } from './jhash.ts';
import { KernelLru, PercpuLru } from './lru.ts';
import { SlotPool } from './slots.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';
import { MAX_MAP_BYTES } from './array.ts';

const HTAB_CREATE_FLAG_MASK =
  BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK | BPF_F_ZERO_SEED;
/** kernel: sizeof(struct htab_elem) on x86-64. */
const HTAB_ELEM_SIZE = 48;

const isPercpu = (t: number): boolean => t === BPF_MAP_TYPE_PERCPU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
const isLru = (t: number): boolean => t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;

/** kernel: htab_map_alloc_check(). */
export function hashAllocCheck(s: NormalizedSpec): number {
  const lru = isLru(s.type);
  const percpu = isPercpu(s.type);
  const prealloc = (s.flags & BPF_F_NO_PREALLOC) === 0;
  if (s.flags & ~HTAB_CREATE_FLAG_MASK || !mapFlagsAccessOk(s.flags)) return -EINVAL;
  if (!lru && s.flags & BPF_F_NO_COMMON_LRU) return -EINVAL;
  if (lru && !prealloc) return -ENOTSUPP;
  if (s.flags & BPF_F_NUMA_NODE && (percpu || s.flags & BPF_F_NO_COMMON_LRU)) return -EINVAL;
  if (s.maxEntries === 0 || s.keySize === 0 || s.valueSize === 0) return -EINVAL;
  // kernel: htab_map_alloc() — n_buckets must stay a power of two that fits.
  if (s.maxEntries > 2 ** 31) return -E2BIG;
  // No key_size limit here: the kernel accepts keys larger than MAX_BPF_STACK (programs cannot
  // build them on the stack, but the host can use them).
  if (s.keySize + s.valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) return -E2BIG;
  if (percpu && roundUp8(s.valueSize) > PCPU_MIN_UNIT_SIZE) return -E2BIG;
  return 0;
}

interface Entry {
  key: Uint8Array;
  /** The key as a Map key (see keyAt). */
  id: KeyId;
  slot: number;
  /** hash(key) & (n_buckets - 1) */
  bucket: number;
}

/** Keys up to 6 bytes as numbers (fast Map keys), longer ones as strings of byte values. */
type KeyId = number | string;

export class HashMap extends BpfMap {
  readonly percpu: boolean;
  readonly lru: boolean;
  /** round_up(value_size, 8): distance between per-CPU copies of a value. */
  readonly elemSize: number;
  private readonly pool: SlotPool;
  private readonly byKey = new Map<KeyId, Entry>();
  /** kernel: n_buckets = roundup_pow_of_two(max_entries); hashrnd (0 with BPF_F_ZERO_SEED). */
  readonly nBuckets: number;
  readonly hashSeed: number;
  /** Non-empty buckets, each newest element first (hlist order). */
  private readonly buckets = new Map<number, Entry[]>();
  private sortedBuckets?: number[];
  /** Plain hash: the element the next replacement writes to (kernel: extra_elems). */
  private spare = -1;
  private iterKey = 0;
  /** Elements an LRU map evicted, for tests and statistics. */
  evictions = 0;
  /** How many free slots an LRU map gathers at once (kernel: lru->target_free). */
  readonly targetFree: number;
  /** LRU maps: the kernel's LRU lists over slot numbers, and which element holds each slot. */
  private readonly kernelLru?: KernelLru;
  /** LRU maps with BPF_F_NO_COMMON_LRU: one list per CPU. */
  private readonly percpuLru?: PercpuLru;
  private readonly entryBySlot: (Entry | undefined)[] = [];

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.percpu = isPercpu(spec.type);
    this.lru = isLru(spec.type);
    this.elemSize = roundUp8(spec.valueSize);
    const slotSize = this.elemSize * (this.percpu ? this.nrCpus : 1);
    const withSpare = !this.percpu && !this.lru;
    const prealloc = (spec.flags & BPF_F_NO_PREALLOC) === 0;
    const ownLists = this.lru && (spec.flags & BPF_F_NO_COMMON_LRU) !== 0;
    // kernel: htab_map_alloc() rounds a per-CPU-list LRU up to a multiple of the CPUs.
    const entries = ownLists ? Math.ceil(spec.maxEntries / this.nrCpus) * this.nrCpus : spec.maxEntries;
    const capacity = entries + (withSpare ? 1 : 0);
    if (prealloc && slotSize * capacity > MAX_MAP_BYTES) {
      this.close();
      throw new MapError(ENOMEM, `map ${spec.name}: ${slotSize * capacity} bytes of preallocated values`);
    }
    this.pool = new SlotPool(slotSize, capacity, prealloc, (bytes) =>
      this.allocBlock(bytes, 8, 'map_value', this.progWritable, 'values'),
    );
    if (withSpare) this.spare = this.pool.take();
    this.targetFree = Math.min(128, Math.max(1, Math.floor(spec.maxEntries / this.nrCpus / 2)));
    const evict = (slot: number) => this.evictSlot(slot);
    if (ownLists) this.percpuLru = new PercpuLru(capacity, this.nrCpus, evict);
    else if (this.lru) this.kernelLru = new KernelLru(capacity, this.targetFree, evict);
    this.nBuckets = 2 ** Math.ceil(Math.log2(entries));
    this.hashSeed =
      spec.flags & BPF_F_ZERO_SEED ? 0 : (opts.hashSeed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  }

  get count(): number {
    return this.byKey.size;
  }

  /** The Map key of the key bytes at addr. */
  private keyAt(addr: number): KeyId {
    const u8 = this.arena.u8;
    const n = this.keySize;
    if (n <= 6) {
      let v = 0;
      for (let i = n - 1; i >= 0; i--) v = v * 256 + u8[addr + i]!;
      return v;
    }
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(u8[addr + i]!);
    return s;
  }

  private keyOf(key: Uint8Array): KeyId {
    if (key.length <= 6) {
      let v = 0;
      for (let i = key.length - 1; i >= 0; i--) v = v * 256 + key[i]!;
      return v;
    }
    return String.fromCharCode(...key);
  }

  private valueAddr(e: Entry, cpu = 0): number {
    return this.pool.addr(e.slot) + cpu * this.elemSize;
  }

  // ---- buckets (kernel: struct bucket, hlist_nulls) ----

  /** kernel: htab_map_hash() then select_bucket(). */
  private bucketOf(key: Uint8Array): number {
    const h = this.keySize % 4 === 0 ? jhash2(key, this.hashSeed) : jhash(key, this.hashSeed);
    return (h & (this.nBuckets - 1)) >>> 0;
  }

  /** kernel: hlist_nulls_add_head_rcu() — new and replacing elements go to their bucket's head. */
  private link(e: Entry): void {
    let b = this.buckets.get(e.bucket);
    if (!b) {
      b = [];
      this.buckets.set(e.bucket, b);
      this.sortedBuckets = undefined;
    }
    b.unshift(e);
  }

  private unlink(e: Entry): void {
    const b = this.buckets.get(e.bucket);
    if (!b) return;
    b.splice(b.indexOf(e), 1);
    if (b.length === 0) {
      this.buckets.delete(e.bucket);
      this.sortedBuckets = undefined;
    }
  }

  private bucketOrder(): number[] {
    this.sortedBuckets ??= [...this.buckets.keys()].sort((a, b) => a - b);
    return this.sortedBuckets;
  }

  /** The head element of the first non-empty bucket at or after index i. */
  private firstFrom(i: number): Entry | undefined {
    const order = this.bucketOrder();
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return lo < order.length ? this.buckets.get(order[lo]!)![0] : undefined;
  }

  /** Marks e referenced (kernel: bpf_lru_node_set_ref), which protects it from the next eviction. */
  private touch(e: Entry): void {
    this.kernelLru?.setRef(e.slot);
    this.percpuLru?.setRef(e.slot);
  }

  /** kernel: htab_lru_map_delete_node() — the LRU evicts the element in `slot`. */
  private evictSlot(slot: number): boolean {
    const e = this.entryBySlot[slot];
    if (!e) return false;
    this.byKey.delete(e.id);
    this.unlink(e);
    this.entryBySlot[slot] = undefined;
    this.evictions++;
    return true;
  }

  /** A free slot (LRU maps: from the kernel's LRU, evicting if needed), or -1. */
  private takeSlot(cpu: number): number {
    if (this.kernelLru) return this.kernelLru.pop();
    if (this.percpuLru) return this.percpuLru.pop(cpu);
    try {
      return this.pool.take();
    } catch {
      return -1; // arena exhausted: the kernel's allocation failure
    }
  }

  private freeSlot(slot: number): void {
    if (this.kernelLru) this.kernelLru.push(slot);
    else if (this.percpuLru) this.percpuLru.push(slot);
    else this.pool.give(slot);
  }

  // ---- program side ----

  protected lookupElem(keyAddr: number): number {
    return this.lookupOnCpu(keyAddr, 0);
  }

  lookupOnCpu(keyAddr: number, cpu: number): number {
    const e = this.byKey.get(this.keyAt(keyAddr));
    if (!e) return 0;
    this.touch(e);
    if (!this.percpu) return this.valueAddr(e);
    return cpu < this.nrCpus ? this.valueAddr(e, cpu) : 0;
  }

  protected updateElem(keyAddr: number, valueAddr: number, flags: number): number {
    return this.updateOnCpu(keyAddr, valueAddr, BigInt(flags), 0);
  }

  updateOnCpu(keyAddr: number, valueAddr: number, flags: bigint, cpu: number): number {
    const f = Number(flags > 0xffffn ? 0x10000n : flags);
    if (this.percpu && cpu >= this.nrCpus) return -EINVAL;
    return this.put(keyAddr, f, cpu, (dst, fresh) => {
      const u8 = this.arena.u8;
      if (fresh && this.percpu) u8.fill(0, dst, dst + this.elemSize * this.nrCpus);
      this.copyValue(dst + (this.percpu ? cpu * this.elemSize : 0), valueAddr);
    });
  }

  /**
   * The update path shared by programs and the host: flag checks in the kernel's order, then
   * `write(valueSlotAddr, isNewElement)` fills the value.
   */
  private put(keyAddr: number, f: number, cpu: number, write: (dst: number, fresh: boolean) => void): number {
    const lock = (f & BPF_F_LOCK) !== 0;
    const mode = f & ~BPF_F_LOCK;
    if ((this.lru || this.percpu ? f : mode) > BPF_EXIST) return -EINVAL;
    if (lock && this.spec.spinLockOff === undefined) return -EINVAL;
    const ks = this.keyAt(keyAddr);
    // kernel: htab_lru_map_update_elem() pops a free element before looking at the flags.
    let fresh = -1;
    if (this.lru && !(this.percpu && mode === BPF_EXIST)) {
      fresh = this.takeSlot(cpu);
      if (fresh < 0) return -ENOMEM;
      // kernel: the value is copied into the new element before the flags are checked, so a
      // failed update still overwrites a free element (visible through stale pointers).
      if (!this.percpu) write(this.pool.addr(fresh), true);
    }
    const old = this.byKey.get(ks);
    const err = old && mode === BPF_NOEXIST ? -EEXIST : !old && mode === BPF_EXIST ? -ENOENT : 0;
    if (err) {
      if (fresh >= 0) this.freeSlot(fresh);
      return err;
    }
    if (old && (this.percpu || lock)) {
      // Per-CPU values and BPF_F_LOCK updates are made in place.
      if (fresh >= 0) this.freeSlot(fresh);
      write(this.valueAddr(old), false);
      this.touch(old);
      return 0;
    }
    if (old) {
      // Write the new value elsewhere, then retire the old element.
      const slot = this.lru ? fresh : this.spare;
      write(this.pool.addr(slot), true);
      this.entryBySlot[old.slot] = undefined;
      if (this.lru) this.freeSlot(old.slot);
      else this.spare = old.slot;
      old.slot = slot;
      this.entryBySlot[slot] = old;
      this.touch(old);
      if (this.buckets.get(old.bucket)?.[0] !== old) {
        this.unlink(old);
        this.link(old);
      }
      return 0;
    }
    if (fresh < 0) {
      if (this.byKey.size >= this.maxEntries) return -E2BIG;
      fresh = this.takeSlot(cpu);
      if (fresh < 0) return this.byKey.size >= this.maxEntries ? -E2BIG : -ENOMEM;
    }
    write(this.pool.addr(fresh), true);
    const key = this.arena.read(keyAddr, this.keySize);
    const e: Entry = { key, id: ks, slot: fresh, bucket: this.bucketOf(key) };
    this.byKey.set(ks, e);
    this.link(e);
    if (this.lru) this.entryBySlot[fresh] = e;
    return 0;
  }

  protected deleteElem(keyAddr: number): number {
    const ks = this.keyAt(keyAddr);
    const e = this.byKey.get(ks);
    if (!e) return -ENOENT;
    this.byKey.delete(ks);
    this.unlink(e);
    this.entryBySlot[e.slot] = undefined;
    this.freeSlot(e.slot);
    return 0;
  }

  // kernel: htab_map_get_next_key() — the rest of the key's bucket, then the next buckets; a
  // key not in the map restarts from bucket 0.
  protected getNextKey(keyAddr: number, nextAddr: number): number {
    const e = keyAddr ? this.byKey.get(this.keyAt(keyAddr)) : undefined;
    let n: Entry | undefined;
    if (e) {
      const b = this.buckets.get(e.bucket)!;
      n = b[b.indexOf(e) + 1] ?? this.firstFrom(e.bucket + 1);
    } else {
      n = this.firstFrom(0);
    }
    if (!n) return -ENOENT;
    this.arena.write(nextAddr, n.key);
    return 0;
  }

  forEach(cpu: number, visit: (keyAddr: number, valueAddr: number) => number): number {
    if (!this.iterKey) this.iterKey = this.allocBlock(this.keySize, 8, 'scratch', false, 'iteration key');
    let n = 0;
    // kernel: bpf_for_each_hash_elem() walks the buckets in order.
    for (const bi of [...this.bucketOrder()]) {
      for (const e of [...(this.buckets.get(bi) ?? [])]) {
        if (this.byKey.get(e.id) !== e) continue; // deleted meanwhile
        this.arena.write(this.iterKey, e.key);
        n++;
        const v = this.percpu ? (cpu < this.nrCpus ? this.valueAddr(e, cpu) : 0) : this.valueAddr(e);
        if (visit(this.iterKey, v) !== 0) return n;
      }
    }
    return n;
  }

  protected override get supportsBatch(): boolean {
    return true;
  }

  // ---- host side ----

  override get hostValueSize(): number {
    return this.percpu ? this.elemSize * this.nrCpus : this.valueSize;
  }

  /** Host lookups do not refresh LRU order (kernel: htab_lru_map_lookup_elem_sys). */
  protected override hostLookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const e = this.byKey.get(this.keyOf(key));
    if (!e) return undefined;
    if (!this.percpu) return this.hideSpecialFields(this.arena.read(this.valueAddr(e), this.valueSize));
    const out = new Uint8Array(this.hostValueSize);
    // kernel: copy_map_value_long() — round_up(value_size, 8) bytes per CPU, padding too.
    for (let c = 0; c < this.nrCpus; c++)
      out.set(this.arena.read(this.valueAddr(e, c), this.elemSize), c * this.elemSize);
    return out;
  }

  // kernel: bpf_percpu_hash_update() — every CPU's copy from the value.
  protected override hostUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    if (!this.percpu) {
      super.hostUpdate(key, value, flags);
      return;
    }
    this.checkHostWrite(key, value, 'update');
    const keyAddr = this.stageKey(key);
    const r = this.put(keyAddr, flags, 0, (dst) => {
      for (let c = 0; c < this.nrCpus; c++)
        this.arena.write(dst + c * this.elemSize, value.subarray(c * this.elemSize, (c + 1) * this.elemSize));
    });
    this.fail(r, 'update');
  }

  /** Host: the key's value on every CPU. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const all = this.lookup(key);
    if (!all) return undefined;
    if (!this.percpu) return [all];
    return Array.from({ length: this.nrCpus }, (_, c) =>
      all.slice(c * this.elemSize, c * this.elemSize + this.valueSize),
    );
  }

  updatePerCpu(key: Uint8Array, values: readonly Uint8Array[], flags = 0): void {
    const all = new Uint8Array(this.hostValueSize);
    values.forEach((v, c) => {
      all.set(v.subarray(0, this.valueSize), c * this.elemSize);
    });
    this.update(key, all, flags);
  }
}
