// BpfMap: what every map type shares. One object serves both sides:
//  - the program side (VmMap): addresses in the arena in, addresses or negative errnos out;
//  - the host side (cilium/ebpf style): Uint8Array keys and values in and out, MapError thrown.
// The host side goes through the same code as the program side, staging keys and values in a
// scratch block of the arena, so both see exactly the same semantics.
import type { Btf } from '../btf/btf.ts';
import { UsageError } from '../errors.ts';
import type { Arena, RegionKind } from '../vm/arena.ts';
import { registerArenaMap, unregisterArenaMap, type VmMap } from '../vm/maps.ts';
import { EEXIST, EINVAL, ENOENT, ENOTSUPP, EOPNOTSUPP, EPERM, MapError } from './errno.ts';
import {
  BPF_F_LOCK,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
} from './flags.ts';

const HASH_TYPES = [
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
];
import type { CreateMapOptions, MapCreateSpec, NormalizedSpec } from './spec.ts';

/** Update flags as a small number: anything past 16 bits is invalid for every map type. */
export function flagsNum(flags: bigint | number): number {
  const b = typeof flags === 'bigint' ? flags : BigInt(flags);
  return b < 0n || b > 0xffffn ? 0x10000 : Number(b);
}

export const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

/** What BPF_OBJ_GET_INFO_BY_FD reports for a map (kernel: struct bpf_map_info). */
export interface MapInfo {
  type: number;
  typeName: string;
  id: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  mapExtra: bigint;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  frozen: boolean;
  pinned?: string;
}

/** Result of one batch lookup (kernel: BPF_MAP_LOOKUP_BATCH). */
export interface BatchResult {
  keys: Uint8Array[];
  values: Uint8Array[];
  /** Pass back to continue; undefined when the map has been walked to the end. */
  cursor?: Uint8Array;
}

let nextMapId = 1;
/** sizeof(struct bpf_spin_lock), sizeof(struct bpf_timer) */
const SPIN_LOCK_SIZE = 4;
const TIMER_SIZE = 16;

const byId = new Map<number, BpfMap>();
const pinned = new Map<string, BpfMap>();

/** The live map with this id (the host-side stand-in for a map fd), if any. */
export function mapById(id: number): BpfMap | undefined {
  return byId.get(id);
}

/** A map pinned with pin(name), like bpf_obj_get() on a bpffs path. */
export function pinnedMap(name: string): BpfMap | undefined {
  return pinned.get(name);
}

export abstract class BpfMap implements VmMap {
  /** Unique per process: what map-in-map values and lookups carry instead of an fd. */
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly mapExtra: bigint;
  readonly nrCpus: number;
  readonly ptr: number;
  readonly keyTypeId: number;
  readonly valueTypeId: number;
  readonly btf?: Btf;
  /** The spec the map was created from (for map-in-map templates). */
  readonly spec: NormalizedSpec;
  frozen = false;
  closed = false;
  pinnedAs?: string;

  protected readonly blocks: number[] = [];
  private scratch = 0;
  private scratchSize = 0;

