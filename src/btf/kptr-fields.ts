// kptr fields of a map value's BTF: `struct S __kptr *p` (referenced) and
// `struct S __kptr_untrusted *p` — a pointer to a type tag naming the kind, then the struct.
// The verifier checks accesses to them; maps hide and clear them as the kernel does.
// kernel: btf_find_kptr()
import type { Btf } from './btf.ts';

/** A kptr field (kernel: struct btf_field of type BPF_KPTR_REF / BPF_KPTR_UNREF). */
export interface KptrField {
  /** Byte offset in the value. */
  off: number;
  /** `__kptr` (referenced, moved with bpf_kptr_xchg) or `__kptr_untrusted` (plain stores). */
  kind: 'ref' | 'untrusted';
  /** The struct it points to, by name (the kernel looks it up in vmlinux by name). */
  struct: string;
}

/** The value's top-level kptr members, in order. */
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
