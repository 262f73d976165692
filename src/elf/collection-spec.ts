// Object file bytes → CollectionSpec, following libbpf's conventions (bpf_object__open):
// programs by SEC() name, maps from `.maps`/`maps`/global data/`.kconfig`, externs,
// license and version, BTF and its ext info.
import type { Btf } from '../btf/btf.ts';
import { type BtfExt, parseBtfExt } from '../btf/ext-info.ts';
import type { BtfDatasec } from '../btf/types.ts';
import { parseBtf } from '../btf/unmarshal.ts';
import { BtfError } from '../errors.ts';
import { layoutKconfig, type MapContext, parseBtfMaps, parseDataMaps, parseLegacyMaps } from './maps.ts';
import { collectPrograms, isExecSection, type ProgContext } from './programs.ts';
import { type ElfFile, readElf, SHN_UNDEF, STB_GLOBAL, STB_WEAK, STT_OBJECT, STT_SECTION } from './reader.ts';
import type { CollectionSpec, ExternSpec, MapSpec } from './spec.ts';

export interface LoadOptions {
  /** File name for error messages and the object name of global data maps. */
  file?: string;
}

/** libbpf: the object name is the basename up to the first '.'. */
export function objNameOf(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base || 'obj';
}

export function loadCollectionSpec(bytes: Uint8Array, opts: LoadOptions = {}): CollectionSpec {
  const file = opts.file ?? '<memory>';
  try {
    return load(bytes, file);
  } catch (e) {
    // BTF queries (resolve, sizeof) do not know the file; add it so every error says where.
    if (e instanceof BtfError && !e.where.file) {
      throw new BtfError(e.message, { where: { file, section: '.BTF', ...e.where }, cause: e });
    }
    throw e;
  }
}

function load(bytes: Uint8Array, file: string): CollectionSpec {
  const elf = readElf(bytes, file);
  const objName = objNameOf(file);
  const btfSec = elf.section('.BTF');
  const btf = btfSec ? parseBtf(elf.data(btfSec), { file, baseOff: btfSec.offset }) : undefined;
  const extSec = elf.section('.BTF.ext');
  const ext: BtfExt | undefined =
    btf && extSec ? parseBtfExt(elf.data(extSec), btf, { file, baseOff: extSec.offset }) : undefined;

  if (btf) fixupDatasecs(elf, btf);
  const mctx: MapContext = btf ? { elf, btf, objName } : { elf, objName };
  const exec = new Set(elf.sections.filter(isExecSection).map((s) => s.index));
  const userMaps = [...parseLegacyMaps(mctx), ...parseBtfMaps(mctx, exec)];
  const dataMaps = parseDataMaps(mctx);
  const { externs, aligns } = collectExterns(elf, btf);
  const kconfigMap = layoutKconfig(mctx, externs, aligns);
  if (btf && kconfigMap) fixupKconfigDatasec(btf, externs, kconfigMap);
  const maps: MapSpec[] = [...userMaps, ...dataMaps.values(), ...(kconfigMap ? [kconfigMap] : [])];
  const names = new Set<string>();
  for (const m of maps) {
    if (names.has(m.name)) throw elf.error(`two maps are named "${m.name}"`, m.section, m.sectionOffset);
    names.add(m.name);
  }

  const mapsByLocation = new Map<string, MapSpec>();
  for (const m of userMaps) {
    const sec = elf.section(m.section)!;
    mapsByLocation.set(`${sec.index}:${m.sectionOffset}`, m);
  }
  const pctx: ProgContext = {
    elf,
    mapsByLocation,
    dataMaps,
    externs: new Map(externs.map((e) => [e.name, e])),
    ...(kconfigMap ? { kconfigMap } : {}),
    ...(ext ? { ext } : {}),
  };
  const funcs = collectPrograms(pctx);
  const spec: CollectionSpec = {
    file,
    objName,
    programs: funcs.filter((f) => !f.isSubprog),
    subprograms: funcs.filter((f) => f.isSubprog),
    maps,
    externs,
    license: readLicense(elf),
    kernelVersion: readVersion(elf),
  };
  if (btf) spec.btf = btf;
  const unsupported = structOpsVariables(elf);
  if (unsupported.length) spec.unsupported = unsupported;
  return spec;
}

