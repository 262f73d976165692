// The BTF a linked program is loaded with, as libbpf passes it to BPF_BTF_LOAD and
// BPF_PROG_LOAD: the object's .BTF with the fixups libbpf makes before loading (DATASEC sizes
// and variable offsets from the ELF symbols, extern linkage the kernel does not take), and
// func_info/line_info in the kernel's record layout, renumbered for the linked image.
// libbpf: btf_fixup_datasec(), bpf_object__sanitize_btf(), bpf_program_record_relos().
import type { Btf } from '../btf/btf.ts';
import { ElfError } from '../errors.ts';
import type { LinkedProgram } from './link.ts';
import { readElf } from './reader.ts';

export interface ProgramBtf {
  /** Raw BTF (header, types, strings) for BPF_BTF_LOAD. */
  btf: Uint8Array;
  /** struct bpf_func_info records (insn_off, type_id): 8 bytes each. */
  funcInfo: Uint8Array;
  /** struct bpf_line_info records (insn_off, file_name_off, line_off, line_col): 16 bytes each. */
  lineInfo: Uint8Array;
}

// kernel: BTF_KIND_* numbers whose records carry extra bytes after the 12-byte btf_type.
const KIND_INT = 1;
const KIND_ARRAY = 3;
const KIND_STRUCT = 4;
const KIND_UNION = 5;
const KIND_ENUM = 6;
const KIND_FUNC = 12;
const KIND_FUNC_PROTO = 13;
const KIND_VAR = 14;
const KIND_DATASEC = 15;
const KIND_DECL_TAG = 17;
const KIND_ENUM64 = 19;
const LINKAGE_EXTERN = 2;
const LINKAGE_GLOBAL = 1;

function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case KIND_INT:
    case KIND_VAR:
    case KIND_DECL_TAG:
      return 4;
    case KIND_ARRAY:
      return 12;
    case KIND_STRUCT:
    case KIND_UNION:
    case KIND_DATASEC:
    case KIND_ENUM64:
      return 12 * vlen;
    case KIND_ENUM:
    case KIND_FUNC_PROTO:
      return 8 * vlen;
    default:
      return 0;
  }
}

/** Offsets of every string that starts in the string section (first occurrence wins). */
function stringOffsets(bytes: Uint8Array, start: number, len: number): Map<string, number> {
  const out = new Map<string, number>();
  let from = 0;
  for (let i = 0; i < len; i++) {
    if (bytes[start + i] !== 0) continue;
    let s = '';
    for (let j = from; j < i; j++) s += String.fromCharCode(bytes[start + j]!);
    if (!out.has(s)) out.set(s, from);
    from = i + 1;
  }
  return out;
}

/**
 * The load-time BTF of `linked` (a program of the object in `elfBytes`, whose parsed and
 * fixed-up BTF is `btf`), with its func_info and line_info.
 */
export function exportProgramBtf(
  elfBytes: Uint8Array,
  file: string,
  btf: Btf,
  linked: LinkedProgram,
): ProgramBtf {
  const out = exportObjectBtf(elfBytes, file, btf);
  return { btf: out, funcInfo: funcInfoRecords(linked), lineInfo: lineInfoRecords(linked, file, out) };
}

/** The object's .BTF as libbpf loads it: DATASEC sizes and offsets filled, no extern linkage. */
export function exportObjectBtf(elfBytes: Uint8Array, file: string, btf: Btf): Uint8Array {
  const elf = readElf(elfBytes, file);
  const sec = elf.section('.BTF');
  if (!sec) throw new ElfError('the object has no .BTF section to export', { where: { file } });
  const out = elf.data(sec).slice();
  const view = new DataView(out.buffer);
  const hdrLen = view.getUint32(4, true);
  const typeStart = hdrLen + view.getUint32(8, true);
  const typeEnd = typeStart + view.getUint32(12, true);
  // parseBtf already checked every record, so the walk below stays inside the section.
  let at = typeStart;
  for (let id = 1; at < typeEnd; id++) {
    const info = view.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === KIND_FUNC && vlen === LINKAGE_EXTERN) {
      // Extern functions (kfunc declarations): the kernel takes only static and global.
      view.setUint32(at + 4, (info & ~0xffff) | LINKAGE_GLOBAL, true);
    } else if (kind === KIND_VAR && view.getUint32(at + 12, true) === LINKAGE_EXTERN) {
      view.setUint32(at + 12, LINKAGE_GLOBAL, true);
    } else if (kind === KIND_DATASEC) {
      const t = btf.typeById(id);
      if (t.kind === 'datasec' && t.vars.length === vlen) {
        view.setUint32(at + 8, t.size, true);
        t.vars.forEach((v, i) => {
          const p = at + 12 + 12 * i;
          view.setUint32(p, v.type, true);
          view.setUint32(p + 4, v.offset, true);
          view.setUint32(p + 8, v.size, true);
        });
      }
    }
    at += 12 + extraBytes(kind, vlen);
  }
  return out;
}

function funcInfoRecords(linked: LinkedProgram): Uint8Array {
  const funcInfo = new Uint8Array(8 * linked.funcInfo.length);
  const fv = new DataView(funcInfo.buffer);
  linked.funcInfo.forEach((f, i) => {
    fv.setUint32(8 * i, f.insnIdx, true);
    fv.setUint32(8 * i + 4, f.typeId, true);
  });
  return funcInfo;
}

/** line_info records; the kernel wants string offsets, which `btf` (the exported BTF) holds. */
function lineInfoRecords(linked: LinkedProgram, file: string, btf: Uint8Array): Uint8Array {
  const view = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  const hdrLen = view.getUint32(4, true);
  const strings = stringOffsets(btf, hdrLen + view.getUint32(16, true), view.getUint32(20, true));
  const offsetOf = (s: string): number => {
    const o = strings.get(s);
    if (o === undefined)
      throw new ElfError(`line info string "${s.slice(0, 40)}" is not in .BTF`, { where: { file } });
    return o;
  };
  const lineInfo = new Uint8Array(16 * linked.lineInfo.length);
  const lv = new DataView(lineInfo.buffer);
  linked.lineInfo.forEach((l, i) => {
    lv.setUint32(16 * i, l.insnIdx, true);
    lv.setUint32(16 * i + 4, offsetOf(l.fileName), true);
    lv.setUint32(16 * i + 8, offsetOf(l.lineText), true);
    lv.setUint32(16 * i + 12, ((l.line << 10) | (l.col & 0x3ff)) >>> 0, true);
  });
  return lineInfo;
}
