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

export { type KptrField, kptrFields } from '../btf/kptr-fields.ts';
