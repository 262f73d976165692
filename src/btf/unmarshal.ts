// `.BTF` bytes → Btf. Every read is checked against the section, and every type id a type
// refers to is checked against the number of types, so helpers can index without guards.
// kernel: btf_parse() / btf_check_all_metas(); libbpf: btf_parse_type_sec().
import { BtfError, type Where } from '../errors.ts';
import { Btf } from './btf.ts';
import {
  BTF_KIND_NAMES,
  BTF_MAGIC,
  type BtfLinkage,
  type BtfMember,
  type BtfType,
  type BtfVarSecinfo,
} from './types.ts';

const HEADER_MIN = 24;
const LINKAGE: BtfLinkage[] = ['static', 'global', 'extern'];

export interface BtfParseOptions {
  file?: string;
  section?: string;
  /** Where the section starts in the file, so error offsets are file offsets. */
  baseOff?: number;
}

/** A bounds-checked little-endian cursor over one section; errors carry the file offset. */
export class ByteCursor {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly where: Where,
    private readonly baseOff: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(message: string, off: number): BtfError {
    return new BtfError(message, { where: { ...this.where, byteOff: this.baseOff + off } });
  }
  need(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.bytes.length) {
      throw this.fail(
        `${what}: ${len} bytes at offset ${off} run past the end (${this.bytes.length} bytes)`,
        off,
      );
    }
  }
  u8(off: number): number {
    this.need(off, 1, 'u8');
    return this.view.getUint8(off);
  }
  u16(off: number): number {
    this.need(off, 2, 'u16');
    return this.view.getUint16(off, true);
  }
  u32(off: number): number {
    this.need(off, 4, 'u32');
    return this.view.getUint32(off, true);
  }
  i32(off: number): number {
    this.need(off, 4, 'i32');
    return this.view.getInt32(off, true);
  }
}

/** A string section: offsets must land inside it and the string must end with NUL. */
export class StringTable {
  private readonly cache = new Map<number, string>();
  constructor(
    private readonly cur: ByteCursor,
    private readonly start: number,
    readonly size: number,
  ) {}
  /** `at`: where the offset was read, so an error points at the bad field (default: the section). */
  get(off: number, what: string, at?: number): string {
    const hit = this.cache.get(off);
    if (hit !== undefined) return hit;
    if (off >= this.size)
      throw this.cur.fail(`${what}: string offset ${off} is outside the string section`, at ?? this.start);
    const from = this.start + off;
    // Names are capped (the kernel's KSYM_NAME_LEN is 512) so a missing NUL costs one bounded scan.
    const end = Math.min(this.start + this.size, from + 4097);
    const bytes = this.cur.bytes;
    let nul = from;
    while (nul < end && bytes[nul] !== 0) nul++;
    if (nul === end) {
      throw this.cur.fail(`${what}: string at offset ${off} is not NUL-terminated or too long`, from);
    }
    const s = String.fromCharCode.apply(null, bytes.subarray(from, nul) as unknown as number[]);
    this.cache.set(off, s);
    return s;
  }
}