/** libbpf makes each `.struct_ops[.link]` variable a BPF_MAP_TYPE_STRUCT_OPS map; tsbpf cannot. */
function structOpsVariables(elf: ElfFile): NonNullable<CollectionSpec['unsupported']> {
  const out: NonNullable<CollectionSpec['unsupported']> = [];
  for (const s of elf.symbols) {
    if (s.type !== STT_OBJECT) continue;
    const sec = elf.sections[s.shndx];
    if (!sec || (sec.name !== '.struct_ops' && sec.name !== '.struct_ops.link')) continue;
    out.push({
      section: sec.name,
      symbol: s.name,
      reason: `struct_ops map "${s.name}" (section ${sec.name}) is not supported`,
    });
  }
  return out;
}

/**
 * clang leaves DATASEC sizes (and some variable offsets) zero in objects; fill them in from
 * the ELF sections and symbols so map value types have the right size. libbpf: btf_fixup_datasec().
 */
function fixupDatasecs(elf: ElfFile, btf: Btf): void {
  // One index, so hostile objects with many variables and symbols stay linear.
  const objects = new Map<string, number>();
  for (const s of elf.symbols) if (s.type === STT_OBJECT) objects.set(`${s.shndx}:${s.name}`, s.value);
  for (const t of btf.types) {
    if (t.kind !== 'datasec' || t.name === '.kconfig' || t.name === '.ksyms') continue;
    const sec = elf.section(t.name);
    if (!sec) continue;
    if (t.size === 0) t.size = sec.size;
    for (const v of t.vars) {
      const vt = btf.typeById(v.type);
      if (vt.kind !== 'var') continue;
      const off = objects.get(`${sec.index}:${vt.name}`);
      if (off !== undefined) v.offset = off;
    }
    t.vars.sort((a, b) => a.offset - b.offset);
  }
}

/** `.kconfig` variables sit where layoutKconfig put their externs. */
function fixupKconfigDatasec(btf: Btf, externs: ExternSpec[], map: MapSpec): void {
  for (const ds of btf.findByName('.kconfig', 'datasec') as BtfDatasec[]) {
    ds.size = map.valueSize;
    const byType = new Map(externs.map((e) => [e.typeId, e]));
    for (const v of ds.vars) {
      const e = byType.get(v.type);
      if (e) v.offset = e.offset;
    }
    ds.vars.sort((a, b) => a.offset - b.offset);
  }
}

function readLicense(elf: ElfFile): string {
  const sec = elf.section('license');
  if (!sec) return '';
  const d = elf.data(sec);
  const nul = d.indexOf(0);
  let s = '';
  for (const b of nul < 0 ? d : d.subarray(0, nul)) s += String.fromCharCode(b);
  return s;
}

function readVersion(elf: ElfFile): number {
  const sec = elf.section('version');
  if (!sec) return 0;
  const d = elf.data(sec);
  if (d.length !== 4)
    throw elf.error(`version section has ${d.length} bytes of data, not 4`, 'version', sec.offset);
  return new DataView(d.buffer, d.byteOffset, 4).getUint32(0, true);
}

/** libbpf: bpf_object__collect_externs(). Undefined global symbols, typed by BTF. */
function collectExterns(elf: ElfFile, btf?: Btf): { externs: ExternSpec[]; aligns: Map<string, number> } {
  const externs: ExternSpec[] = [];
  const aligns = new Map<string, number>();
  const kconfigVars = new Set<number>();
  if (btf) {
    for (const ds of btf.findByName('.kconfig', 'datasec') as BtfDatasec[]) {
      for (const v of ds.vars) kconfigVars.add(v.type);
    }
  }
  for (const s of elf.symbols) {
    if (s.index === 0 || s.shndx !== SHN_UNDEF || s.type === STT_SECTION || !s.name) continue;
    if (s.bind !== STB_GLOBAL && s.bind !== STB_WEAK) continue;
    const ext: ExternSpec = {
      name: s.name,
      kind: 'ksym',
      weak: s.bind === STB_WEAK,
      typeId: 0,
      size: 0,
      offset: 0,
    };
    const t = btf?.findByName(s.name).find((x) => x.kind === 'var' || x.kind === 'func');
    if (t && btf) {
      ext.typeId = t.id;
      if (t.kind === 'var' && kconfigVars.has(t.id)) {
        ext.kind = 'kconfig';
        try {
          ext.size = btf.sizeof(t.type);
          aligns.set(s.name, btf.alignof(t.type));
        } catch (cause) {
          throw elf.error(`kconfig extern "${s.name}" has no size: ${(cause as Error).message}`, '.kconfig');
        }
      }
    }
    externs.push(ext);
  }
  return { externs, aligns };
}
