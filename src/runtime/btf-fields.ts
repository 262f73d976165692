// Special fields of a map value found through BTF (kernel: btf_parse_fields(), map->record):
// where a struct bpf_spin_lock or struct bpf_timer sits in the value.
import type { Btf } from '../btf/btf.ts';

/** Byte offset of a top-level member whose type is `struct <structName>`, if there is one. */
export function specialFieldOffset(
  btf: Btf | undefined,
  valueTypeId: number,
  structName: 'bpf_spin_lock' | 'bpf_timer',
): number | undefined {
  if (!btf || valueTypeId === 0) return undefined;
  const t = btf.skipModifiers(valueTypeId);
  if (t.kind !== 'struct') return undefined;
  for (const m of t.members) {
    const mt = btf.skipModifiers(m.type);
    if (mt.kind === 'struct' && mt.name === structName) return m.bitOffset / 8;
  }
  return undefined;
}

/** A kptr field of a map value (kernel: struct btf_field of type BPF_KPTR_REF / BPF_KPTR_UNREF). */
export interface KptrField {
  /** Byte offset in the value. */
  off: number;
  /** `__kptr` (referenced, moved with bpf_kptr_xchg) or `__kptr_untrusted` (plain stores). */
  kind: 'ref' | 'untrusted';
  /** The struct it points to, by name (kernel: kptr.btf_id, looked up in vmlinux by name). */
  struct: string;
}

/**
 * Top-level members `struct S __kptr *p` / `struct S __kptr_untrusted *p` of a map value: a
 * pointer to a type tag naming the kind, then the struct. kernel: btf_find_kptr()
 */
export function kptrFields(btf: Btf | undefined, valueTypeId: number): KptrField[] {
  if (!btf || valueTypeId === 0) return [];
  const t = btf.skipModifiers(valueTypeId);
  if (t.kind !== 'struct') return [];
  const out: KptrField[] = [];
  for (const m of t.members) {
    if (m.bitfieldSize) continue;
    const pt = btf.skipModifiers(m.type);
    if (pt.kind !== 'ptr') continue;
    const tag = btf.typeById(pt.type);
    if (tag.kind !== 'type_tag') continue;
    const kind = tag.name === 'kptr' ? 'ref' : tag.name === 'kptr_untrusted' ? 'untrusted' : undefined;
    if (!kind) continue;
    const target = btf.skipModifiers(tag.type);
    if (target.kind !== 'struct') continue;
    out.push({ off: m.bitOffset / 8, kind, struct: target.name });
  }
  return out;
}
