// CO-RE: rewrite field offsets, sizes, existence flags, type sizes/ids and enum values that
// clang recorded against the object's own BTF so they match a target BTF (e.g. the running
// kernel's /sys/kernel/btf/vmlinux). libbpf: relo_core.c (bpf_core_parse_spec,
// bpf_core_spec_match, bpf_core_calc_field_relo, bpf_core_patch_insn).
import { BtfError, type Where } from '../errors.ts';
import type { Insn } from '../isa/insn.ts';
import {
  CLASS_ALU,
  CLASS_ALU64,
  CLASS_LDX,
  CLASS_ST,
  CLASS_STX,
  cls,
  MODE_MEM,
  mode,
  OP_CALL,
  OP_LDDW,
  SIZE_B,
  SIZE_DW,
  SIZE_H,
  SIZE_W,
  SRC_K,
  sizeBytes,
  srcBit,
} from '../isa/opcode.ts';
import type { Btf } from './btf.ts';
import type { CoreRelo, CoreReloKind } from './ext-info.ts';
import { BTF_INT_SIGNED, type BtfType, type BtfTypeOrVoid } from './types.ts';

/** libbpf poisons instructions it cannot relocate with a call to this bogus helper ("bad relo"). */
export const POISON_HELPER = 0xbad2310;

interface Accessor {
  typeId: number;
  idx: number;
  /** Member name (named struct/union members and enumerators); undefined for array indices. */
  name?: string;
}

interface Spec {
  rootId: number;
  /** Named accessors only: anonymous members are folded into the next named one, as libbpf does. */
  access: Accessor[];
  /** Raw indices from the access string. */
  raw: number[];
  bitOffset: number;
}

export interface CoreReloResult {
  insnIdx: number;
  kind: CoreReloKind;
  accessStr: string;
  /** Value computed against the object's own BTF (what clang put in the instruction). */
  localValue: number;
  /** New value, or undefined when the instruction was poisoned. */
  targetValue?: number;
  /** Target type the relocation matched, if any. */
  targetTypeId?: number;
  poisoned: boolean;
}

const isFieldKind = (k: CoreReloKind): boolean => k.startsWith('field_');
const isTypeKind = (k: CoreReloKind): boolean => k.startsWith('type_');
const isEnumKind = (k: CoreReloKind): boolean => k.startsWith('enumval_');
const isExistence = (k: CoreReloKind): boolean =>
  k === 'field_exists' || k === 'type_exists' || k === 'enumval_exists' || k === 'type_matches';

/** `task_struct___v2` → `task_struct` (libbpf: bpf_core_essential_name_len). */
export function essentialName(name: string): string {
  const i = name.indexOf('___');
  return i > 0 ? name.slice(0, i) : name;
}

