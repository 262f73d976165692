// Executable sections → functions (split by STT_FUNC symbols) with their relocations.
// libbpf: bpf_object__add_programs(), bpf_object__collect_prog_relos(), bpf_program__record_reloc().
import type { BtfExt } from '../btf/ext-info.ts';
import { decodeSlots } from '../isa/decode.ts';
import { OP_CALL, OP_LDDW, PSEUDO_CALL, PSEUDO_CALL_HELPER } from '../isa/opcode.ts';
import type { ElfFile, ElfReloc, ElfSection, ElfSymbol } from './reader.ts';
import {
  SHF_EXECINSTR,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHT_PROGBITS,
  STB_GLOBAL,
  STT_FUNC,
  STT_SECTION,
} from './reader.ts';
import { classifySection } from './sections.ts';
import type { ExternSpec, FuncRef, MapSpec, ProgramSpec, ProgReloc } from './spec.ts';

/** libbpf's ARENA_SEC: `__arena` globals, which live in the program's BPF arena map. */
const ARENA_SECTION = '.addr_space.1';

// kernel: R_BPF_* relocation types (llvm BPFELFObjectWriter).
export const R_BPF_64_64 = 1;
export const R_BPF_64_32 = 10;

export interface ProgContext {
  elf: ElfFile;
  /** Section index → map for `.maps`/`maps` symbols: keyed by `${shndx}:${offset}`. */
  mapsByLocation: Map<string, MapSpec>;
  /** Section index → global data map. */
  dataMaps: Map<number, MapSpec>;
  externs: Map<string, ExternSpec>;
  kconfigMap?: MapSpec;
  ext?: BtfExt;
}

export const isExecSection = (s: ElfSection): boolean =>
  s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0;

/** Per-object indexes, so that hostile inputs with many symbols/relocations stay near-linear. */
interface Indexes {
  funcsBySection: Map<number, ElfSymbol[]>;
  /** `${shndx}:${byte offset}` → function symbol starting there. */
  funcAt: Map<string, ElfSymbol>;
  relocsByTarget: Map<number, ElfFile['relocSections']>;
}

function buildIndexes(elf: ElfFile): Indexes {
  const funcsBySection = new Map<number, ElfSymbol[]>();
  const funcAt = new Map<string, ElfSymbol>();
  for (const s of elf.symbols) {
    if (s.type !== STT_FUNC) continue;
    const list = funcsBySection.get(s.shndx);
    if (list) list.push(s);
    else funcsBySection.set(s.shndx, [s]);
    const key = `${s.shndx}:${s.value}`;
    if (!funcAt.has(key)) funcAt.set(key, s);
  }
  const relocsByTarget = new Map<number, ElfFile['relocSections']>();
  for (const rs of elf.relocSections) {
    const list = relocsByTarget.get(rs.target);
    if (list) list.push(rs);
    else relocsByTarget.set(rs.target, [rs]);
  }
  return { funcsBySection, funcAt, relocsByTarget };
}

/** Splits every executable section into functions, then records relocations on them. */
export function collectPrograms(ctx: ProgContext): ProgramSpec[] {
  const all: ProgramSpec[] = [];
  const idx = buildIndexes(ctx.elf);
  const ext = groupExt(ctx.ext);
  for (const sec of ctx.elf.sections) {
    if (!isExecSection(sec)) continue;
    all.push(...splitSection(ctx, idx, ext, sec));
  }
  return all;
}