  constructor(
    readonly arena: Arena,
    spec: NormalizedSpec,
    opts: CreateMapOptions = {},
  ) {
    this.spec = spec;
    this.name = spec.name;
    this.type = spec.type;
    this.typeName = spec.typeName;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.flags = spec.flags;
    this.mapExtra = spec.mapExtra;
    this.keyTypeId = spec.keyTypeId;
    this.valueTypeId = spec.valueTypeId;
    this.btf = opts.btf;
    const cpus = opts.nrCpus ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 4096)
      throw new UsageError(`map ${spec.name}: bad nrCpus ${cpus}`);
    this.nrCpus = cpus;
    // The descriptor stands for struct bpf_map: programs only pass its address around.
    this.ptr = this.allocBlock(64, 8, 'map', false, 'map');
    this.id = nextMapId++;
    byId.set(this.id, this);
    registerArenaMap(arena, this);
  }

  /** Programs may write values unless the map is BPF_F_RDONLY_PROG. */
  protected get progWritable(): boolean {
    return (this.flags & BPF_F_RDONLY_PROG) === 0;
  }

  /** Allocates an arena block freed by close(). */
  protected allocBlock(
    size: number,
    align: number,
    kind: RegionKind,
    writable: boolean,
    what: string,
  ): number {
    const a = this.arena.alloc(size, align, { kind, writable, name: `map ${this.name} ${what}` });
    this.blocks.push(a);
    return a;
  }

  // ---- program side: subclasses implement these (kernel: struct bpf_map_ops) ----

  protected abstract lookupElem(keyAddr: number): number;
  protected abstract updateElem(keyAddr: number, valueAddr: number, flags: number): number;
  protected abstract deleteElem(keyAddr: number): number;
  /** kernel: map_get_next_key. keyAddr 0 means "no key": start from the first. */
  protected abstract getNextKey(keyAddr: number, nextAddr: number): number;

  /** get_next_key on arena addresses (keyAddr 0: from the start); 0 or a negative errno. */
  nextKeyAt(keyAddr: number, nextAddr: number): number {
    return this.getNextKey(keyAddr, nextAddr);
  }

  lookup(keyAddr: number): number;
  lookup(key: Uint8Array): Uint8Array | undefined;
  lookup(k: number | Uint8Array): number | Uint8Array | undefined {
    return typeof k === 'number' ? this.lookupElem(k) : this.hostLookup(k);
  }

  update(keyAddr: number, valueAddr: number, flags: bigint): number;
  update(key: Uint8Array, value: Uint8Array, flags?: number | bigint): void;
  update(k: number | Uint8Array, v: number | Uint8Array, flags: number | bigint = 0): number | undefined {
    const f = flagsNum(flags);
    if (typeof k === 'number') return this.updateElem(k, v as number, f);
    // kernel: map_update_elem() refuses BPF_F_LOCK before the map type sees the flags.
    if (f & BPF_F_LOCK && this.spec.spinLockOff === undefined)
      throw new MapError(EINVAL, `map ${this.name}: BPF_F_LOCK without a spin lock in the value`);
    this.hostUpdate(k, v as Uint8Array, f);
    return undefined;
  }

  delete(keyAddr: number): number;
  delete(key: Uint8Array): void;
  delete(k: number | Uint8Array): number | undefined {
    if (typeof k === 'number') return this.deleteElem(k);
    this.hostDelete(k);
    return undefined;
  }

  directValueAddr(_off: number): number | undefined {
    return undefined;
  }

  /**
   * kernel: copy_map_value() then bpf_obj_free_fields() — the value bytes except a struct
   * bpf_spin_lock (kept) and a struct bpf_timer (the element's timer is cancelled and freed, so
   * its bytes read as zero, which also drops tsbpf's timer bound to them).
   */
  protected copyValue(dst: number, src: number): void {
    const lock = this.spec.spinLockOff;
    const timer = this.spec.timerOff;
    const u8 = this.arena.u8;
    if (lock === undefined) {
      u8.copyWithin(dst, src, src + this.valueSize);
    } else {
      u8.copyWithin(dst, src, src + lock);
      u8.copyWithin(dst + lock + SPIN_LOCK_SIZE, src + lock + SPIN_LOCK_SIZE, src + this.valueSize);
    }
    if (timer !== undefined) u8.fill(0, dst + timer, dst + timer + TIMER_SIZE);
    // kptrs: the object the element held is released and the field cleared (bpf_obj_free_fields())
    for (const k of this.spec.kptrOffs ?? []) u8.fill(0, dst + k, dst + k + 8);
  }

  /**
   * kernel: check_and_init_map_value() on the copy bpf() hands to user space: the special
   * fields (spin lock, timer, kptrs) read as zero, whatever the element holds.
   */
  protected hideSpecialFields(value: Uint8Array): Uint8Array {
    const lock = this.spec.spinLockOff;
    const timer = this.spec.timerOff;
    if (lock !== undefined) value.fill(0, lock, lock + SPIN_LOCK_SIZE);
    if (timer !== undefined) value.fill(0, timer, timer + TIMER_SIZE);
    for (const k of this.spec.kptrOffs ?? []) value.fill(0, k, k + 8);
    return value;
  }

  // ---- host side ----

  /** Bytes a value has on the host side (kernel: bpf_map_value_size()). */
  get hostValueSize(): number {
    return this.valueSize;
  }

  /** A scratch block for staging host keys and values: [key | next key | value]. */
  protected stage(): { key: number; next: number; value: number } {
    const k = roundUp8(Math.max(this.keySize, 4));
    const need = 2 * k + roundUp8(Math.max(this.hostValueSize, 8));
    if (need > this.scratchSize) {
      if (this.scratch) {
        this.arena.freeBlock(this.scratch);
        this.blocks.splice(this.blocks.indexOf(this.scratch), 1);
      }
      this.scratch = this.allocBlock(need, 8, 'scratch', true, 'host scratch');
      this.scratchSize = need;
    }
    return { key: this.scratch, next: this.scratch + k, value: this.scratch + 2 * k };
  }

  protected checkOpen(): void {
    if (this.closed) throw new MapError(EINVAL, `map ${this.name}: used after close()`);
  }

  protected checkKey(key: Uint8Array | undefined, op: string): void {
    this.checkOpen();
    if (key && key.length !== this.keySize)
      throw new MapError(
        EINVAL,
        `map ${this.name}: ${op}: key is ${key.length} bytes, the map's are ${this.keySize}`,
      );
  }

  protected stageKey(key: Uint8Array): number {
    const s = this.stage();
    this.arena.write(s.key, key);
    return s.key;
  }

  /** kernel: map_lookup_elem() — undefined for ENOENT, MapError for other failures. */
  protected hostLookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    if (this.flags & BPF_F_WRONLY) throw new MapError(EPERM, `map ${this.name} is write-only`);
    const a = this.lookupElem(this.stageKey(key));
    return a ? this.hideSpecialFields(this.arena.read(a, this.valueSize)) : undefined;
  }

  protected checkHostWrite(key: Uint8Array | undefined, value: Uint8Array | undefined, op: string): void {
    this.checkKey(key, op);
    if (this.frozen || this.flags & BPF_F_RDONLY)
      throw new MapError(EPERM, `map ${this.name} is ${this.frozen ? 'frozen' : 'read-only'}`);
    if (value && value.length !== this.hostValueSize)
      throw new MapError(
        EINVAL,
        `map ${this.name}: ${op}: value is ${value.length} bytes, expected ${this.hostValueSize}`,
      );
  }

  protected hostUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.checkHostWrite(key, value, 'update');
    const s = this.stage();
    this.arena.write(s.key, key);
    this.arena.write(s.value, value);
    this.fail(this.updateElem(s.key, s.value, flags), 'update');
  }

  protected hostDelete(key: Uint8Array): void {
    this.checkHostWrite(key, undefined, 'delete');
    this.fail(this.deleteElem(this.stageKey(key)), 'delete');
  }

  /** Throws a MapError for a negative errno. */
  protected fail(r: number, op: string): void {
    if (r < 0) throw new MapError(-r, `map ${this.name}: ${op}`);
  }

  /**
   * kernel: BPF_MAP_LOOKUP_AND_DELETE_ELEM — hash maps only (queues and stacks pop). Undefined
   * when the key is absent.
   */
  lookupAndDelete(key: Uint8Array, flags = 0): Uint8Array | undefined {
    if (flags & ~BPF_F_LOCK)
      throw new MapError(EINVAL, `map ${this.name}: bad flags 0x${flags.toString(16)}`);
    this.checkHostWrite(key, undefined, 'lookup and delete');
    if (!HASH_TYPES.includes(this.type))
      throw new MapError(
        ENOTSUPP,
        `map ${this.name}: lookup and delete is not supported on a ${this.typeName}`,
      );
    if (flags & BPF_F_LOCK && this.spec.spinLockOff === undefined)
      throw new MapError(EINVAL, `map ${this.name}: BPF_F_LOCK without a spin lock`);
    const v = this.lookup(key);
    if (v) this.delete(key);
    return v;
  }

  /**
   * kernel: BPF_MAP_GET_NEXT_KEY. The first key when `key` is undefined or not in the map
   * (hash maps), undefined after the last.
   */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'next key');
    const s = this.stage();
    if (key) this.arena.write(s.key, key);
    const r = this.getNextKey(key ? s.key : 0, s.next);
    if (r === -ENOENT) return undefined;
    this.fail(r, 'next key');
    return this.arena.read(s.next, this.keySize);
  }

  *keys(): Generator<Uint8Array> {
    let k = this.nextKey();
    // Guards against a walk that never ends if the map is changed while iterating.
    for (let n = 0; k && n <= this.maxEntries; n++) {
      yield k;
      k = this.nextKey(k);
    }
  }

  /** [key, value] pairs in nextKey order; elements deleted meanwhile are skipped. */
  *entries(): Generator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  /**
   * kernel: BPF_MAP_LOOKUP_BATCH — up to `count` entries after `cursor` (from the start when
   * absent). Only hash and array maps support batches.
   */
  lookupBatch(count: number, cursor?: Uint8Array): BatchResult {
    this.checkBatch(count);
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    let k = cursor ? this.nextKey(cursor) : this.nextKey();
    while (k && keys.length < count) {
      const v = this.lookup(k);
      if (v) {
        keys.push(k);
        values.push(v);
      }
      k = this.nextKey(k);
    }
    return { keys, values, cursor: k ? keys[keys.length - 1] : undefined };
  }

  /** kernel: BPF_MAP_UPDATE_BATCH — stops at the first failure; returns how many were applied. */
  updateBatch(
    keys: readonly Uint8Array[],
    values: readonly Uint8Array[],
    flags: number | bigint = 0,
  ): number {
    this.checkBatch(keys.length);
    if (keys.length !== values.length)
      throw new MapError(EINVAL, `map ${this.name}: ${keys.length} keys, ${values.length} values`);
    keys.forEach((k, i) => {
      this.update(k, values[i]!, flags);
    });
    return keys.length;
  }

  /** kernel: BPF_MAP_DELETE_BATCH. */
  deleteBatch(keys: readonly Uint8Array[]): number {
    this.checkBatch(keys.length);
    for (const k of keys) this.delete(k);
    return keys.length;
  }

  protected get supportsBatch(): boolean {
    return false;
  }

  private checkBatch(count: number): void {
    this.checkOpen();
    if (!this.supportsBatch)
      throw new MapError(EOPNOTSUPP, `map ${this.name}: ${this.typeName} maps have no batch operations`);
    if (!Number.isInteger(count) || count < 0)
      throw new MapError(EINVAL, `map ${this.name}: bad batch count ${count}`);
  }

  /** kernel: bpf_map_get_info_by_fd() — the map's description. */
  info(): MapInfo {
    return {
      type: this.type,
      typeName: this.typeName,
      id: this.id,
      name: this.name,
      keySize: this.keySize,
      valueSize: this.valueSize,
      maxEntries: this.maxEntries,
      mapFlags: this.flags,
      mapExtra: this.mapExtra,
      btfKeyTypeId: this.keyTypeId,
      btfValueTypeId: this.valueTypeId,
      frozen: this.frozen,
      pinned: this.pinnedAs,
    };
  }

  /** kernel: BPF_MAP_FREEZE — the host can no longer write; programs still can (unless RDONLY_PROG). */
  freeze(): void {
    this.checkOpen();
    // kernel: map_freeze() — a frozen map has lost write permission, so a second freeze is EPERM.
    if (this.frozen) throw new MapError(EPERM, `map ${this.name} is already frozen`);
    this.frozen = true;
  }

  /** Pins the map under `name` (bpffs stand-in); pinnedMap(name) finds it again. */
  pin(name: string): void {
    this.checkOpen();
    if (pinned.has(name)) throw new MapError(EEXIST, `pin ${name}: already exists`);
    if (this.pinnedAs) pinned.delete(this.pinnedAs);
    pinned.set(name, this);
    this.pinnedAs = name;
  }

  unpin(): void {
    if (this.pinnedAs) pinned.delete(this.pinnedAs);
    this.pinnedAs = undefined;
  }

  /** Frees the map's arena memory; the map must not be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.unpin();
    this.onClose();
    unregisterArenaMap(this.arena, this);
    byId.delete(this.id);
    for (const b of this.blocks) this.arena.freeBlock(b);
    this.blocks.length = 0;
    this.scratch = 0;
    this.scratchSize = 0;
    this.closed = true;
  }

  protected onClose(): void {}
}

/** Constructor signature every map class has. */
export type MapClass = new (arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions) => BpfMap;

export type { MapCreateSpec };