/** Parses a `.BTF` section. */
export function parseBtf(bytes: Uint8Array, opts: BtfParseOptions = {}): Btf {
  const where: Where = { file: opts.file, section: opts.section ?? '.BTF' };
  const cur = new ByteCursor(bytes, where, opts.baseOff ?? 0);
  if (bytes.length < HEADER_MIN)
    throw cur.fail(`section is ${bytes.length} bytes, too short for a BTF header`, 0);
  const magic = cur.u16(0);
  if (magic !== BTF_MAGIC)
    throw cur.fail(`bad BTF magic 0x${magic.toString(16)} (big-endian BTF is not supported)`, 0);
  const version = cur.u8(2);
  if (version !== 1) throw cur.fail(`unsupported BTF version ${version}`, 2);
  const hdrLen = cur.u32(4);
  if (hdrLen < HEADER_MIN || hdrLen > bytes.length) throw cur.fail(`bad BTF header length ${hdrLen}`, 4);
  // Bytes of a longer header that we do not understand must be zero (kernel: btf_check_sec_info).
  for (let i = HEADER_MIN; i < hdrLen; i++)
    if (cur.u8(i) !== 0) throw cur.fail('unknown non-zero header field', i);
  const typeOff = cur.u32(8);
  const typeLen = cur.u32(12);
  const strOff = cur.u32(16);
  const strLen = cur.u32(20);
  const body = bytes.length - hdrLen;
  if (typeOff > body || typeLen > body - typeOff) throw cur.fail('type section is outside the BTF data', 8);
  if (strOff > body || strLen > body - strOff) throw cur.fail('string section is outside the BTF data', 16);
  if (typeOff % 4 !== 0) throw cur.fail(`type section offset ${typeOff} is not 4-byte aligned`, 8);
  if (typeOff < strOff ? typeOff + typeLen > strOff : strOff + strLen > typeOff) {
    throw cur.fail('type and string sections overlap', 8);
  }
  const strStart = hdrLen + strOff;
  if (strLen === 0 || cur.u8(strStart) !== 0)
    throw cur.fail('string section must start with an empty string', strStart);
  if (cur.u8(strStart + strLen - 1) !== 0)
    throw cur.fail('string section must end with NUL', strStart + strLen - 1);
  const strings = new StringTable(cur, strStart, strLen);
  const { types, offsets } = parseTypes(cur, strings, hdrLen + typeOff, typeLen);
  checkRefs(cur, types, offsets);
  return new Btf(types, strings);
}

function parseTypes(
  cur: ByteCursor,
  strings: StringTable,
  start: number,
  len: number,
): { types: BtfType[]; offsets: number[] } {
  const types: BtfType[] = [];
  const offsets: number[] = [];
  const end = start + len;
  let off = start;
  while (off < end) {
    if (end - off < 12) throw cur.fail('truncated type record', off);
    const id = types.length + 1;
    const nameOff = cur.u32(off);
    const info = cur.u32(off + 4);
    const sizeOrType = cur.u32(off + 8);
    const vlen = info & 0xffff;
    const kindNum = (info >>> 24) & 0x1f;
    const kflag = info >>> 31 === 1;
    const kind = BTF_KIND_NAMES[kindNum];
    if (kind === undefined || kind === 'unknown')
      throw cur.fail(`type [${id}]: unknown BTF kind ${kindNum}`, off + 4);
    const name = strings.get(nameOff, `type [${id}] name`, off);
    const at = off;
    off += 12;
    const rec = (n: number, size: number): number => {
      // vlen is at most 65535, so this cannot be quadratic; still, check it fits before reading.
      cur.need(off, n * size, `type [${id}] ${kind} with ${n} entries`);
      if (off + n * size > end) throw cur.fail(`type [${id}] runs past the type section`, off);
      const from = off;
      off += n * size;
      return from;
    };
    let t: BtfType;
    switch (kind) {
      case 'int': {
        const d = cur.u32(rec(1, 4));
        const bits = d & 0xff;
        t = {
          id,
          kind,
          name,
          size: sizeOrType,
          encoding: (d >>> 24) & 0xf,
          bitOffset: (d >>> 16) & 0xff,
          bits,
        };
        if (bits === 0 || bits > 128 || sizeOrType > 16 || bits + t.bitOffset > sizeOrType * 8) {
          throw cur.fail(`type [${id}] int: bad size ${sizeOrType}/bits ${bits}`, at);
        }
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        t = { id, kind, name, type: sizeOrType };
        break;
      case 'array': {
        const r = rec(1, 12);
        t = { id, kind, name, type: cur.u32(r), indexType: cur.u32(r + 4), nelems: cur.u32(r + 8) };
        break;
      }
      case 'struct':
      case 'union': {
        const r = rec(vlen, 12);
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = r + i * 12;
          const raw = cur.u32(m + 8);
          members.push({
            name: strings.get(cur.u32(m), `type [${id}] member ${i} name`, m),
            type: cur.u32(m + 4),
            bitOffset: kflag ? raw & 0xffffff : raw,
            bitfieldSize: kflag ? raw >>> 24 : 0,
          });
        }
        t = { id, kind, name, size: sizeOrType, members };
        break;
      }
      case 'enum': {
        const r = rec(vlen, 8);
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const v = r + i * 8;
          const raw = kflag ? cur.i32(v + 4) : cur.u32(v + 4);
          // Older compilers do not set kind_flag; a negative i32 is then still the usual reading.
          values.push({
            name: strings.get(cur.u32(v), `type [${id}] enumerator ${i}`, v),
            value: BigInt(raw),
          });
        }
        t = { id, kind, name, size: sizeOrType, signed: kflag, values };
        break;
      }
      case 'enum64': {
        const r = rec(vlen, 12);
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const v = r + i * 12;
          let value = (BigInt(cur.u32(v + 8)) << 32n) | BigInt(cur.u32(v + 4));
          if (kflag) value = BigInt.asIntN(64, value);
          values.push({ name: strings.get(cur.u32(v), `type [${id}] enumerator ${i}`, v), value });
        }
        t = { id, kind, name, size: sizeOrType, signed: kflag, values };
        break;
      }
      case 'fwd':
        t = { id, kind, name, union: kflag };
        break;
      case 'func':
        t = { id, kind, name, type: sizeOrType, linkage: linkage(cur, vlen, id, at) };
        break;
      case 'func_proto': {
        const r = rec(vlen, 8);
        const params = [];
        for (let i = 0; i < vlen; i++) {
          const p = r + i * 8;
          params.push({ name: strings.get(cur.u32(p), `type [${id}] param ${i}`, p), type: cur.u32(p + 4) });
        }
        t = { id, kind, name, type: sizeOrType, params };
        break;
      }
      case 'var':
        t = { id, kind, name, type: sizeOrType, linkage: linkage(cur, cur.u32(rec(1, 4)), id, at) };
        break;
      case 'datasec': {
        const r = rec(vlen, 12);
        const vars: BtfVarSecinfo[] = [];
        for (let i = 0; i < vlen; i++) {
          const v = r + i * 12;
          vars.push({ type: cur.u32(v), offset: cur.u32(v + 4), size: cur.u32(v + 8) });
        }
        t = { id, kind, name, size: sizeOrType, vars };
        break;
      }
      case 'float':
        t = { id, kind, name, size: sizeOrType };
        break;
      case 'decl_tag':
        t = { id, kind, name, type: sizeOrType, componentIdx: cur.i32(rec(1, 4)) };
        break;
    }
    types.push(t);
    offsets.push(at);
  }
  return { types, offsets };
}