function splitSection(ctx: ProgContext, ix: Indexes, ext: GroupedExt, sec: ElfSection): ProgramSpec[] {
  const { elf } = ctx;
  if (sec.size % 8 !== 0)
    throw elf.error(`code size ${sec.size} is not a multiple of 8`, sec.name, sec.offset);
  const slots = decodeSlots(elf.data(sec));
  const nslots = slots.length;
  const syms = [...(ix.funcsBySection.get(sec.index) ?? [])].sort((a, b) => a.value - b.value);
  const funcs: { name: string; start: number; end: number; global: boolean }[] = [];
  for (const s of syms) {
    if (s.value % 8 !== 0 || s.size % 8 !== 0) {
      throw elf.error(
        `function "${s.name}" is not 8-byte aligned (value ${s.value}, size ${s.size})`,
        sec.name,
      );
    }
    const start = s.value / 8;
    const end = start + s.size / 8;
    if (end > nslots || s.size === 0) {
      throw elf.error(
        `function "${s.name}" [${s.value}, +${s.size}) is outside its section`,
        sec.name,
        sec.offset,
      );
    }
    const prev = funcs[funcs.length - 1];
    if (prev && start < prev.end)
      throw elf.error(`functions "${prev.name}" and "${s.name}" overlap`, sec.name);
    funcs.push({ name: s.name, start, end, global: s.bind === STB_GLOBAL });
  }
  // Hand-written assembly may have no function symbols: the whole section is one program.
  if (funcs.length === 0)
    funcs.push({ name: sec.name.replace(/[^A-Za-z0-9_]/g, '_'), start: 0, end: nslots, global: true });

  const isText = sec.name === '.text';
  // libbpf: a leading '?' turns autoload off; the rest is the usual SEC() name.
  const autoload = !sec.name.startsWith('?');
  const kind = classifySection(autoload ? sec.name : sec.name.slice(1));
  const progs: ProgramSpec[] = funcs.map((f) => {
    const p: ProgramSpec = {
      name: f.name,
      section: sec.name,
      insnOff: f.start,
      progType: isText ? 'unspec' : kind.progType,
      sleepable: !isText && kind.sleepable === true,
      xdpFrags: !isText && kind.xdpFrags === true,
      isSubprog: isText,
      global: f.global,
      autoload: autoload && !isText,
      insns: slots.slice(f.start, f.end),
      relocs: [],
      funcInfo: [],
      lineInfo: [],
      coreRelos: [],
    };
    if (!isText && kind.attachType) p.attachType = kind.attachType;
    if (!isText && kind.attachTo !== undefined) p.attachTo = kind.attachTo;
    if (!isText && !kind.pattern) {
      p.unknownSection = `section "${sec.name}" is not a known program type (libbpf's SEC() names: xdp, tc, kprobe/..., ...)`;
    }
    return p;
  });
  const owner = (idx: number): ProgramSpec | undefined => {
    // Binary search: relocation-heavy sections must stay linear-ish.
    let lo = 0;
    let hi = progs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = progs[mid]!;
      if (idx < p.insnOff) hi = mid - 1;
      else if (idx >= p.insnOff + p.insns.length) lo = mid + 1;
      else return p;
    }
    return undefined;
  };

  const relocated = new Set<number>();
  for (const rs of ix.relocsByTarget.get(sec.index) ?? []) {
    for (const r of rs.relocs) {
      const idx = r.offset / 8;
      if (r.offset % 8 !== 0)
        throw elf.error(`relocation at offset ${r.offset} is not on an instruction`, rs.section.name);
      const prog = owner(idx);
      if (!prog) continue; // padding between functions: libbpf ignores it too
      relocated.add(idx);
      prog.relocs.push(recordReloc(ctx, ix, sec, slots, idx, r, prog));
    }
  }
  // Calls inside one section need no relocation: the offset is already right.
  for (let idx = 0; idx < nslots; idx++) {
    const insn = slots[idx]!;
    if (insn.code === OP_LDDW) {
      idx++;
      continue;
    }
    if (insn.code !== OP_CALL || insn.src !== PSEUDO_CALL || relocated.has(idx)) continue;
    const prog = owner(idx);
    if (!prog) continue;
    const target = idx + insn.imm + 1;
    if (target < 0 || target >= nslots) {
      throw elf.error(
        `call at insn ${idx} jumps to ${target}, outside the section`,
        sec.name,
        sec.offset + idx * 8,
      );
    }
    prog.relocs.push({ kind: 'call', insnIdx: idx - prog.insnOff, target: funcRef(ix, sec, target) });
  }
  for (const p of progs) p.relocs.sort((a, b) => a.insnIdx - b.insnIdx);
  attachExtInfo(ext, sec, progs, owner);
  return progs;
}

function funcRef(ix: Indexes, sec: ElfSection, insnIdx: number): FuncRef {
  const sym = ix.funcAt.get(`${sec.index}:${insnIdx * 8}`);
  return sym ? { section: sec.name, insnIdx, name: sym.name } : { section: sec.name, insnIdx };
}

