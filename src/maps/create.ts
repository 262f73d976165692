// createMap(): validate a spec as the kernel's map_create() and the type's alloc_check do, then
// build the map in the arena, with its initial contents (global data) and frozen if asked.
import type { Btf } from '../btf/btf.ts';
import { kptrFields } from '../btf/kptr-fields.ts';
import type { Arena } from '../vm/arena.ts';
import { ArrayMap, arrayAllocCheck, IndexedMap } from './array.ts';
import { BloomFilterMap, bloomAllocCheck } from './bloom-filter.ts';
import { EINVAL, MapError } from './errno.ts';
import { fdArrayAllocCheck, PerfEventArrayMap, ProgArrayMap, type ProgRef } from './fd-array.ts';
import * as T from './flags.ts';
import { HashMap, hashAllocCheck } from './hash.ts';
import { LpmTrieMap, lpmAllocCheck } from './lpm-trie.ts';
import type { BpfMap, MapClass } from './map.ts';
import { innerTemplateCheck, MapInMap } from './map-in-map.ts';
import { QueueStackMap, queueStackAllocCheck } from './queue-stack.ts';
import { RingbufMap, ringbufAllocCheck } from './ringbuf.ts';
import { UserRingbufMap } from './user-ringbuf.ts';
import { type CreateMapOptions, type MapCreateSpec, type NormalizedSpec, normalizeSpec } from './spec.ts';

interface MapKind {
  check: (s: NormalizedSpec) => number;
  make: MapClass;
}

const hashOfMapsCheck = (s: NormalizedSpec): number => {
  if (s.valueSize !== 4) return -EINVAL;
  return hashAllocCheck(s) || innerTemplateCheck(s);
};

const KINDS: Record<number, MapKind> = {
  [T.BPF_MAP_TYPE_HASH]: { check: hashAllocCheck, make: HashMap },
  [T.BPF_MAP_TYPE_PERCPU_HASH]: { check: hashAllocCheck, make: HashMap },
  [T.BPF_MAP_TYPE_LRU_HASH]: { check: hashAllocCheck, make: HashMap },
  [T.BPF_MAP_TYPE_LRU_PERCPU_HASH]: { check: hashAllocCheck, make: HashMap },
  [T.BPF_MAP_TYPE_ARRAY]: { check: arrayAllocCheck, make: ArrayMap },
  [T.BPF_MAP_TYPE_PERCPU_ARRAY]: { check: arrayAllocCheck, make: ArrayMap },
  [T.BPF_MAP_TYPE_PROG_ARRAY]: { check: fdArrayAllocCheck, make: ProgArrayMap },
  [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]: { check: fdArrayAllocCheck, make: PerfEventArrayMap },
  [T.BPF_MAP_TYPE_ARRAY_OF_MAPS]: {
    check: (s) => fdArrayAllocCheck(s) || innerTemplateCheck(s),
    make: MapInMap,
  },
  [T.BPF_MAP_TYPE_HASH_OF_MAPS]: { check: hashOfMapsCheck, make: MapInMap },
  [T.BPF_MAP_TYPE_LPM_TRIE]: { check: lpmAllocCheck, make: LpmTrieMap },
  [T.BPF_MAP_TYPE_QUEUE]: { check: queueStackAllocCheck, make: QueueStackMap },
  [T.BPF_MAP_TYPE_STACK]: { check: queueStackAllocCheck, make: QueueStackMap },
  [T.BPF_MAP_TYPE_RINGBUF]: { check: ringbufAllocCheck, make: RingbufMap },
  // kernel: ringbuf_map_alloc() serves both ring buffer types
  [T.BPF_MAP_TYPE_USER_RINGBUF]: { check: ringbufAllocCheck, make: UserRingbufMap },
  [T.BPF_MAP_TYPE_BLOOM_FILTER]: { check: bloomAllocCheck, make: BloomFilterMap },
};

/** Map types createMap() implements. */
export const SUPPORTED_MAP_TYPES: readonly number[] = Object.keys(KINDS).map(Number);

/** kernel: map_create() + ops->map_alloc_check(): 0 or the negative errno bpf() would fail with. */
export function mapCreateCheck(spec: MapCreateSpec): number {
  const s = normalizeSpec(spec);
  const kind = KINDS[s.type];
  if (!kind) return -EINVAL;
  // kernel: map_create() — map_extra is only for bloom filters (and arenas).
  if (s.mapExtra !== 0n && s.type !== T.BPF_MAP_TYPE_BLOOM_FILTER) return -EINVAL;
  return kind.check(s);
}

