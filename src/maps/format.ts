// Map keys and values formatted through BTF, as `bpftool -j map dump` prints them in its
// "formatted" field (kernel tree: tools/bpf/bpftool/btf_dumper.c): integers as numbers, char
// arrays holding a string as strings, bitfields as hex strings, enums by enumerator name (or
// their number), structs as objects, per-CPU values as [{cpu, value}]. 64-bit integers stay exact: values past 2^53 are bigints in the
// tree and raw digits in the JSON text.
import type { Btf } from '../btf/btf.ts';
import { BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, type BtfType } from '../btf/types.ts';
import { BtfError } from '../errors.ts';
import { ArrayMap } from './array.ts';
import { HashMap } from './hash.ts';
import type { BpfMap } from './map.ts';

export type BtfValue = number | bigint | boolean | string | BtfValue[] | { [name: string]: BtfValue };

const MAX_DEPTH = 32;

/** Reads `bits` bits at bit offset `off` (little-endian) as an unsigned bigint. */
function readBits(b: Uint8Array, off: number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const bit = off + i;
    if ((b[bit >> 3]! >> (bit & 7)) & 1) v |= 1n << BigInt(i);
  }
  return v;
}

const num = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

/** kernel bpftool: is_str_array() — printable characters up to a NUL, NUL-terminated. */
function asString(b: Uint8Array): string | undefined {
  const end = b.indexOf(0);
  if (end <= 0) return undefined;
  for (let i = 0; i < end; i++) if (b[i]! < 0x20 || b[i]! > 0x7e) return undefined;
  for (let i = end; i < b.length; i++) if (b[i] !== 0) return undefined;
  return String.fromCharCode(...b.subarray(0, end));
}

/** The value of type `typeId` in `bytes` (from byte 0), as bpftool's btf_dumper shows it. */
export function btfValue(btf: Btf, typeId: number, bytes: Uint8Array): BtfValue {
  return dump(btf, typeId, bytes, 0, 0, 0);
}

function dump(
  btf: Btf,
  id: number,
  b: Uint8Array,
  bitOff: number,
  bitfield: number,
  depth: number,
): BtfValue {
  if (depth > MAX_DEPTH) throw new BtfError(`type [${id}]: nested too deeply to format`);
  const t = btf.resolve(id);
  if (t.kind === 'void') return 0;
  // bpftool prints bitfields as the hex of their raw bits, whatever their signedness.
  if (bitfield) return `0x${readBits(b, bitOff, bitfield).toString(16)}`;
  const at = bitOff >> 3;
  switch (t.kind) {
    case 'int':
      return intBits(t, b, bitOff + t.bitOffset, t.bits);
    case 'enum':
    case 'enum64': {
      const raw = readBits(b, bitOff, t.size * 8);
      const v = t.signed ? BigInt.asIntN(t.size * 8, raw) : raw;
      const e = t.values.find((x) => BigInt.asUintN(t.size * 8, x.value) === raw);
      return e ? e.name : num(v);
    }
    case 'ptr':
      return num(readBits(b, bitOff, 64));
    case 'float': {
      const dv = new DataView(b.buffer, b.byteOffset + at, t.size);
      return t.size === 4 ? dv.getFloat32(0, true) : t.size === 8 ? dv.getFloat64(0, true) : 0;
    }
    case 'array': {
      const elem = btf.resolve(t.type);
      const size = btf.sizeof(t.type);
      if (
        elem.kind === 'int' &&
        elem.size === 1 &&
        (elem.encoding & BTF_INT_CHAR || elem.name.includes('char'))
      ) {
        const s = asString(b.subarray(at, at + t.nelems));
        if (s !== undefined) return s;
      }
      const out: BtfValue[] = [];
      for (let i = 0; i < t.nelems; i++) out.push(dump(btf, t.type, b, bitOff + i * size * 8, 0, depth + 1));
      return out;
    }
    case 'struct':
    case 'union': {
      const out: { [name: string]: BtfValue } = {};
      for (const m of t.members) {
        const v = dump(btf, m.type, b, bitOff + m.bitOffset, m.bitfieldSize, depth + 1);
        out[m.name] = v;
      }
      return out;
    }
    case 'var':
      return { [t.name]: dump(btf, t.type, b, bitOff, 0, depth + 1) };
    case 'datasec':
      return { [t.name]: t.vars.map((v) => dump(btf, v.type, b, bitOff + v.offset * 8, 0, depth + 1)) };
    case 'fwd':
      return '/* (forward) */';
    default:
      return `/* ${t.kind} */`;
  }
}

function intBits(t: BtfType, b: Uint8Array, off: number, bits: number): BtfValue {
  const enc = t.kind === 'int' ? t.encoding : 0;
  const raw = readBits(b, off, bits);
  if (enc & BTF_INT_BOOL) return raw !== 0n;
  if (enc & BTF_INT_SIGNED || (enc & BTF_INT_CHAR && t.name === 'char')) return num(BigInt.asIntN(bits, raw));
  return num(raw);
}

/** JSON text of a BtfValue; bigints print as plain digits, like bpftool's %llu. */
export function btfValueToJson(v: BtfValue): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(btfValueToJson).join(',')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${btfValueToJson(x)}`)
    .join(',')}}`;
}

/** One entry as bpftool's "formatted" object: {"key": ..., "value": ...}. */
export function formatEntry(
  btf: Btf,
  keyType: number,
  valueType: number,
  key: Uint8Array,
  value: Uint8Array,
): string {
  return btfValueToJson({ key: btfValue(btf, keyType, key), value: btfValue(btf, valueType, value) });
}

/** Every entry of a map with BTF, as the "formatted" parts of `bpftool -j map dump`. */
export function formatMapDump(map: BpfMap, btf = map.btf): BtfValue[] {
  if (!btf) throw new BtfError(`map ${map.name} has no BTF to format with`);
  const out: BtfValue[] = [];
  const percpu = (map instanceof ArrayMap || map instanceof HashMap) && map.percpu;
  for (const [k, v] of map.entries()) {
    // Without key BTF (global data maps) bpftool shows only the value.
    const entry: { [name: string]: BtfValue } = map.keyTypeId ? { key: btfValue(btf, map.keyTypeId, k) } : {};
    if (!percpu) {
      out.push({ ...entry, value: btfValue(btf, map.valueTypeId, v) });
      continue;
    }
    const stride = Math.ceil(map.valueSize / 8) * 8;
    const values: BtfValue[] = [];
    for (let c = 0; c < map.nrCpus; c++)
      values.push({
        cpu: c,
        value: btfValue(btf, map.valueTypeId, v.subarray(c * stride, c * stride + map.valueSize)),
      });
    out.push({ ...entry, values });
  }
  return out;
}