/** libbpf: bpf_program__record_reloc(). `idx` is section-relative. */
function recordReloc(
  ctx: ProgContext,
  ix: Indexes,
  sec: ElfSection,
  slots: ReturnType<typeof decodeSlots>,
  idx: number,
  r: ElfReloc,
  prog: ProgramSpec,
): ProgReloc {
  const { elf } = ctx;
  const insn = slots[idx]!;
  const sym: ElfSymbol = elf.symbols[r.sym]!;
  const insnIdx = idx - prog.insnOff;
  const where = (msg: string) =>
    elf.error(`${prog.name}: insn ${insnIdx}: ${msg}`, sec.name, sec.offset + idx * 8);
  const isCall = insn.code === OP_CALL;
  const isLddw = insn.code === OP_LDDW && idx + 1 < slots.length;
  if (!isCall && !isLddw) {
    throw where(`relocation against "${sym.name}" on opcode 0x${insn.code.toString(16)}, not lddw or call`);
  }
  if (sym.shndx === SHN_UNDEF) {
    const ext = ctx.externs.get(sym.name);
    if (isCall) {
      return {
        kind: 'unsupported',
        insnIdx,
        symbol: sym.name,
        reason: `call to kernel function "${sym.name}" (kfunc) is not supported`,
      };
    }
    if (ext?.kind === 'kconfig' && ctx.kconfigMap) {
      return {
        kind: 'data',
        insnIdx,
        map: ctx.kconfigMap.name,
        offset: ext.offset + insn.imm,
        symbol: sym.name,
      };
    }
    return {
      kind: 'unsupported',
      insnIdx,
      symbol: sym.name,
      reason: `extern "${sym.name}" ${ext?.kind === 'ksym' ? '(__ksym) needs kernel BTF, which is not supported' : 'is not a .kconfig or .ksyms variable'}`,
    };
  }
  if (sym.shndx >= SHN_LORESERVE)
    throw where(`relocation against "${sym.name}" in special section 0x${sym.shndx.toString(16)}`);
  const target = elf.sections[sym.shndx]!;
  if (isCall) {
    if (insn.src !== PSEUDO_CALL) {
      throw where(
        `call relocation against "${sym.name}" but src_reg is ${insn.src}${insn.src === PSEUDO_CALL_HELPER ? ' (helper call)' : ''}`,
      );
    }
    if (!isExecSection(target)) throw where(`call to "${sym.name}" in non-code section ${target.name}`);
    if (sym.value % 8 !== 0) throw where(`call target "${sym.name}" is not 8-byte aligned`);
    // Section symbols leave the offset in imm; function symbols have imm = -1 (libbpf: sym_off/8 + imm + 1).
    const t = sym.value / 8 + insn.imm + 1;
    if (t < 0 || t * 8 >= target.size) throw where(`call target ${t} is outside ${target.name}`);
    return { kind: 'call', insnIdx, target: funcRef(ix, target, t) };
  }
  if (isExecSection(target)) {
    if (sym.type !== STT_FUNC && sym.type !== STT_SECTION)
      throw where(`address of non-function "${sym.name}"`);
    if (sym.value % 8 !== 0 || insn.imm % 8 !== 0)
      throw where(`function address of "${sym.name}" is not 8-byte aligned`);
    const t = sym.value / 8 + insn.imm / 8;
    if (t < 0 || t * 8 >= target.size) throw where(`function address ${t} is outside ${target.name}`);
    return { kind: 'func', insnIdx, target: funcRef(ix, target, t) };
  }
  const data = ctx.dataMaps.get(sym.shndx);
  if (data) {
    return {
      kind: 'data',
      insnIdx,
      map: data.name,
      offset: sym.value + insn.imm,
      symbol: sym.name || target.name,
    };
  }
  const map = ctx.mapsByLocation.get(`${sym.shndx}:${sym.value}`);
  if (map) return { kind: 'map', insnIdx, map: map.name };
  if (target.name === ARENA_SECTION) {
    return {
      kind: 'unsupported',
      insnIdx,
      symbol: sym.name,
      reason: `arena variable "${sym.name}" (section ${ARENA_SECTION}): BPF arena maps are not supported`,
    };
  }
  if (target.name === '.maps' || target.name === 'maps') {
    throw where(`no map definition at ${target.name}+${sym.value} for "${sym.name}"`);
  }
  throw where(
    `relocation against "${sym.name}" in section ${target.name}, which is neither code, map nor data`,
  );
}

interface GroupedExt {
  funcInfo: Map<string, BtfExt['funcInfo']>;
  lineInfo: Map<string, BtfExt['lineInfo']>;
  coreRelos: Map<string, BtfExt['coreRelos']>;
}

function group<T extends { section: string }>(blocks: T[] | undefined): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const b of blocks ?? []) {
    const list = m.get(b.section);
    if (list) list.push(b);
    else m.set(b.section, [b]);
  }
  return m;
}

function groupExt(ext: BtfExt | undefined): GroupedExt {
  return { funcInfo: group(ext?.funcInfo), lineInfo: group(ext?.lineInfo), coreRelos: group(ext?.coreRelos) };
}

/** Distributes `.BTF.ext` records of this section to the functions that own them. */
function attachExtInfo(
  ext: GroupedExt,
  sec: ElfSection,
  progs: ProgramSpec[],
  owner: (idx: number) => ProgramSpec | undefined,
): void {
  for (const block of ext.funcInfo.get(sec.name) ?? []) {
    for (const r of block.records) {
      const p = owner(r.insnIdx);
      if (p) p.funcInfo.push({ ...r, insnIdx: r.insnIdx - p.insnOff });
    }
  }
  for (const block of ext.lineInfo.get(sec.name) ?? []) {
    for (const r of block.records) {
      const p = owner(r.insnIdx);
      if (p) p.lineInfo.push({ ...r, insnIdx: r.insnIdx - p.insnOff });
    }
  }
  for (const block of ext.coreRelos.get(sec.name) ?? []) {
    for (const r of block.records) {
      const p = owner(r.insnIdx);
      if (p) p.coreRelos.push({ ...r, insnIdx: r.insnIdx - p.insnOff });
    }
  }
  for (const p of progs) {
    const f = p.funcInfo.find((fi) => fi.insnIdx === 0);
    if (f) p.btfFuncId = f.typeId;
  }
}
