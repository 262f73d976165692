// `.BTF.ext`: per-section func_info, line_info and CO-RE relocation records.
// In an object file `insnOff` is a byte offset inside the ELF section named by each block;
// we convert it to an instruction index there. Layout: libbpf btf.h (struct btf_ext_header).
import { BtfError, type Where } from '../errors.ts';
import type { Btf } from './btf.ts';
import { BTF_MAGIC } from './types.ts';
import { ByteCursor } from './unmarshal.ts';

export interface FuncInfo {
  /** Instruction index (8-byte slots) inside the section. */
  insnIdx: number;
  /** BTF id of the FUNC. */
  typeId: number;
}

export interface LineInfo {
  insnIdx: number;
  fileName: string;
  /** The C source line's text, as clang recorded it. */
  lineText: string;
  line: number;
  col: number;
}

// kernel: enum bpf_core_relo_kind.
export const CORE_RELO_KINDS = [
  'field_byte_offset',
  'field_byte_size',
  'field_exists',
  'field_signed',
  'field_lshift_u64',
  'field_rshift_u64',
  'type_id_local',
  'type_id_target',
  'type_exists',
  'type_size',
  'enumval_exists',
  'enumval_value',
  'type_matches',
] as const;
export type CoreReloKind = (typeof CORE_RELO_KINDS)[number];

export interface CoreRelo {
  insnIdx: number;
  /** Local BTF id of the root type. */
  typeId: number;
  /** Access string, e.g. "0:2:0" (indices into the type graph). */
  accessStr: string;
  kind: CoreReloKind;
}

export interface ExtSection<T> {
  /** ELF section the records belong to. */
  section: string;
  records: T[];
}

export interface BtfExt {
  funcInfo: ExtSection<FuncInfo>[];
  lineInfo: ExtSection<LineInfo>[];
  coreRelos: ExtSection<CoreRelo>[];
}

const HEADER_MIN = 24;

export interface BtfExtParseOptions {
  file?: string;
  baseOff?: number;
}

/** Parses `.BTF.ext`; strings are looked up in the object's `.BTF`. */
export function parseBtfExt(bytes: Uint8Array, btf: Btf, opts: BtfExtParseOptions = {}): BtfExt {
  const where: Where = { file: opts.file, section: '.BTF.ext' };
  const cur = new ByteCursor(bytes, where, opts.baseOff ?? 0);
  if (bytes.length < HEADER_MIN)
    throw cur.fail(`section is ${bytes.length} bytes, too short for a header`, 0);
  const magic = cur.u16(0);
  if (magic !== BTF_MAGIC) throw cur.fail(`bad BTF.ext magic 0x${magic.toString(16)}`, 0);
  if (cur.u8(2) !== 1) throw cur.fail(`unsupported BTF.ext version ${cur.u8(2)}`, 2);
  const hdrLen = cur.u32(4);
  if (hdrLen < HEADER_MIN || hdrLen > bytes.length) throw cur.fail(`bad BTF.ext header length ${hdrLen}`, 4);
  const str = (off: number, what: string, at: number): string => {
    try {
      return btf.strings.get(off, what);
    } catch {
      throw cur.fail(`${what}: bad string offset ${off}`, at);
    }
  };
  const block = <T>(
    offField: number,
    recMin: number,
    rec: (at: number, insnIdx: number) => T,
  ): ExtSection<T>[] => {
    if (hdrLen < offField + 8) return [];
    const off = cur.u32(offField);
    const len = cur.u32(offField + 4);
    if (len === 0) return [];
    const start = hdrLen + off;
    if (off > bytes.length || len > bytes.length - start)
      throw cur.fail('info block is outside the section', offField);
    const end = start + len;
    const recSize = cur.u32(start);
    if (recSize < recMin || recSize % 4 !== 0 || recSize > 1024) {
      throw cur.fail(`bad record size ${recSize}`, start);
    }
    const out: ExtSection<T>[] = [];
    let at = start + 4;
    while (at < end) {
      if (end - at < 8) throw cur.fail('truncated info header', at);
      const section = str(cur.u32(at), 'section name', at);
      const n = cur.u32(at + 4);
      at += 8;
      if (n === 0) throw cur.fail(`section ${section}: zero records`, at - 4);
      if (n > (end - at) / recSize) throw cur.fail(`section ${section}: ${n} records do not fit`, at - 4);
      const records: T[] = [];
      for (let i = 0; i < n; i++, at += recSize) {
        const insnOff = cur.u32(at);
        if (insnOff % 8 !== 0)
          throw cur.fail(`section ${section}: insn_off ${insnOff} is not a multiple of 8`, at);
        records.push(rec(at, insnOff / 8));
      }
      out.push({ section, records });
    }
    return out;
  };
  const funcInfo = block(8, 8, (at, insnIdx) => ({ insnIdx, typeId: cur.u32(at + 4) }));
  const lineInfo = block(16, 16, (at, insnIdx) => {
    const lineCol = cur.u32(at + 12);
    return {
      insnIdx,
      fileName: str(cur.u32(at + 4), 'line info file name', at + 4),
      lineText: str(cur.u32(at + 8), 'line info text', at + 8),
      line: lineCol >>> 10,
      col: lineCol & 0x3ff,
    };
  });
  const coreRelos = block(24, 16, (at, insnIdx) => {
    const kindNum = cur.u32(at + 12);
    const kind = CORE_RELO_KINDS[kindNum];
    if (!kind) throw cur.fail(`unknown CO-RE relocation kind ${kindNum}`, at + 12);
    const typeId = cur.u32(at + 4);
    if (typeId > btf.count) throw cur.fail(`CO-RE relocation type id ${typeId} does not exist`, at + 4);
    return { insnIdx, typeId, accessStr: str(cur.u32(at + 8), 'CO-RE access string', at + 8), kind };
  });
  for (const s of funcInfo) {
    for (const r of s.records) {
      if (r.typeId === 0 || r.typeId > btf.count || btf.types[r.typeId - 1]!.kind !== 'func') {
        throw new BtfError(`func_info for ${s.section} insn ${r.insnIdx}: type ${r.typeId} is not a FUNC`, {
          where: { ...where, section: s.section, insnIdx: r.insnIdx },
        });
      }
    }
  }
  return { funcInfo, lineInfo, coreRelos };
}

/**
 * The source line an instruction belongs to: the last record at or before `insnIdx`
 * (records are sorted by instruction, as clang emits them and linkProgram keeps them).
 */
export function lineInfoAt(lineInfo: readonly LineInfo[], insnIdx: number): LineInfo | undefined {
  let lo = 0;
  let hi = lineInfo.length - 1;
  let found: LineInfo | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const li = lineInfo[mid]!;
    if (li.insnIdx <= insnIdx) {
      found = li;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
