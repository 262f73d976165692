// Link one program for loading, as libbpf does before BPF_PROG_LOAD: append every function it
// calls or takes the address of (transitively, depth-first in order of first reference), fix
// the call/func offsets, and turn map and global data references into pseudo lddw forms.
// libbpf: bpf_object__relocate(), bpf_object__reloc_code(), bpf_program__relocate().
import type { Btf } from '../btf/btf.ts';
import { applyCoreRelos, type CoreReloResult } from '../btf/core.ts';
import type { CoreRelo, FuncInfo, LineInfo } from '../btf/ext-info.ts';
import { ElfError } from '../errors.ts';
import type { Insn } from '../isa/insn.ts';
import { PSEUDO_FUNC, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE } from '../isa/opcode.ts';
import type { AttachType, ProgType } from './sections.ts';
import type { CollectionSpec, FuncRef, MapSpec, ProgramSpec } from './spec.ts';

export interface LinkOptions {
  /**
   * What the lddw imm of a map reference indexes: 'object' = `spec.maps` (libbpf's map order),
   * 'used' = the returned `maps` (only maps this program uses, in order of first use), which is
   * what the kbpf oracle's `--map` list expects.
   */
  mapIndex?: 'object' | 'used';
  /** Target BTF (e.g. the kernel's) for CO-RE relocations; without it they are left as compiled. */
  coreTarget?: Btf;
}

export interface LinkedProgram {
  name: string;
  section: string;
  progType: ProgType;
  attachType?: AttachType;
  sleepable: boolean;
  xdpFrags: boolean;
  license: string;
  kernelVersion: number;
  insns: Insn[];
  /** Maps the program uses, in order of first use; with mapIndex 'used' the lddw imm indexes this. */
  maps: MapSpec[];
  /** For each map in `maps`, its index in `spec.maps`. */
  objectMapIndex: number[];
  mapIndex: 'object' | 'used';
  /** Every function in the image and the slot it starts at (the program itself first, at 0). */
  functions: { name: string; section: string; insnOff: number }[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  coreRelos: CoreRelo[];
  /** What each CO-RE relocation became, when `coreTarget` was given. */
  coreResults?: CoreReloResult[];
}

function findProgram(spec: CollectionSpec, name: string): ProgramSpec {
  const p = spec.programs.find((x) => x.name === name) ?? spec.subprograms.find((x) => x.name === name);
  if (!p) {
    const known = spec.programs.map((x) => x.name).join(', ') || '(none)';
    throw new ElfError(`no program named "${name}" (programs: ${known})`, { where: { file: spec.file } });
  }
  return p;
}

/** libbpf/kernel limit on functions in one program (BPF_MAX_SUBPROGS). */
const MAX_SUBPROGS = 256;

/** Functions by section, sorted by address, for binary search. */
function functionIndex(spec: CollectionSpec): Map<string, ProgramSpec[]> {
  const bySection = new Map<string, ProgramSpec[]>();
  for (const f of [...spec.programs, ...spec.subprograms]) {
    const list = bySection.get(f.section);
    if (list) list.push(f);
    else bySection.set(f.section, [f]);
  }
  for (const list of bySection.values()) list.sort((a, b) => a.insnOff - b.insnOff);
  return bySection;
}

/** The function containing slot `ref.insnIdx` of `ref.section`. */
function functionAt(index: Map<string, ProgramSpec[]>, ref: FuncRef): ProgramSpec | undefined {
  const all = index.get(ref.section) ?? [];
  let lo = 0;
  let hi = all.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const f = all[mid]!;
    if (ref.insnIdx < f.insnOff) hi = mid - 1;
    else if (ref.insnIdx >= f.insnOff + f.insns.length) lo = mid + 1;
    else return f;
  }
  return undefined;
}