function parseSpec(btf: Btf, rootId: number, accessStr: string, kind: CoreReloKind): Spec {
  const raw = accessStr.split(':').map((s) => {
    if (!/^\d+$/.test(s)) throw new BtfError(`bad CO-RE access string "${accessStr}"`);
    return Number(s);
  });
  const spec: Spec = { rootId, access: [], raw, bitOffset: 0 };
  if (isTypeKind(kind)) {
    if (raw.length !== 1 || raw[0] !== 0)
      throw new BtfError(`type relocation with access string "${accessStr}"`);
    return spec;
  }
  if (isEnumKind(kind)) {
    const t = btf.resolve(rootId);
    if ((t.kind !== 'enum' && t.kind !== 'enum64') || raw.length !== 1 || raw[0]! >= t.values.length) {
      throw new BtfError(`enum relocation "${accessStr}" does not name an enumerator of type [${rootId}]`);
    }
    spec.access.push({ typeId: rootId, idx: raw[0]!, name: t.values[raw[0]!]!.name });
    return spec;
  }
  // Field: the first index is pointer arithmetic on the root, the rest walk members and arrays.
  let id = rootId;
  spec.bitOffset = raw[0]! * btf.sizeof(id) * 8;
  spec.access.push({ typeId: id, idx: raw[0]! });
  for (const idx of raw.slice(1)) {
    const t = btf.resolve(id);
    if (t.kind === 'struct' || t.kind === 'union') {
      const m = t.members[idx];
      if (!m) throw new BtfError(`CO-RE access "${accessStr}": member ${idx} of [${t.id}] does not exist`);
      spec.bitOffset += m.bitOffset;
      if (m.name) spec.access.push({ typeId: t.id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === 'array') {
      const flex = t.nelems === 0;
      if (!flex && idx >= t.nelems)
        throw new BtfError(`CO-RE access "${accessStr}": index ${idx} past the array`);
      spec.access.push({ typeId: t.id, idx });
      spec.bitOffset += idx * btf.sizeof(t.type) * 8;
      id = t.type;
    } else {
      throw new BtfError(`CO-RE access "${accessStr}" walks into a ${t.kind}`);
    }
  }
  return spec;
}

/** Finds member `name` in composite `id`, looking through anonymous members (libbpf: bpf_core_match_member). */
function findMember(
  btf: Btf,
  id: number,
  name: string,
  depth = 0,
  /** Types already searched in vain (keeps hostile DAGs of anonymous members linear). */
  missed = new Set<number>(),
): { type: number; bitOffset: number; bitfieldSize: number } | undefined {
  const t = btf.resolve(id);
  if ((t.kind !== 'struct' && t.kind !== 'union') || depth > 32 || missed.has(t.id)) return undefined;
  for (const m of t.members) {
    if (m.name && essentialName(m.name) === essentialName(name)) {
      return { type: m.type, bitOffset: m.bitOffset, bitfieldSize: m.bitfieldSize };
    }
    if (!m.name) {
      const inner = findMember(btf, m.type, name, depth + 1, missed);
      if (inner) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
    }
  }
  missed.add(t.id);
  return undefined;
}

/** The field a spec ends on: its type, bit offset and bitfield size. */
interface FieldLoc {
  type: number;
  bitOffset: number;
  bitfieldSize: number;
}

/** Follows the local spec's named accessors through the target, starting at candidate `cand`. */
function matchField(spec: Spec, target: Btf, cand: number): FieldLoc | undefined {
  let id = cand;
  let bitOffset = spec.access[0]!.idx * target.sizeof(cand) * 8;
  let bitfieldSize = 0;
  for (const acc of spec.access.slice(1)) {
    if (acc.name !== undefined) {
      const m = findMember(target, id, acc.name);
      if (!m) return undefined;
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      id = m.type;
    } else {
      const t = target.resolve(id);
      if (t.kind !== 'array') return undefined;
      if (t.nelems !== 0 && acc.idx >= t.nelems) return undefined;
      bitOffset += acc.idx * target.sizeof(t.type) * 8;
      bitfieldSize = 0;
      id = t.type;
    }
  }
  return { type: id, bitOffset, bitfieldSize };
}

/** The field a spec ends on, in its own BTF. */
function localField(btf: Btf, spec: Spec): FieldLoc {
  let id = spec.rootId;
  let bitfieldSize = 0;
  for (const idx of spec.raw.slice(1)) {
    const t = btf.resolve(id);
    if (t.kind === 'array') {
      id = t.type;
      bitfieldSize = 0;
    } else if (t.kind === 'struct' || t.kind === 'union') {
      const m = t.members[idx]!;
      bitfieldSize = m.bitfieldSize;
      id = m.type;
    }
  }
  return { type: id, bitOffset: spec.bitOffset, bitfieldSize };
}

/** libbpf: bpf_core_calc_field_relo(). */
function fieldValue(btf: Btf, f: FieldLoc, kind: CoreReloKind): number {
  const mt = btf.resolve(f.type);
  const bitfield = f.bitfieldSize !== 0;
  let byteSz: number;
  let byteOff: number;
  let bitSz: number;
  if (!bitfield) {
    byteSz = btf.sizeof(f.type);
    byteOff = Math.floor(f.bitOffset / 8);
    bitSz = byteSz * 8;
  } else {
    byteSz = btf.sizeof(f.type);
    bitSz = f.bitfieldSize;
    byteOff = Math.floor(f.bitOffset / 8 / byteSz) * byteSz;
    while (f.bitOffset + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new BtfError('bitfield cannot be read with one 64-bit load');
      byteSz *= 2;
      byteOff = Math.floor(f.bitOffset / 8 / byteSz) * byteSz;
    }
  }
  switch (kind) {
    case 'field_byte_offset':
      return byteOff;
    case 'field_byte_size':
      return byteSz;
    case 'field_exists':
      return 1;
    case 'field_signed':
      return isSigned(mt) ? 1 : 0;
    case 'field_lshift_u64':
      return 64 - (f.bitOffset + bitSz - byteOff * 8);
    case 'field_rshift_u64':
      return 64 - bitSz;
    default:
      throw new BtfError(`${kind} is not a field relocation`);
  }
}

function isSigned(t: BtfTypeOrVoid): boolean {
  if (t.kind === 'int') return (t.encoding & BTF_INT_SIGNED) !== 0;
  if (t.kind === 'enum' || t.kind === 'enum64') return t.signed;
  return false;
}

/** Target types with the same essential name and a compatible kind (libbpf: bpf_core_find_cands). */
function candidates(local: Btf, target: Btf, rootId: number): BtfType[] {
  const lt = local.skipModifiers(rootId);
  if (lt.kind === 'void' || !lt.name) return [];
  const name = essentialName(lt.name);
  const family = (k: string) => (k === 'enum64' ? 'enum' : k);
  const out: BtfType[] = [];
  for (const t of target.types) {
    if (family(t.kind) !== family(lt.kind) || !t.name || essentialName(t.name) !== name) continue;
    out.push(t);
  }
  return out;
}

function computeValue(btf: Btf, spec: Spec, kind: CoreReloKind, typeId: number): number {
  if (isFieldKind(kind)) return fieldValue(btf, localField(btf, spec), kind);
  if (isEnumKind(kind)) {
    if (kind === 'enumval_exists') return 1;
    const t = btf.resolve(spec.rootId);
    if (t.kind !== 'enum' && t.kind !== 'enum64') throw new BtfError('not an enum');
    return Number(t.values[spec.access[0]!.idx]!.value);
  }
  switch (kind) {
    case 'type_exists':
    case 'type_matches':
      return 1;
    case 'type_size':
      return btf.sizeof(typeId);
    default:
      return typeId; // type_id_local / type_id_target
  }
}

/** Computes one relocation's local and target values. */
export function resolveCoreRelo(local: Btf, target: Btf, relo: CoreRelo): CoreReloResult {
  const spec = parseSpec(local, relo.typeId, relo.accessStr, relo.kind);
  const localValue = computeValue(local, spec, relo.kind, relo.typeId);
  const base = { insnIdx: relo.insnIdx, kind: relo.kind, accessStr: relo.accessStr, localValue };
  if (relo.kind === 'type_id_local') return { ...base, targetValue: relo.typeId, poisoned: false };
  let found: CoreReloResult | undefined;
  for (const cand of candidates(local, target, relo.typeId)) {
    const targetValue = candidateValue(target, spec, relo.kind, cand);
    if (targetValue === undefined) continue;
    // libbpf: every matching candidate must agree, except type ids (each candidate has its own).
    if (found && found.targetValue !== targetValue && relo.kind !== 'type_id_target') {
      throw new BtfError(
        `ambiguous: candidates [${found.targetTypeId}] and [${cand.id}] give ${found.targetValue} and ${targetValue}`,
      );
    }
    found ??= { ...base, targetValue, targetTypeId: cand.id, poisoned: false };
  }
  if (found) return found;
  if (isExistence(relo.kind)) return { ...base, targetValue: 0, poisoned: false };
  return { ...base, poisoned: true };
}

/** The relocated value if `cand` matches the local spec, else undefined. */
function candidateValue(target: Btf, spec: Spec, kind: CoreReloKind, cand: BtfType): number | undefined {
  if (isFieldKind(kind)) {
    const f = matchField(spec, target, cand.id);
    return f ? fieldValue(target, f, kind) : undefined;
  }
  if (isEnumKind(kind)) {
    if (cand.kind !== 'enum' && cand.kind !== 'enum64') return undefined;
    const name = essentialName(spec.access[0]!.name!);
    const v = cand.values.find((x) => essentialName(x.name) === name);
    if (!v) return undefined;
    return kind === 'enumval_exists' ? 1 : Number(v.value);
  }
  return computeValue(target, { ...spec, rootId: cand.id }, kind, cand.id);
}

const SIZE_CODES: Record<number, number> = { 1: SIZE_B, 2: SIZE_H, 4: SIZE_W, 8: SIZE_DW };

/** libbpf: bpf_core_patch_insn(). Mutates `insns`; `insnIdx` is an index into it. */
function patchInsn(insns: Insn[], r: CoreReloResult, origSize: number, newSize: number, where: Where): void {
  const at = r.insnIdx;
  const insn = insns[at];
  const fail = (msg: string) =>
    new BtfError(`CO-RE ${r.kind} "${r.accessStr}": ${msg}`, { where: { ...where, insnIdx: at } });
  if (!insn) throw fail('instruction index is outside the program');
  if (r.poisoned || r.targetValue === undefined) {
    const wide = insn.code === OP_LDDW;
    insns[at] = { code: OP_CALL, dst: 0, src: 0, off: 0, imm: POISON_HELPER };
    if (wide && insns[at + 1]) insns[at + 1] = { code: OP_CALL, dst: 0, src: 0, off: 0, imm: POISON_HELPER };
    return;
  }
  const v = r.targetValue;
  const c = cls(insn.code);
  if ((c === CLASS_ALU || c === CLASS_ALU64) && srcBit(insn.code) === SRC_K) {
    if (insn.imm !== r.localValue) throw fail(`instruction has imm ${insn.imm}, expected ${r.localValue}`);
    if (v > 0x7fffffff || v < -0x80000000) throw fail(`value ${v} does not fit in imm`);
    insn.imm = v;
    return;
  }
  if ((c === CLASS_LDX || c === CLASS_ST || c === CLASS_STX) && mode(insn.code) === MODE_MEM) {
    if (r.kind !== 'field_byte_offset') throw fail('only field offsets can patch a memory access');
    if (insn.off !== r.localValue) throw fail(`instruction has off ${insn.off}, expected ${r.localValue}`);
    if (v > 0x7fff) throw fail(`offset ${v} does not fit in a 16-bit displacement`);
    insn.off = v;
    // The field changed width: adjust the load/store size (libbpf does this for ints only).
    if (newSize !== origSize && sizeBytes(insn.code) === origSize && SIZE_CODES[newSize] !== undefined) {
      insn.code = (insn.code & ~0x18) | SIZE_CODES[newSize]!;
    }
    return;
  }
  if (insn.code === OP_LDDW) {
    const next = insns[at + 1];
    if (!next) throw fail('lddw without its second slot');
    insn.imm = v | 0;
    insn.imm64Hi = Math.floor(v / 2 ** 32) | 0;
    next.imm = insn.imm64Hi;
    return;
  }
  throw fail(`cannot patch opcode 0x${insn.code.toString(16)}`);
}

/**
 * Applies CO-RE relocations to a (linked) program in place. `relos[i].insnIdx` index `insns`.
 * Returns what each relocation became; unmatched non-existence relocations poison their
 * instruction as libbpf does, so the verifier rejects the program only if it is reachable.
 */
export function applyCoreRelos(
  insns: Insn[],
  relos: readonly CoreRelo[],
  local: Btf,
  target: Btf,
  where: Where = {},
): CoreReloResult[] {
  return relos.map((relo) => {
    let r: CoreReloResult;
    try {
      r = resolveCoreRelo(local, target, relo);
    } catch (e) {
      if (e instanceof BtfError) {
        throw new BtfError(`CO-RE ${relo.kind} "${relo.accessStr}": ${e.message}`, {
          where: { ...where, insnIdx: relo.insnIdx },
          cause: e,
        });
      }
      throw e;
    }
    let origSize = 0;
    let newSize = 0;
    if (r.kind === 'field_byte_offset' && !r.poisoned) {
      // Sizes of the field itself, to widen/narrow the access that reads it.
      const spec = parseSpec(local, relo.typeId, relo.accessStr, relo.kind);
      origSize = fieldValue(local, localField(local, spec), 'field_byte_size');
      newSize = origSize;
      if (r.targetTypeId !== undefined) {
        const f = matchField(spec, target, r.targetTypeId);
        if (f) newSize = fieldValue(target, f, 'field_byte_size');
      }
    }
    patchInsn(insns, r, origSize, newSize, where);
    return r;
  });
}
