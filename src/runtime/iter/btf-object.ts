// Host objects a program reads through BTF pointers (struct bpf_map, task_struct, sock_common):
// the bytes of `struct NAME` as a BTF describes it, with the named fields filled in. Programs
// reach fields at the offsets their CO-RE relocations resolved against that same BTF (the
// object's own, or the collection's coreTarget), so fields the BTF lacks cannot be read and
// are skipped.
import type { Btf } from '../../btf/btf.ts';
import { UsageError } from '../../errors.ts';

export type FieldValue = number | bigint | string;

export function layoutBtfObject(
  btf: Btf,
  structName: string,
  fields: Readonly<Record<string, FieldValue>>,
): Uint8Array {
  const st = btf.findByName(structName).find((t) => t.kind === 'struct');
  if (st?.kind !== 'struct') throw new UsageError(`BTF has no struct ${structName}`);
  const out = new Uint8Array(st.size);
  const dv = new DataView(out.buffer);
  for (const [name, value] of Object.entries(fields)) {
    // a member by name, also inside anonymous unions and structs (sock_common's skc_daddr),
    // or a dotted path into embedded structs ("inet.sk.__sk_common.skc_num")
    let loc: ReturnType<Btf['memberOffset']>;
    try {
      loc = btf.memberOffset(st.id, name);
    } catch {
      continue;
    }
    if (loc.bitfieldSize || loc.bitOffset % 8) continue;
    const off = loc.bitOffset / 8;
    const t = btf.resolve(loc.type);
    const size = btf.sizeof(loc.type);
    if (off + size > out.length) continue;
    if (typeof value === 'string') {
      if (t.kind !== 'array') continue;
      // a char array: the string cut to leave its NUL
      for (let i = 0; i < value.length && i < size - 1; i++) out[off + i] = value.charCodeAt(i) & 0xff;
      continue;
    }
    const v = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < size && i < 8; i++) dv.setUint8(off + i, Number((v >> BigInt(8 * i)) & 0xffn));
  }
  return out;
}
