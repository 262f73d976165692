// Executable sections of an ELF64 little-endian relocatable object (test helper; the real
// loader is src/elf). Enough for BPF objects: section headers and names only.
export interface CodeSection {
  name: string;
  bytes: Uint8Array;
}

const SHF_EXECINSTR = 0x4;

export function codeSections(obj: Uint8Array): CodeSection[] {
  const v = new DataView(obj.buffer, obj.byteOffset, obj.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  const sec = (k: number) => {
    const at = shoff + k * shentsize;
    return {
      name: v.getUint32(at, true),
      type: v.getUint32(at + 4, true),
      flags: Number(v.getBigUint64(at + 8, true)),
      off: Number(v.getBigUint64(at + 0x18, true)),
      size: Number(v.getBigUint64(at + 0x20, true)),
    };
  };
  const strs = sec(shstrndx);
  const out: CodeSection[] = [];
  for (let k = 1; k < shnum; k++) {
    const s = sec(k);
    if (!(s.flags & SHF_EXECINSTR) || s.size === 0) continue;
    let name = '';
    for (let c = strs.off + s.name; obj[c]; c++) name += String.fromCharCode(obj[c]!);
    out.push({ name, bytes: obj.subarray(s.off, s.off + s.size) });
  }
  return out;
}
