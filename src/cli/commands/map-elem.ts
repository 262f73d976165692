// tsbpf map lookup | update | delete | getnext | pin, in bpftool's syntax (tools/bpf/bpftool/
// map.c): `tsbpf map update pinned PATH key hex 01 00 00 00 value 2 0 0 0 noexist`. The maps
// are pins (src/cli/pins.ts): the CLI's stand-in for the kernel's live map state.
import { UsageError } from '../../errors.ts';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from '../../maps/flags.ts';
import { type BpfMap, btfValue, type BtfValue, btfValueToJson, MapError } from '../../maps/index.ts';
import { flag, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import { BPFFS_OPTION, bpffsDir, objectBtfBytes, openPin, type OpenPin, pinPath, writePin } from '../pins.ts';
import { BTF_OPTION, coreTargetOpt } from '../target-btf.ts';
import { findMap, loadObject } from './attach.ts';
import { pretty } from './map.ts';

const KEYWORDS = new Set(['key', 'value', 'any', 'noexist', 'exist']);
const hexList = (b: Uint8Array): string[] => Array.from(b, (x) => `0x${x.toString(16).padStart(2, '0')}`);
const hexText = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

interface ElemArgs {
  path: string;
  key?: Uint8Array;
  value?: Uint8Array;
  flags: number;
}

/** bpftool's DATA: `[hex] BYTES...`; without `hex` each byte is C-style (0x1f, 017, 31). */
function parseBytes(words: string[], i: number, what: string, size: number): [Uint8Array, number] {
  let hex = false;
  if (words[i] === 'hex') {
    hex = true;
    i++;
  }
  const out: number[] = [];
  for (; i < words.length && !KEYWORDS.has(words[i]!); i++) {
    const w = words[i]!;
    const n = hex
      ? /^[0-9a-f]{1,2}$/i.test(w)
        ? Number.parseInt(w, 16)
        : Number.NaN
      : /^0x[0-9a-f]{1,2}$/i.test(w)
        ? Number.parseInt(w, 16)
        : /^0[0-7]{1,3}$/.test(w)
          ? Number.parseInt(w, 8)
          : /^\d{1,3}$/.test(w)
            ? Number(w)
            : Number.NaN;
    if (!(n >= 0 && n <= 255)) throw new UsageError(`${what}: '${w}' is not a byte${hex ? ' in hex' : ''}`);
    out.push(n);
  }
  if (out.length !== size)
    throw new UsageError(`${what}: the map takes ${size} byte${size === 1 ? '' : 's'}, got ${out.length}`);
  return [Uint8Array.from(out), i];
}

/** `pinned PATH [key DATA] [value DATA] [any|noexist|exist]`, checked against the map. */
function parseElem(
  words: string[],
  dir: string,
  open: (path: string) => OpenPin,
): { a: ElemArgs; pin: OpenPin } {
  if (words[0] !== 'pinned' || words[1] === undefined)
    throw new UsageError(`expected 'pinned PATH' to name the map, got '${words.slice(0, 2).join(' ')}'`);
  const path = pinPath(dir, words[1]);
  const pin = open(path);
  const a: ElemArgs = { path, flags: BPF_ANY };
  try {
    for (let i = 2; i < words.length; ) {
      const w = words[i]!;
      if (w === 'key' && !a.key) [a.key, i] = parseBytes(words, i + 1, 'key', pin.map.keySize);
      else if (w === 'value' && !a.value)
        [a.value, i] = parseBytes(words, i + 1, 'value', pin.map.hostValueSize);
      else if (w === 'any' || w === 'noexist' || w === 'exist') {
        a.flags = w === 'any' ? BPF_ANY : w === 'noexist' ? BPF_NOEXIST : BPF_EXIST;
        i++;
      } else throw new UsageError(`unexpected '${w}' (expected key, value, any, noexist or exist)`);
    }
  } catch (e) {
    pin.close();
    throw e;
  }
  return { a, pin };
}

function formatted(map: BpfMap, key: Uint8Array, value?: Uint8Array): BtfValue | undefined {
  if (!map.btf || !map.valueTypeId) return undefined;
  const out: { [k: string]: BtfValue } = map.keyTypeId ? { key: btfValue(map.btf, map.keyTypeId, key) } : {};
  if (value && value.length === map.valueSize) out.value = btfValue(map.btf, map.valueTypeId, value);
  return out;
}

/** A map operation's errno as a failure (exit 1) that names the operation and the map. */
function mapOp<T>(what: string, pin: OpenPin, f: () => T): T {
  try {
    return f();
  } catch (e) {
    // MapError appends the errno name itself: keep only one.
    if (e instanceof MapError)
      throw new MapError(
        e.errno,
        `${what} in pinned map ${pin.pin.name}: ${e.message.replace(/ \(E[A-Z0-9]+\)$/, '')}`,
      );
    throw e;
  }
}

function elemCommand(
  name: 'lookup' | 'update' | 'delete' | 'getnext',
  summary: string,
  usage: string,
  act: (a: ElemArgs, pin: OpenPin, json: boolean) => string | undefined,
): Command {
  return {
    name: `map ${name}`,
    summary,
    usage: `map ${name} pinned PATH ${usage} [--bpffs DIR] [--json]

  PATH        a pin under the bpffs directory (--bpffs DIR, $TSBPF_BPFFS, or
              ./.tsbpf/bpffs), or an absolute path; made by 'tsbpf map pin' or
              'tsbpf run --pin-maps'
  DATA        [hex] BYTES: bytes in memory order, C-style numbers (1 0x1f 017),
              or two hex digits each after 'hex' ('key hex 01 00 00 00')
  --json      like 'bpftool -j': byte lists as "0x01" strings, "formatted" with BTF`,
    run(argv, io) {
      const p = parseCommandArgs(`map ${name}`, argv, { json: { type: 'boolean' }, ...BPFFS_OPTION });
      const { a, pin } = parseElem(p.positionals, bpffsDir(p), openPin);
      try {
        const out = act(a, pin, flag(p, 'json'));
        if (out !== undefined) io.out(out);
        return 0;
      } finally {
        pin.close();
      }
    },
  };
}

const need = (v: Uint8Array | undefined, what: string): Uint8Array => {
  if (!v) throw new UsageError(`${what} DATA is required`);
  return v;
};

export const mapLookupCommand = elemCommand(
  'lookup',
  "Look up a key in a pinned map (bpftool's map lookup)",
  'key DATA',
  (a, pin, json) => {
    const key = need(a.key, 'key');
    const v = mapOp('lookup', pin, () => pin.map.lookup(key));
    if (!v) throw new MapError(2, `lookup in ${pin.map.name}: key ${hexText(key)}: no such element`);
    const f = formatted(pin.map, key, v);
    if (json) return btfValueToJson({ key: hexList(key), value: hexList(v), ...(f ? { formatted: f } : {}) });
    return f ? pretty(f) : `key: ${hexText(key)}  value: ${hexText(v)}`;
  },
);

export const mapUpdateCommand = elemCommand(
  'update',
  "Update (or add) an element of a pinned map (bpftool's map update)",
  'key DATA value DATA [any|noexist|exist]',
  (a, pin, json) => {
    const key = need(a.key, 'key');
    const value = need(a.value, 'value');
    mapOp('update', pin, () => pin.map.update(key, value, a.flags));
    pin.save();
    return json ? 'null' : undefined;
  },
);

export const mapDeleteCommand = elemCommand(
  'delete',
  "Delete an element of a pinned map (bpftool's map delete)",
  'key DATA',
  (a, pin, json) => {
    const key = need(a.key, 'key');
    mapOp('delete', pin, () => pin.map.delete(key));
    pin.save();
    return json ? 'null' : undefined;
  },
);

export const mapGetnextCommand = elemCommand(
  'getnext',
  "The key after KEY in a pinned map, or its first key (bpftool's map getnext)",
  '[key DATA]',
  (a, pin, json) => {
    const next = mapOp('getnext', pin, () => pin.map.nextKey(a.key));
    if (!next)
      throw new MapError(
        2,
        `getnext in ${pin.map.name}: ${a.key ? `no key after ${hexText(a.key)}` : 'the map is empty'}`,
      );
    if (json) return JSON.stringify({ key: a.key ? hexList(a.key) : null, next_key: hexList(next) });
    return a.key
      ? `key:\n${hexText(a.key)}\nnext key:\n${hexText(next)}`
      : `key: None\nnext key:\n${hexText(next)}`;
  },
);

export const mapPinCommand: Command = {
  name: 'map pin',
  summary: "Pin an object's map (its state after loading) to a file, like bpftool map pin",
  usage: `map pin FILE.o --map NAME [PATH] [--bpffs DIR] [--set VAR=VAL] [--json]

  PATH            where to pin (default: the map's name); relative to the bpffs
                  directory (--bpffs DIR, $TSBPF_BPFFS, or ./.tsbpf/bpffs) unless absolute.
                  An existing file is replaced only if it is a tsbpf pin.
  --map NAME      the map ('.data', '.rodata', '.bss' name an object's global data)
  --set NAME=VAL  set a global (const volatile) variable before loading
  --json          {"map", "pinned", "entries"}`,
  run(argv, io) {
    const p = parseCommandArgs('map pin', argv, {
      map: { type: 'string' },
      set: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      ...BPFFS_OPTION,
      ...BTF_OPTION,
    });
    if (p.positionals.length < 1 || p.positionals.length > 2)
      throw new UsageError(`expected FILE.o [PATH], got ${p.positionals.length} arguments`);
    const [path, target] = p.positionals as [string, string | undefined];
    const name = str(p, 'map');
    if (name === undefined) throw new UsageError('--map NAME is required');
    const { coll } = loadObject({
      path,
      mapsOnly: true,
      sets: strs(p, 'set'),
      verify: false,
      ...coreTargetOpt(p),
    });
    try {
      const map = findMap(coll, name);
      const dest = pinPath(bpffsDir(p), target ?? map.name);
      writePin(dest, map, objectBtfBytes(path, coll.spec));
      const n = [...map.keys()].length;
      io.out(
        flag(p, 'json')
          ? JSON.stringify({ map: map.name, pinned: dest, entries: n })
          : `pinned ${map.name} at ${dest} (${n} elements)`,
      );
      return 0;
    } finally {
      coll.close();
    }
  },
};