/** Links program `name` (a program or a `.text` function) of `spec` into one instruction image. */
export function linkProgram(spec: CollectionSpec, name: string, opts: LinkOptions = {}): LinkedProgram {
  const main = findProgram(spec, name);
  const mapIndex = opts.mapIndex ?? 'object';
  const whereOf = (p: ProgramSpec, insnIdx?: number) => ({
    file: spec.file,
    section: p.section,
    prog: p.name,
    ...(insnIdx !== undefined ? { insnIdx } : {}),
  });
  if (main.unknownSection) throw new ElfError(main.unknownSection, { where: whereOf(main) });

  const insns: Insn[] = [];
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const coreRelos: CoreRelo[] = [];
  const functions: LinkedProgram['functions'] = [];
  const placed = new Map<ProgramSpec, number>();
  const used: MapSpec[] = [];
  const objectMapIndex: number[] = [];
  const objIndexByName = new Map<string, number>();
  spec.maps.forEach((m, i) => {
    if (!objIndexByName.has(m.name)) objIndexByName.set(m.name, i);
  });
  const usedIndexByName = new Map<string, number>();
  const functionsBySection = functionIndex(spec);

  const mapSlot = (mapName: string, p: ProgramSpec, at: number): number => {
    const objIdx = objIndexByName.get(mapName);
    if (objIdx === undefined) {
      throw new ElfError(`map "${mapName}" is not in the object`, { where: whereOf(p, at) });
    }
    let usedIdx = usedIndexByName.get(mapName);
    if (usedIdx === undefined) {
      usedIdx = used.push(spec.maps[objIdx]!) - 1;
      usedIndexByName.set(mapName, usedIdx);
      objectMapIndex.push(objIdx);
    }
    return mapIndex === 'object' ? objIdx : usedIdx;
  };

  // Depth-first, like libbpf: a callee is appended (and relocated) the first time it is referenced.
  const place = (p: ProgramSpec): number => {
    const existing = placed.get(p);
    if (existing !== undefined) return existing;
    if (placed.size >= MAX_SUBPROGS) {
      throw new ElfError(`program needs more than ${MAX_SUBPROGS} functions`, { where: whereOf(p) });
    }
    const base = insns.length;
    placed.set(p, base);
    functions.push({ name: p.name, section: p.section, insnOff: base });
    for (const i of p.insns) insns.push({ ...i });
    for (const r of p.funcInfo) funcInfo.push({ ...r, insnIdx: r.insnIdx + base });
    for (const r of p.lineInfo) lineInfo.push({ ...r, insnIdx: r.insnIdx + base });
    for (const r of p.coreRelos) coreRelos.push({ ...r, insnIdx: r.insnIdx + base });
    for (const r of p.relocs) {
      const at = base + r.insnIdx;
      const insn = insns[at]!;
      switch (r.kind) {
        case 'unsupported':
          throw new ElfError(`unsupported: ${r.reason}`, { where: whereOf(p, r.insnIdx) });
        case 'map':
        case 'data': {
          const next = insns[at + 1];
          if (!next) throw new ElfError('lddw is missing its second slot', { where: whereOf(p, r.insnIdx) });
          const offset = r.kind === 'data' ? r.offset : 0;
          insn.src = r.kind === 'map' ? PSEUDO_MAP_FD : PSEUDO_MAP_VALUE;
          insn.imm = mapSlot(r.map, p, r.insnIdx);
          insn.imm64Hi = offset;
          next.imm = offset;
          break;
        }
        case 'call':
        case 'func': {
          const callee = functionAt(functionsBySection, r.target);
          if (!callee) {
            throw new ElfError(
              `${r.kind} target ${r.target.section}+${r.target.insnIdx} is not inside any function`,
              {
                where: whereOf(p, r.insnIdx),
              },
            );
          }
          const start = place(callee) + (r.target.insnIdx - callee.insnOff);
          if (r.kind === 'func') insn.src = PSEUDO_FUNC;
          insn.imm = start - at - 1;
          if (r.kind === 'func') {
            insn.imm64Hi = 0;
            insns[at + 1]!.imm = 0;
          }
          break;
        }
      }
    }
    return base;
  };
  place(main);

  const out: LinkedProgram = {
    name: main.name,
    section: main.section,
    progType: main.progType,
    sleepable: main.sleepable,
    xdpFrags: main.xdpFrags,
    license: spec.license,
    kernelVersion: spec.kernelVersion,
    insns,
    maps: used,
    objectMapIndex,
    mapIndex,
    functions,
    funcInfo,
    lineInfo,
    coreRelos,
  };
  if (main.attachType) out.attachType = main.attachType;
  if (opts.coreTarget && coreRelos.length > 0) {
    if (!spec.btf) throw new ElfError('CO-RE relocations without BTF', { where: whereOf(main) });
    out.coreResults = applyCoreRelos(insns, coreRelos, spec.btf, opts.coreTarget, whereOf(main));
  }
  return out;
}

/** `TYPE:KEY:VALUE:MAX` map specs for the kbpf oracle, one per map the lddw imm can name. */
export function kbpfMapArgs(spec: CollectionSpec, linked: LinkedProgram): string[] {
  const maps = linked.mapIndex === 'used' ? linked.maps : spec.maps;
  return maps.map((m) => `${m.typeName}:${m.keySize}:${m.valueSize}:${m.maxEntries}`);
}
