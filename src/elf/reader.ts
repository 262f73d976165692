// A bounds-checked reader for the ELF64 little-endian relocatable objects that
// `clang -target bpf` writes. Every offset, size, count and index read from the file is
// checked before use, so hostile input ends in an ElfError that says where, never in a
// RangeError, a hang or a quadratic scan.
import { ElfError } from '../errors.ts';

export const EM_BPF = 247;

// Section types (sh_type) the loader cares about.
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

// Section flags (sh_flags).
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

// Special section indices (st_shndx).
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

// Symbol binding and type (st_info).
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

// Visibility (st_other & 3).
export const STV_DEFAULT = 0;
export const STV_HIDDEN = 2;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;
/** No real object has a section or symbol name this long; refusing longer ones keeps string reads linear. */
export const MAX_NAME_LEN = 4096;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  /** File offset of the data (meaningless for SHT_NOBITS). */
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfSymbol {
  index: number;
  name: string;
  /** STB_* */
  bind: number;
  /** STT_* */
  type: number;
  /** STV_* */
  visibility: number;
  /** Section index (SHN_UNDEF for externs, or SHN_ABS/SHN_COMMON). */
  shndx: number;
  value: number;
  size: number;
}

export interface ElfReloc {
  /** Byte offset inside the target section. */
  offset: number;
  /** Index into the symbol table. */
  sym: number;
  /** R_BPF_* */
  type: number;
  /** RELA only; REL relocations keep the addend in the instruction (0 here). */
  addend: number;
}

export interface ElfRelocSection {
  /** The relocation section itself (e.g. `.rel.text`). */
  section: ElfSection;
  /** The section the relocations patch (sh_info). */
  target: number;
  relocs: ElfReloc[];
}

export interface ElfHeader {
  type: number;
  machine: number;
  flags: number;
  shoff: number;
  shnum: number;
  shstrndx: number;
}

/** A parsed ELF object. Construction validates everything it reads eagerly. */
export class ElfFile {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly header: ElfHeader;
  readonly sections: ElfSection[];
  /** Symbols of the (single) SHT_SYMTAB, index 0 being the null symbol; empty if there is none. */
  readonly symbols: ElfSymbol[];
  readonly symtabIndex: number;
  readonly relocSections: ElfRelocSection[];
  private readonly view: DataView;

  constructor(bytes: Uint8Array, file = '<memory>') {
    this.file = file;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.header = this.readHeader();
    this.sections = this.readSections();
    this.checkOverlaps();
    this.symtabIndex = this.sections.findIndex((s) => s.type === SHT_SYMTAB);
    this.symbols = this.symtabIndex < 0 ? [] : this.readSymbols(this.sections[this.symtabIndex]!);
    this.relocSections = this.sections
      .filter((s) => s.type === SHT_REL || s.type === SHT_RELA)
      .map((s) => this.readRelocs(s));
  }

  error(message: string, section?: string, byteOff?: number): ElfError {
    return new ElfError(message, { where: { file: this.file, section, byteOff } });
  }

  private byName?: Map<string, ElfSection>;