/**
 * Creates a map in the arena. Throws MapError with the kernel's errno when the kernel would
 * refuse the spec (EINVAL for a map type tsbpf does not implement).
 */
export function createMap(arena: Arena, spec: MapCreateSpec, opts: CreateMapOptions = {}): BpfMap {
  const s = normalizeSpec(spec);
  if (s.spinLockOff === undefined && opts.btf && s.valueTypeId)
    s.spinLockOff = spinLockOffset(opts.btf, s.valueTypeId);
  if (s.timerOff === undefined && opts.btf && s.valueTypeId)
    s.timerOff = structMemberOffset(opts.btf, s.valueTypeId, 'bpf_timer');
  if (s.kptrOffs === undefined && opts.btf && s.valueTypeId) {
    const offs = kptrFields(opts.btf, s.valueTypeId).map((f) => f.off);
    if (offs.length) s.kptrOffs = offs;
  }
  const kind = KINDS[s.type];
  if (!kind) throw new MapError(EINVAL, `map ${s.name}: map type ${s.typeName} is not supported`);
  const err = mapCreateCheck(spec);
  if (err)
    throw new MapError(
      -err,
      `map ${s.name}: ${s.typeName} with key ${s.keySize}, value ${s.valueSize}, max_entries ${s.maxEntries}, flags 0x${s.flags.toString(16)} refused`,
    );
  const m = new kind.make(arena, s, opts);
  if (s.data) {
    if (!(m instanceof ArrayMap) || s.data.length > m.valueSize) {
      m.close();
      throw new MapError(
        EINVAL,
        `map ${s.name}: initial data needs an array with a value of at least ${s.data.length} bytes`,
      );
    }
    arena.write(m.elemAddr(0), s.data);
  }
  if (s.frozen) m.freeze();
  return m;
}

/** A map spec as src/elf parses it, with `values = {...}` initialisers of map-in-map/prog arrays. */
export type CollectionMapSpec = MapCreateSpec & {
  name: string;
  initialValues?: { index: number; kind: 'map' | 'prog'; name: string }[];
};

/**
 * Creates every map of an object (in order), then fills map-in-map slots from their
 * initialisers and prog array slots through `resolveProg` (slots it cannot resolve stay empty).
 * On failure the maps created so far are closed.
 */
export function createMaps(
  arena: Arena,
  specs: readonly CollectionMapSpec[],
  opts: CreateMapOptions & { resolveProg?: (name: string) => ProgRef | undefined } = {},
): Map<string, BpfMap> {
  const out = new Map<string, BpfMap>();
  try {
    for (const s of specs) {
      if (out.has(s.name)) throw new MapError(EINVAL, `two maps named ${s.name}`);
      out.set(s.name, createMap(arena, s, opts));
    }
    for (const s of specs) {
      const m = out.get(s.name)!;
      for (const iv of s.initialValues ?? []) {
        const key = IndexedMap.key(iv.index);
        if (iv.kind === 'map' && m instanceof MapInMap) {
          const inner = out.get(iv.name);
          if (!inner)
            throw new MapError(EINVAL, `map ${s.name}: slot ${iv.index} names unknown map ${iv.name}`);
          m.setInner(key, inner);
        } else if (iv.kind === 'prog' && m instanceof ProgArrayMap) {
          const p = opts.resolveProg?.(iv.name);
          if (p) m.setProg(iv.index, p);
        } else {
          throw new MapError(EINVAL, `map ${s.name}: a ${iv.kind} initialiser on a ${m.typeName}`);
        }
      }
    }
  } catch (e) {
    for (const m of out.values()) m.close();
    throw e;
  }
  return out;
}

/**
 * Byte offset of a top-level `struct bpf_spin_lock` member of the value type, which makes
 * BPF_F_LOCK updates valid (kernel: btf_record_has_field(map->record, BPF_SPIN_LOCK)).
 */
export function spinLockOffset(btf: Btf, valueTypeId: number): number | undefined {
  return structMemberOffset(btf, valueTypeId, 'bpf_spin_lock');
}

/** Byte offset of a top-level member of type `struct <name>` in the value type. */
function structMemberOffset(btf: Btf, valueTypeId: number, name: string): number | undefined {
  try {
    const t = btf.resolve(valueTypeId);
    if (t.kind !== 'struct') return undefined;
    for (const m of t.members) {
      const mt = btf.resolve(m.type);
      if (mt.kind === 'struct' && mt.name === name) return m.bitOffset / 8;
    }
  } catch {
    // Unresolvable BTF: no such field.
  }
  return undefined;
}
