// The BTF type graph as a discriminated union on `kind`. Types are numbered from 1 in the
// order they appear in `.BTF`; id 0 is `void`. References stay as numeric ids (JSON-able),
// resolved through the `Btf` object. Layout: include/uapi/linux/btf.h.

export const BTF_MAGIC = 0xeb9f;

// kernel: BTF_KIND_* values, in wire order.
export const BTF_KIND_NAMES = [
  'unknown',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
] as const;

export type BtfKindName = Exclude<(typeof BTF_KIND_NAMES)[number], 'unknown'>;

// BTF_INT_* encoding bits.
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

export type BtfLinkage = 'static' | 'global' | 'extern';

interface Base {
  id: number;
  /** Empty for anonymous types. */
  name: string;
}

export interface BtfInt extends Base {
  kind: 'int';
  size: number;
  /** BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL */
  encoding: number;
  bitOffset: number;
  bits: number;
}
export interface BtfPtr extends Base {
  kind: 'ptr';
  type: number;
}
export interface BtfArray extends Base {
  kind: 'array';
  type: number;
  indexType: number;
  nelems: number;
}
export interface BtfMember {
  name: string;
  type: number;
  /** Offset from the start of the struct, in bits. */
  bitOffset: number;
  /** Width of a bitfield in bits, 0 for ordinary members. */
  bitfieldSize: number;
}
export interface BtfComposite extends Base {
  kind: 'struct' | 'union';
  size: number;
  members: BtfMember[];
}
export interface BtfEnumValue {
  name: string;
  /** Always exact: enum64 values past 2^53 would lose precision as numbers. */
  value: bigint;
}
export interface BtfEnum extends Base {
  kind: 'enum' | 'enum64';
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}
export interface BtfFwd extends Base {
  kind: 'fwd';
  /** Forward declaration of a union (kind_flag) rather than a struct. */
  union: boolean;
}
export interface BtfModifier extends Base {
  kind: 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag';
  type: number;
}
export interface BtfFunc extends Base {
  kind: 'func';
  /** The FUNC_PROTO id. */
  type: number;
  linkage: BtfLinkage;
}
export interface BtfParam {
  name: string;
  type: number;
}
export interface BtfFuncProto extends Base {
  kind: 'func_proto';
  /** Return type id (0 = void). */
  type: number;
  /** A trailing `{name:'', type:0}` means varargs. */
  params: BtfParam[];
}
export interface BtfVar extends Base {
  kind: 'var';
  type: number;
  linkage: BtfLinkage;
}
export interface BtfVarSecinfo {
  /** A VAR or FUNC id. */
  type: number;
  offset: number;
  size: number;
}
export interface BtfDatasec extends Base {
  kind: 'datasec';
  size: number;
  vars: BtfVarSecinfo[];
}
export interface BtfFloat extends Base {
  kind: 'float';
  size: number;
}
export interface BtfDeclTag extends Base {
  kind: 'decl_tag';
  type: number;
  /** -1 tags the type/func/var itself, else the member or parameter index. */
  componentIdx: number;
}

export type BtfType =
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfModifier
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

export interface BtfVoid {
  id: 0;
  kind: 'void';
  name: '';
}

/** What `typeById` returns: a real type, or void for id 0. */
export type BtfTypeOrVoid = BtfType | BtfVoid;

export const VOID: BtfVoid = { id: 0, kind: 'void', name: '' };

/** const, volatile, restrict and type tags (typedef is a BtfModifier too, but not a qualifier). */
export const isModifier = (t: BtfTypeOrVoid): boolean =>
  t.kind === 'volatile' || t.kind === 'const' || t.kind === 'restrict' || t.kind === 'type_tag';