  /** The first section with this name. */
  section(name: string): ElfSection | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (const s of this.sections) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    }
    return this.byName.get(name);
  }

  /** The bytes of a section (empty for SHT_NOBITS); bounds were checked at construction. */
  data(sec: ElfSection): Uint8Array {
    if (sec.type === SHT_NOBITS || sec.type === SHT_NULL) return new Uint8Array(0);
    return this.bytes.subarray(sec.offset, sec.offset + sec.size);
  }

  /** Reads the NUL-terminated string at `off` of string table section `strtab`. */
  stringAt(strtab: ElfSection, off: number, what: string): string {
    if (strtab.type !== SHT_STRTAB) {
      throw this.error(`${what}: section ${strtab.index} is not a string table`, strtab.name, strtab.offset);
    }
    if (off >= strtab.size) {
      throw this.error(
        `${what}: string offset ${off} is past the end of ${strtab.name || 'the string table'} (${strtab.size} bytes)`,
        strtab.name,
        strtab.offset + off,
      );
    }
    const start = strtab.offset + off;
    const end = Math.min(strtab.offset + strtab.size, start + MAX_NAME_LEN + 1);
    const nul = this.bytes.subarray(start, end).indexOf(0);
    if (nul < 0) {
      throw this.error(`${what}: string at offset ${off} is not NUL-terminated`, strtab.name, start);
    }
    return latin1(this.bytes.subarray(start, start + nul));
  }

  private u64(at: number, what: string, section?: string): number {
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    // Values past 2^53 cannot be offsets or sizes into a file we hold in memory.
    if (hi > 0x1fffff) throw this.error(`${what} 0x${hi.toString(16)}${hex8(lo)} is absurd`, section, at);
    return hi * 0x1_0000_0000 + lo;
  }

  private readHeader(): ElfHeader {
    const b = this.bytes;
    if (b.length < EHDR_SIZE)
      throw this.error(`file is ${b.length} bytes, too short for an ELF header`, undefined, 0);
    if (b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) {
      throw this.error('bad ELF magic (not an ELF file)', undefined, 0);
    }
    if (b[4] !== 2) throw this.error(`ELF class ${b[4]} is not ELFCLASS64`, undefined, 4);
    if (b[5] !== 1) throw this.error(`ELF data encoding ${b[5]} is not little-endian`, undefined, 5);
    const v = this.view;
    const machine = v.getUint16(18, true);
    if (machine !== EM_BPF) throw this.error(`e_machine ${machine} is not EM_BPF (${EM_BPF})`, undefined, 18);
    const shoff = this.u64(40, 'e_shoff');
    const shentsize = v.getUint16(58, true);
    let shnum = v.getUint16(60, true);
    let shstrndx = v.getUint16(62, true);
    if (shoff === 0) throw this.error('object has no section header table', undefined, 40);
    if (shentsize !== SHDR_SIZE)
      throw this.error(`e_shentsize ${shentsize} is not ${SHDR_SIZE}`, undefined, 58);
    if (shoff + SHDR_SIZE > b.length) throw this.error(`e_shoff ${shoff} is outside the file`, undefined, 40);
    // Extended numbering: the real counts live in section 0.
    if (shnum === 0) shnum = this.u64(shoff + 32, 'section count (sh_size of section 0)');
    if (shstrndx === SHN_XINDEX) shstrndx = v.getUint32(shoff + 40, true);
    if (shnum > (b.length - shoff) / SHDR_SIZE) {
      throw this.error(
        `${shnum} section headers at ${shoff} do not fit in a ${b.length}-byte file`,
        undefined,
        60,
      );
    }
    if (shstrndx >= shnum)
      throw this.error(`e_shstrndx ${shstrndx} is out of range (${shnum} sections)`, undefined, 62);
    return { type: v.getUint16(16, true), machine, flags: v.getUint32(48, true), shoff, shnum, shstrndx };
  }

  private readSections(): ElfSection[] {
    const { shoff, shnum, shstrndx } = this.header;
    const v = this.view;
    const raw: (ElfSection & { nameOff: number })[] = [];
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * SHDR_SIZE;
      const sec = {
        index: i,
        name: '',
        nameOff: v.getUint32(at, true),
        type: v.getUint32(at + 4, true),
        flags: this.u64(at + 8, `section ${i} sh_flags`),
        offset: this.u64(at + 24, `section ${i} sh_offset`),
        size: this.u64(at + 32, `section ${i} sh_size`),
        link: v.getUint32(at + 40, true),
        info: v.getUint32(at + 44, true),
        addralign: this.u64(at + 48, `section ${i} sh_addralign`),
        entsize: this.u64(at + 56, `section ${i} sh_entsize`),
      };
      if (sec.type !== SHT_NOBITS && sec.type !== SHT_NULL && sec.offset + sec.size > this.bytes.length) {
        throw this.error(
          `section ${i} data [${sec.offset}, +${sec.size}) is outside the ${this.bytes.length}-byte file`,
          `#${i}`,
          at + 24,
        );
      }
      raw.push(sec);
    }
    const strtab = raw[shstrndx]!;
    if (strtab.type !== SHT_STRTAB)
      throw this.error(`e_shstrndx ${shstrndx} is not a string table`, undefined, 62);
    return raw.map(({ nameOff, ...sec }) => {
      sec.name = sec.index === 0 ? '' : this.stringAt(strtab, nameOff, `name of section ${sec.index}`);
      return sec;
    });
  }

  /** Sections with file data must not overlap each other or the section header table. */
  private checkOverlaps(): void {
    const { shoff, shnum } = this.header;
    const spans = this.sections
      .filter((s) => s.type !== SHT_NOBITS && s.type !== SHT_NULL && s.size > 0)
      .map((s) => ({ start: s.offset, end: s.offset + s.size, name: s.name }));
    spans.push({ start: shoff, end: shoff + shnum * SHDR_SIZE, name: '<section headers>' });
    spans.push({ start: 0, end: EHDR_SIZE, name: '<ELF header>' });
    spans.sort((a, b) => a.start - b.start || a.end - b.end);
    for (let i = 1; i < spans.length; i++) {
      const prev = spans[i - 1]!;
      const cur = spans[i]!;
      if (cur.start < prev.end) {
        throw this.error(
          `section data overlaps ${prev.name} at [${prev.start}, ${prev.end})`,
          cur.name,
          cur.start,
        );
      }
    }
  }

  private readSymbols(symtab: ElfSection): ElfSymbol[] {
    if (symtab.entsize !== SYM_SIZE) {
      throw this.error(
        `symbol table entry size ${symtab.entsize} is not ${SYM_SIZE}`,
        symtab.name,
        symtab.offset,
      );
    }
    if (symtab.size % SYM_SIZE !== 0) {
      throw this.error(
        `symbol table size ${symtab.size} is not a multiple of ${SYM_SIZE}`,
        symtab.name,
        symtab.offset,
      );
    }
    const strtab = this.sections[symtab.link];
    if (!strtab)
      throw this.error(`symbol table sh_link ${symtab.link} is out of range`, symtab.name, symtab.offset);
    const v = this.view;
    const count = symtab.size / SYM_SIZE;
    const out: ElfSymbol[] = [];
    for (let i = 0; i < count; i++) {
      const at = symtab.offset + i * SYM_SIZE;
      const info = v.getUint8(at + 4);
      const shndx = v.getUint16(at + 6, true);
      if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= this.sections.length) {
        throw this.error(`symbol ${i} refers to section ${shndx}, out of range`, symtab.name, at + 6);
      }
      const nameOff = v.getUint32(at, true);
      out.push({
        index: i,
        name: nameOff === 0 ? '' : this.stringAt(strtab, nameOff, `name of symbol ${i}`),
        bind: info >> 4,
        type: info & 0xf,
        visibility: v.getUint8(at + 5) & 3,
        shndx,
        value: this.u64(at + 8, `symbol ${i} st_value`, symtab.name),
        size: this.u64(at + 16, `symbol ${i} st_size`, symtab.name),
      });
    }
    return out;
  }

  private readRelocs(sec: ElfSection): ElfRelocSection {
    const rela = sec.type === SHT_RELA;
    const ent = rela ? RELA_SIZE : REL_SIZE;
    if (sec.entsize !== ent && sec.entsize !== 0) {
      throw this.error(`relocation entry size ${sec.entsize} is not ${ent}`, sec.name, sec.offset);
    }
    if (sec.size % ent !== 0) {
      throw this.error(
        `relocation section size ${sec.size} is not a multiple of ${ent}`,
        sec.name,
        sec.offset,
      );
    }
    if (sec.info === 0 || sec.info >= this.sections.length) {
      throw this.error(`relocation target section ${sec.info} is out of range`, sec.name, sec.offset);
    }
    if (sec.link !== this.symtabIndex) {
      throw this.error(
        `relocation section links to section ${sec.link}, not the symbol table`,
        sec.name,
        sec.offset,
      );
    }
    const target = this.sections[sec.info]!;
    const v = this.view;
    const relocs: ElfReloc[] = [];
    for (let at = sec.offset; at < sec.offset + sec.size; at += ent) {
      const offset = this.u64(at, 'r_offset', sec.name);
      const type = v.getUint32(at + 8, true);
      const sym = v.getUint32(at + 12, true);
      if (sym >= this.symbols.length) {
        throw this.error(
          `relocation refers to symbol ${sym}, only ${this.symbols.length} exist`,
          sec.name,
          at + 12,
        );
      }
      if (offset >= target.size) {
        throw this.error(`relocation offset ${offset} is past the end of ${target.name}`, sec.name, at);
      }
      const addend = rela ? Number(v.getBigInt64(at + 16, true)) : 0;
      relocs.push({ offset, sym, type, addend });
    }
    return { section: sec, target: sec.info, relocs };
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Section and symbol names are ASCII in practice; latin1 never throws on odd bytes. */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/** Parses `bytes` as an ELF64 little-endian EM_BPF relocatable object. */
export function readElf(bytes: Uint8Array, file?: string): ElfFile {
  return new ElfFile(bytes, file);
}
