// `--map TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES`, exactly as the kbpf oracle reads it: the i-th
// --map is what an lddw with src=1 (map pointer) or src=2 (value address) and imm=i names.
import { UsageError } from '../errors.ts';
import { type BpfMap, createMap as createBpfMap, MapError } from '../maps/index.ts';
import type { MapInfo } from '../verifier/index.ts';
import type { Arena } from '../vm/arena.ts';
import { toHex } from './io.ts';

/** The map types kbpf can create. */
export const KBPF_MAP_TYPES = ['array', 'hash', 'percpu_array', 'lru_hash', 'ringbuf', 'prog_array'] as const;

export interface CliMapSpec {
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  name?: string;
  /** Initial value of element 0 (global data sections of an object). */
  data?: Uint8Array;
  /** .rodata: frozen after the initial value is written. */
  frozen?: boolean;
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

// Bigger maps would not fit the arena; the kernel's own limits come from the maps module.
const MAX_MAP_BYTES = 64 << 20;

/** Creates a map in the VM's arena with the maps module; refusals are usage errors. */
export function createMap(arena: Arena, spec: CliMapSpec, index: number): BpfMap {
  const label = `map ${index}${spec.name ? ` (${spec.name})` : ''}`;
  if (Math.ceil(spec.valueSize / 8) * 8 * spec.maxEntries > MAX_MAP_BYTES && spec.type !== 'ringbuf')
    throw new UsageError(`${label}: ${spec.maxEntries} x ${spec.valueSize} bytes is too large for tsbpf run`);
  try {
    return createBpfMap(arena, { ...spec, name: spec.name ?? `map${index}` });
  } catch (e) {
    if (e instanceof MapError) throw new UsageError(`${label}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** kbpf's `--dump-maps`: every element, keyed by index for arrays and by key bytes otherwise. */
export function dumpMap(map: BpfMap): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  const byIndex = map.keySize === 4 && /array/.test(map.typeName);
  try {
    for (const [k, v] of map.entries()) {
      const key = byIndex ? String(new DataView(k.buffer, k.byteOffset, 4).getUint32(0, true)) : toHex(k);
      out.push({ key, value: toHex(v) });
    }
  } catch (e) {
    // Queues, stacks, ring buffers and bloom filters cannot be walked: no dump, as in kbpf.
    if (!(e instanceof MapError)) throw e;
  }
  return out;
}

/** What the verifier needs to know about the maps. */
export function mapInfo(spec: CliMapSpec): MapInfo {
  return {
    type: spec.type,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    flags: spec.flags ?? 0,
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.frozen && spec.data ? { frozenData: spec.data } : {}),
  };
}
