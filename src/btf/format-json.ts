// JSON form of a BTF graph with the field names `bpftool btf dump -j` uses, so the two can be
// compared directly. Enum values past 2^53 become decimal strings (JSON numbers cannot hold them).
import type { Btf } from './btf.ts';
import { BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, type BtfType } from './types.ts';

export type BtfJsonValue = string | number | BtfJsonValue[] | { [k: string]: BtfJsonValue };
export type BtfJsonType = { [k: string]: BtfJsonValue };

function intEncoding(enc: number): string {
  if (enc & BTF_INT_SIGNED) return 'SIGNED';
  if (enc & BTF_INT_CHAR) return 'CHAR';
  if (enc & BTF_INT_BOOL) return 'BOOL';
  return '(none)';
}

function enumValue(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

export function btfTypeToJson(t: BtfType): BtfJsonType {
  const head: BtfJsonType = { id: t.id, kind: t.kind.toUpperCase(), name: t.name || '(anon)' };
  switch (t.kind) {
    case 'int':
      return {
        ...head,
        size: t.size,
        bits_offset: t.bitOffset,
        nr_bits: t.bits,
        encoding: intEncoding(t.encoding),
      };
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
    case 'type_tag':
      return { ...head, type_id: t.type };
    case 'array':
      return { ...head, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case 'struct':
    case 'union':
      return {
        ...head,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => {
          const o: BtfJsonType = { name: m.name || '(anon)', type_id: m.type, bits_offset: m.bitOffset };
          if (m.bitfieldSize) o.bitfield_size = m.bitfieldSize;
          return o;
        }),
      };
    case 'enum':
    case 'enum64':
      return {
        ...head,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: enumValue(v.value) })),
      };
    case 'fwd':
      return { ...head, fwd_kind: t.union ? 'union' : 'struct' };
    case 'func':
      return { ...head, type_id: t.type, linkage: t.linkage };
    case 'func_proto':
      return {
        ...head,
        ret_type_id: t.type,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: p.name || '(anon)', type_id: p.type })),
      };
    case 'var':
      return { ...head, type_id: t.type, linkage: t.linkage };
    case 'datasec':
      return {
        ...head,
        size: t.size,
        vlen: t.vars.length,
        vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })),
      };
    case 'float':
      return { ...head, size: t.size };
    case 'decl_tag':
      return { ...head, type_id: t.type, component_idx: t.componentIdx };
  }
}

/** `{ types: [...] }` as `bpftool btf dump file X -j` prints it. */
export function btfToJson(btf: Btf): { types: BtfJsonType[] } {
  return { types: btf.types.map(btfTypeToJson) };
}