function linkage(cur: ByteCursor, v: number, id: number, at: number): BtfLinkage {
  const l = LINKAGE[v];
  if (l === undefined) throw cur.fail(`type [${id}]: bad linkage ${v}`, at);
  return l;
}

/** Every type id referenced must exist; kinds that must point at a specific kind are checked too. */
function checkRefs(cur: ByteCursor, types: BtfType[], offsets: number[]): void {
  const n = types.length;
  for (const t of types) {
    const at = offsets[t.id - 1]!;
    const ref = (id: number, what: string): void => {
      if (id > n)
        throw cur.fail(`type [${t.id}] ${t.kind}: ${what} refers to type ${id}, only ${n} exist`, at);
    };
    switch (t.kind) {
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'var':
      case 'decl_tag':
        ref(t.type, 'type');
        break;
      case 'func':
        ref(t.type, 'type');
        if (types[t.type - 1]?.kind !== 'func_proto') {
          throw cur.fail(`type [${t.id}] func: type ${t.type} is not a func_proto`, at);
        }
        break;
      case 'array':
        ref(t.type, 'element type');
        ref(t.indexType, 'index type');
        break;
      case 'struct':
      case 'union':
        for (const m of t.members) ref(m.type, `member ${m.name}`);
        break;
      case 'func_proto':
        ref(t.type, 'return type');
        for (const p of t.params) ref(p.type, `param ${p.name}`);
        break;
      case 'datasec':
        for (const v of t.vars) ref(v.type, 'variable');
        break;
      default:
        break;
    }
  }
}
