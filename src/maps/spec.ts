// What createMap() needs to know about a map. src/elf's MapSpec fits this shape, so maps parsed
// from an object can be created directly.
import type { Btf } from '../btf/btf.ts';
import { MAP_TYPES } from '../elf/map-types.ts';
import { UsageError } from '../errors.ts';

export interface MapCreateSpec {
  /** kernel: enum bpf_map_type value, or its lower-case name without BPF_MAP_TYPE_ ('hash'). */
  type: number | string;
  keySize?: number;
  valueSize?: number;
  maxEntries: number;
  /** map_flags (BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, ...). */
  flags?: number;
  /** map_extra: the bloom filter's number of hash functions (low 4 bits). */
  mapExtra?: number | bigint;
  name?: string;
  /** Map-in-map: the template inner maps must match. */
  innerMap?: MapCreateSpec;
  /** Initial bytes of element 0 (global data maps). */
  data?: Uint8Array;
  /** Freeze after the initial contents are written (.rodata). */
  frozen?: boolean;
  /** BTF ids of key and value, for formatted dumps. */
  keyTypeId?: number;
  valueTypeId?: number;
  /** Byte offset of a `struct bpf_spin_lock` in the value, if it has one (enables BPF_F_LOCK). */
  spinLockOff?: number;
  /** Byte offset of a `struct bpf_timer` in the value, if it has one. */
  timerOff?: number;
  /** Byte offsets of the value's kptrs (8 bytes each), from BTF. */
  kptrOffs?: readonly number[];
}

export interface CreateMapOptions {
  /**
   * Number of possible CPUs for per-CPU maps (default 1). BPF_PROG_TEST_RUN runs a program on
   * one CPU; the host API of a per-CPU map reads and writes every CPU's copy, as bpf() does.
   */
  nrCpus?: number;
  /** BTF the key/value type ids refer to. */
  btf?: Btf;
  /** Seed for hashed maps' hash functions (bloom filter), like the kernel's random hash_seed. */
  hashSeed?: number;
}

/** A spec with every default filled in and the type as a number. */
export interface NormalizedSpec {
  type: number;
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  mapExtra: bigint;
  name: string;
  innerMap?: MapCreateSpec;
  data?: Uint8Array;
  frozen: boolean;
  keyTypeId: number;
  valueTypeId: number;
  spinLockOff?: number;
  timerOff?: number;
  kptrOffs?: readonly number[];
}

const u32 = (n: number | undefined, what: string): number => {
  const v = n ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UsageError(`map: ${what} ${v} is not a u32`);
  return v;
};

export function normalizeSpec(spec: MapCreateSpec): NormalizedSpec {
  let type: number;
  if (typeof spec.type === 'string') {
    type = (MAP_TYPES as readonly string[]).indexOf(spec.type);
    if (type <= 0) throw new UsageError(`map: unknown map type "${spec.type}"`);
  } else {
    type = u32(spec.type, 'type');
  }
  const extra = spec.mapExtra ?? 0;
  const mapExtra = typeof extra === 'bigint' ? extra : BigInt(extra);
  if (mapExtra < 0n || mapExtra >= 1n << 64n) throw new UsageError(`map: map_extra ${mapExtra} is not a u64`);
  return {
    type,
    typeName: MAP_TYPES[type] ?? `unknown(${type})`,
    keySize: u32(spec.keySize, 'key size'),
    valueSize: u32(spec.valueSize, 'value size'),
    maxEntries: u32(spec.maxEntries, 'max_entries'),
    flags: u32(spec.flags, 'map_flags'),
    mapExtra,
    name: spec.name ?? MAP_TYPES[type] ?? 'map',
    innerMap: spec.innerMap,
    data: spec.data,
    frozen: spec.frozen ?? false,
    keyTypeId: spec.keyTypeId ?? 0,
    valueTypeId: spec.valueTypeId ?? 0,
    spinLockOff: spec.spinLockOff,
    timerOff: spec.timerOff,
    kptrOffs: spec.kptrOffs,
  };
}
