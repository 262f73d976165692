// Pinned maps for a one-shot CLI: a directory stands in for bpffs, so a map's contents live
// on between invocations (`tsbpf run --pin-maps`, `tsbpf map update pinned PATH ...`, and
// objects whose maps say `pinning: LIBBPF_PIN_BY_NAME` reuse them, as libbpf does).
//
// Directory: --bpffs DIR, else $TSBPF_BPFFS, else ./.tsbpf/bpffs. `pinned PATH` is PATH
// itself when absolute, else DIR/PATH. By-name pins are DIR/<map name>.
//
// File format (one pin per file, UTF-8 text): the first line is exactly `tsbpf-map-pin 1`
// (tsbpf never overwrites a file that does not start with it), the second one JSON object:
//   {"name", "type" (enum bpf_map_type), "type_name", "key_size", "value_size",
//    "max_entries", "flags", "map_extra", "nr_cpus", "frozen", "key_type_id",
//    "value_type_id", "btf" (base64 of the raw BTF the type ids refer to, or null),
//    "hash_seed" (hash maps), "entries": [[KEY_HEX, VALUE_HEX], ...] in get_next_key order}
// Per-CPU values hold every CPU's copy, each rounded up to 8 bytes (as bpf() returns them).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Btf } from '../btf/btf.ts';
import { exportObjectBtf } from '../elf/btf-export.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import { parseBtf } from '../btf/unmarshal.ts';
import { InputError, UsageError } from '../errors.ts';
import { type BpfMap, createMap, HashMap, MapError } from '../maps/index.ts';
import { Arena } from '../vm/arena.ts';
import { type Parsed, str } from './args.ts';
import { readInput, toHex } from './io.ts';

export const PIN_MAGIC = 'tsbpf-map-pin 1';

export interface PinFile {
  name: string;
  type: number;
  type_name: string;
  key_size: number;
  value_size: number;
  max_entries: number;
  flags: number;
  map_extra: number;
  nr_cpus: number;
  frozen: boolean;
  key_type_id: number;
  value_type_id: number;
  btf: string | null;
  /** Hash maps: the bucket hash seed, so get_next_key walks in the same order after reloading. */
  hash_seed?: number;
  entries: [string, string][];
}

export const BPFFS_OPTION = { bpffs: { type: 'string' } } as const;

/** The bpffs stand-in directory of this invocation. */
export function bpffsDir(p: Parsed): string {
  return str(p, 'bpffs') ?? process.env.TSBPF_BPFFS ?? join('.tsbpf', 'bpffs');
}

export function pinPath(dir: string, path: string): string {
  if (path === '' || path.split('/').includes('..'))
    throw new UsageError(`pinned ${path}: expected a file name under the bpffs directory, without '..'`);
  return isAbsolute(path) ? path : join(dir, path);
}

/** Map types whose whole state is their key/value pairs (no fds, no streams). */
export function persistable(map: BpfMap): string | undefined {
  if (/prog_array|of_maps|ringbuf|perf_event|queue|stack|bloom|devmap|cpumap|xskmap/.test(map.typeName))
    return `a ${map.typeName} map cannot be pinned to a file (its state is not key/value pairs)`;
  return undefined;
}

const isPin = (path: string): boolean => {
  try {
    const head = readFileSync(path, { encoding: 'latin1', flag: 'r' }).slice(0, PIN_MAGIC.length + 1);
    return head === `${PIN_MAGIC}\n`;
  } catch {
    return false;
  }
};

