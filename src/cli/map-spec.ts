// `--map TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES`, exactly as the kbpf oracle reads it: the i-th
// --map is what an lddw with src=1 (map pointer) or src=2 (value address) and imm=i names.
import { UsageError } from '../errors.ts';
import type { MapSpec } from '../elf/spec.ts';
import { ArrayMap } from '../vm/array-map.ts';
import type { Arena } from '../vm/arena.ts';
import type { VmMap } from '../vm/maps.ts';

/** The map types kbpf can create. */
export const KBPF_MAP_TYPES = ['array', 'hash', 'percpu_array', 'lru_hash', 'ringbuf', 'prog_array'] as const;

export interface CliMapSpec {
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  name?: string;
  /** Initial value of element 0 (global data sections of an object). */
  data?: Uint8Array;
}

const U32 = /^(0x[0-9a-f]+|\d+)$/i;

export function parseMapSpec(text: string): CliMapSpec {
  const parts = text.split(':');
  const bad = (why: string): never => {
    throw new UsageError(`--map ${text}: ${why} (expected TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES)`);
  };
  if (parts.length !== 4) bad(`${parts.length} fields`);
  const [type, ...nums] = parts as [string, string, string, string];
  if (!(KBPF_MAP_TYPES as readonly string[]).includes(type))
    bad(`unknown map type '${type}' (known: ${KBPF_MAP_TYPES.join(', ')})`);
  const values = nums.map((s) => {
    const n = U32.test(s) ? Number(s) : Number.NaN;
    if (!Number.isSafeInteger(n) || n > 0xffffffff) bad(`'${s}' is not an unsigned 32-bit integer`);
    return n;
  });
  const [keySize, valueSize, maxEntries] = values as [number, number, number];
  return { type, keySize, valueSize, maxEntries };
}

export function mapSpecFromObject(m: MapSpec): CliMapSpec {
  return {
    type: m.typeName,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    name: m.name,
    ...(m.data ? { data: m.data } : {}),
  };
}

// The kernel's array map limits (kernel: array_map_alloc_check()); bigger ones would not fit the arena.
const MAX_ARRAY_BYTES = 64 << 20;

/** Creates a map in the VM's arena. Only arrays exist until the maps module lands. */
export function createMap(arena: Arena, spec: CliMapSpec, index: number): VmMap {
  const label = `map ${index}${spec.name ? ` (${spec.name})` : ''}`;
  if (spec.type !== 'array')
    throw new UsageError(`${label}: map type ${spec.type} is not supported yet by tsbpf run (only array)`);
  if (spec.keySize !== 4) throw new UsageError(`${label}: array maps need KEY_SIZE 4, got ${spec.keySize}`);
  if (spec.valueSize === 0 || spec.maxEntries === 0)
    throw new UsageError(`${label}: VALUE_SIZE and MAX_ENTRIES must be non-zero (the kernel returns EINVAL)`);
  if (Math.ceil(spec.valueSize / 8) * 8 * spec.maxEntries > MAX_ARRAY_BYTES)
    throw new UsageError(`${label}: ${spec.maxEntries} x ${spec.valueSize} bytes is too large for tsbpf run`);
  const map = new ArrayMap(arena, {
    type: 'array',
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    name: spec.name ?? `map${index}`,
  });
  if (spec.data) map.set(0, spec.data);
  return map;
}

/** kbpf's `--dump-maps`: every element of every array map. */
export function dumpMap(map: VmMap): Uint8Array[] | undefined {
  if (!(map instanceof ArrayMap)) return undefined;
  const out: Uint8Array[] = [];
  for (let k = 0; k < map.maxEntries; k++) out.push(map.get(k));
  return out;
}