/** Writes `map` to a pin file; refuses to replace anything that is not a tsbpf pin. */
export function writePin(path: string, map: BpfMap, btfBytes?: Uint8Array): void {
  const why = persistable(map);
  if (why) throw new UsageError(`pin ${path}: ${why}`);
  if (existsSync(path) && !isPin(path))
    throw new UsageError(
      `refusing to overwrite ${path}: it is not a tsbpf map pin (no '${PIN_MAGIC}' header)`,
    );
  const body: PinFile = {
    name: map.name,
    type: map.type,
    type_name: map.typeName,
    key_size: map.keySize,
    value_size: map.valueSize,
    max_entries: map.maxEntries,
    flags: map.flags,
    map_extra: Number(map.mapExtra),
    nr_cpus: map.nrCpus,
    frozen: map.frozen,
    key_type_id: map.keyTypeId,
    value_type_id: map.valueTypeId,
    btf: btfBytes && map.valueTypeId ? Buffer.from(btfBytes).toString('base64') : null,
    ...(map instanceof HashMap ? { hash_seed: map.hashSeed } : {}),
    entries: [...map.entries()].map(([k, v]) => [toHex(k), toHex(v)]),
  };
  try {
    mkdirSync(dirname(path), { recursive: true });
    // Whole file or nothing: a reader never sees half a pin.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${PIN_MAGIC}\n${JSON.stringify(body)}\n`);
    renameSync(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new InputError('IO', `cannot write pin ${path}: ${code}`, { where: { file: path } });
  }
}

const fromHex = (h: string, what: string, path: string): Uint8Array => {
  if (!/^(?:[0-9a-f]{2})*$/i.test(h))
    throw new InputError('PIN', `${what} is not hex`, { where: { file: path } });
  return Uint8Array.from(h.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
};

/** Reads and checks a pin file (bad files are InputErrors naming the file). */
export function readPin(path: string): PinFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      'IO',
      code === 'ENOENT' ? 'no such pin' : `cannot read the pin (${code ?? 'unreadable'})`,
      {
        where: { file: path },
      },
    );
  }
  const bad = (why: string): never => {
    throw new InputError('PIN', `not a valid tsbpf map pin: ${why}`, { where: { file: path } });
  };
  if (!text.startsWith(`${PIN_MAGIC}\n`)) bad(`no '${PIN_MAGIC}' header`);
  let j: PinFile;
  try {
    j = JSON.parse(text.slice(PIN_MAGIC.length + 1)) as PinFile;
  } catch (e) {
    return bad(`JSON: ${(e as Error).message}`);
  }
  const ints = ['type', 'key_size', 'value_size', 'max_entries', 'flags', 'map_extra', 'nr_cpus'] as const;
  if (typeof j !== 'object' || j === null) bad('not an object');
  for (const k of ints) if (!Number.isSafeInteger(j[k]) || j[k] < 0) bad(`"${k}" is not a count`);
  if (typeof j.name !== 'string' || !Array.isArray(j.entries)) bad('"name" or "entries" missing');
  if (!j.entries.every((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string'))
    bad('"entries" must be [key hex, value hex] pairs');
  return j;
}

/** A pinned map brought back to life in a private arena; `save()` writes it back. */
export interface OpenPin {
  map: BpfMap;
  pin: PinFile;
  save(): void;
  close(): void;
}

function pinBtf(pin: PinFile, path: string): { btf?: Btf; bytes?: Uint8Array } {
  if (!pin.btf) return {};
  const bytes = new Uint8Array(Buffer.from(pin.btf, 'base64'));
  return { btf: parseBtf(bytes, { file: path, section: 'pin btf' }), bytes };
}

/** Puts a pin's elements into `map` (which must match it); arrays are overwritten, hashes emptied first. */
export function loadPinInto(map: BpfMap, pin: PinFile, path: string): void {
  const mismatch = (
    [
      ['type', pin.type, map.type],
      ['key_size', pin.key_size, map.keySize],
      ['value_size', pin.value_size, map.valueSize],
      ['max_entries', pin.max_entries, map.maxEntries],
      ['flags', pin.flags, map.flags],
    ] as const
  ).find(([, a, b]) => a !== b);
  // libbpf: map_is_reuse_compat() — a pin that does not match the definition is an error.
  if (mismatch)
    throw new InputError(
      'PIN',
      `pinned map ${path} does not match map ${map.name}: ${mismatch[0]} ${mismatch[1]} vs ${mismatch[2]}`,
      { where: { file: path } },
    );
  if (!/array/.test(map.typeName)) for (const k of [...map.keys()]) map.delete(k);
  try {
    // Reversed: a hash bucket lists its newest element first, so the walk order comes back.
    for (const [k, v] of [...pin.entries].reverse())
      map.update(fromHex(k, 'a key', path), fromHex(v, 'a value', path));
  } catch (e) {
    if (e instanceof MapError)
      throw new InputError('PIN', `${path}: ${e.message}`, { where: { file: path } });
    throw e;
  }
}

export function openPin(path: string): OpenPin {
  const pin = readPin(path);
  const { btf, bytes } = pinBtf(pin, path);
  const arena = new Arena();
  let map: BpfMap;
  try {
    map = createMap(
      arena,
      {
        type: pin.type,
        keySize: pin.key_size,
        valueSize: pin.value_size,
        maxEntries: pin.max_entries,
        flags: pin.flags,
        mapExtra: pin.map_extra,
        name: pin.name,
        keyTypeId: pin.key_type_id,
        valueTypeId: pin.value_type_id,
      },
      {
        nrCpus: pin.nr_cpus || 1,
        ...(btf ? { btf } : {}),
        ...(Number.isSafeInteger(pin.hash_seed) ? { hashSeed: pin.hash_seed } : {}),
      },
    );
  } catch (e) {
    if (e instanceof MapError)
      throw new InputError('PIN', `${path}: ${e.message}`, { where: { file: path } });
    throw e;
  }
  loadPinInto(map, pin, path);
  if (pin.frozen) map.freeze();
  return {
    map,
    pin,
    save: () => writePin(path, map, bytes),
    close: () => map.close(),
  };
}

/** The object's load-time BTF, which a pin keeps so later dumps can format its elements. */
export function objectBtfBytes(path: string, spec: CollectionSpec): Uint8Array | undefined {
  if (!spec.btf) return undefined;
  try {
    return exportObjectBtf(readInput(path), path, spec.btf);
  } catch (e) {
    if (e instanceof InputError) return undefined;
    throw e;
  }
}
