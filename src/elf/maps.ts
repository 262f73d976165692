// Map definitions: BTF-defined `.maps`, legacy `maps` (struct bpf_map_def), global data
// sections and `.kconfig`. libbpf: bpf_object__init_user_btf_maps(), parse_btf_map_def(),
// bpf_object__init_global_data_maps(), bpf_object__init_kconfig_map().
import type { Btf } from '../btf/btf.ts';
import type { BtfComposite, BtfDatasec } from '../btf/types.ts';
import { ElfError } from '../errors.ts';
import {
  BPF_F_MMAPABLE,
  BPF_F_RDONLY_PROG,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_PROG_ARRAY,
  isMapInMap,
  mapTypeName,
} from './map-types.ts';
import {
  type ElfFile,
  type ElfSection,
  SHF_EXECINSTR,
  SHT_NOBITS,
  SHT_PROGBITS,
  STT_SECTION,
} from './reader.ts';
import type { ExternSpec, MapOrigin, MapSpec } from './spec.ts';

/** The kernel's BPF_OBJ_NAME_LEN, including the NUL. */
const BPF_OBJ_NAME_LEN = 16;

export interface MapContext {
  elf: ElfFile;
  btf?: Btf;
  objName: string;
}

function fail(ctx: MapContext, message: string, section: string, byteOff?: number): ElfError {
  return ctx.elf.error(message, section, byteOff);
}

function blankMap(name: string, origin: MapOrigin, section: string, sectionOffset: number): MapSpec {
  return {
    name,
    type: 0,
    typeName: mapTypeName(0),
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    numaNode: 0,
    pinning: 0,
    mapExtra: 0,
    keyTypeId: 0,
    valueTypeId: 0,
    origin,
    section,
    sectionOffset,
    frozen: false,
  };
}

/** libbpf: internal_map_name(). */
export function internalMapName(objName: string, secName: string): string {
  const sfxLen = Math.min(Math.max(7, secName.length), BPF_OBJ_NAME_LEN - 1);
  // Custom sections (".data.foo") carry a second dot and are named by the section alone.
  const pfxLen = secName.indexOf('.', 1) >= 0 ? 0 : Math.min(BPF_OBJ_NAME_LEN - sfxLen - 1, objName.length);
  const name = (objName.slice(0, pfxLen) + secName.slice(0, sfxLen)).slice(0, BPF_OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

/** What a `.maps` struct member of the `values` kind looks like, for initialiser relocations. */
interface ValuesSlot {
  map: MapSpec;
  /** Byte offset of the `values` array inside the definition. */
  byteOff: number;
  size: number;
}

/** libbpf: parse_btf_map_def(). */
function parseBtfMapDef(
  ctx: MapContext,
  btf: Btf,
  map: MapSpec,
  typeId: number,
  depth: number,
): { valuesByteOff?: number } {
  const sec = map.section;
  const def = btf.resolve(typeId);
  if (def.kind !== 'struct') {
    throw fail(ctx, `map "${map.name}": definition is a ${def.kind}, not a struct`, sec, map.sectionOffset);
  }
  const intField = (m: BtfComposite['members'][number]): number => {
    const p = btf.resolve(m.type);
    const arr = p.kind === 'ptr' ? btf.resolve(p.type) : p;
    if (p.kind !== 'ptr' || arr.kind !== 'array') {
      throw fail(ctx, `map "${map.name}": field "${m.name}" is not __uint() (a pointer to an array)`, sec);
    }
    return arr.nelems;
  };
  const typeField = (m: BtfComposite['members'][number]): { id: number; size: number } => {
    const p = btf.resolve(m.type);
    if (p.kind !== 'ptr')
      throw fail(ctx, `map "${map.name}": field "${m.name}" is not __type() (a pointer)`, sec);
    try {
      return { id: p.type, size: btf.sizeof(p.type) };
    } catch (cause) {
      throw new ElfError(`map "${map.name}": cannot size the ${m.name} type`, {
        where: { file: ctx.elf.file, section: sec },
        cause,
      });
    }
  };
  let keySize: number | undefined;
  let valueSize: number | undefined;
  let valuesByteOff: number | undefined;
  let valuesTarget: number | undefined;
  for (const m of def.members) {
    switch (m.name) {
      case 'type':
        map.type = intField(m);
        map.typeName = mapTypeName(map.type);
        break;
      case 'max_entries':
        map.maxEntries = intField(m);
        break;
      case 'map_flags':
        map.flags = intField(m);
        break;
      case 'numa_node':
        map.numaNode = intField(m);
        break;
      case 'pinning':
        map.pinning = intField(m);
        if (map.pinning > 1) throw fail(ctx, `map "${map.name}": invalid pinning ${map.pinning}`, sec);
        break;
      case 'map_extra': {
        // __ulong(map_extra, v) is a one-value enum (64-bit values do not fit __uint's array size).
        const e = btf.resolve(m.type);
        if ((e.kind === 'enum' || e.kind === 'enum64') && e.values.length === 1) {
          map.mapExtra = Number(e.values[0]!.value);
        } else map.mapExtra = intField(m);
        break;
      }
      case 'key_size':
        keySize = intField(m);
        break;
      case 'value_size':
        valueSize = intField(m);
        break;
      case 'key': {
        const k = typeField(m);
        map.keyTypeId = k.id;
        map.keySize = k.size;
        break;
      }
      case 'value': {
        const v = typeField(m);
        map.valueTypeId = v.id;
        map.valueSize = v.size;
        break;
      }
      case 'values': {
        // __array(values, T): an array of pointers to T.
        const arr = btf.resolve(m.type);
        const ptr = arr.kind === 'array' ? btf.resolve(arr.type) : arr;
        if (arr.kind !== 'array' || ptr.kind !== 'ptr') {
          throw fail(ctx, `map "${map.name}": "values" is not __array() (an array of pointers)`, sec);
        }
        valuesByteOff = m.bitOffset / 8;
        valuesTarget = ptr.type;
        break;
      }
      default:
        throw fail(ctx, `map "${map.name}": unknown field "${m.name}"`, sec, map.sectionOffset);
    }
  }
  for (const [what, explicit, fromType] of [
    ['key', keySize, map.keyTypeId ? map.keySize : undefined],
    ['value', valueSize, map.valueTypeId ? map.valueSize : undefined],
  ] as const) {
    if (explicit !== undefined && fromType !== undefined && explicit !== fromType) {
      throw fail(
        ctx,
        `map "${map.name}": ${what}_size ${explicit} conflicts with the ${what} type's size ${fromType}`,
        sec,
      );
    }
  }
  if (keySize !== undefined) map.keySize = keySize;
  if (valueSize !== undefined) map.valueSize = valueSize;
  if (valuesTarget !== undefined) {
    if (isMapInMap(map.type)) {
      if (depth > 0) throw fail(ctx, `map "${map.name}": map-in-map nesting deeper than one level`, sec);
      if (map.valueSize !== 0 && map.valueSize !== 4) {
        throw fail(ctx, `map "${map.name}": map-in-map value size must be 4, not ${map.valueSize}`, sec);
      }
      map.valueSize = 4;
      const inner = blankMap(`${map.name}.inner`, 'btf', sec, map.sectionOffset);
      parseBtfMapDef(ctx, btf, inner, valuesTarget, depth + 1);
      map.innerMap = inner;
    } else if (map.type === BPF_MAP_TYPE_PROG_ARRAY) {
      if (btf.resolve(valuesTarget).kind !== 'func_proto') {
        throw fail(ctx, `map "${map.name}": prog_array values must be function prototypes`, sec);
      }
      if (map.valueSize === 0) map.valueSize = 4;
    } else {
      throw fail(ctx, `map "${map.name}": "values" is only allowed in map-in-map and prog_array maps`, sec);
    }
  }
  return valuesByteOff === undefined ? {} : { valuesByteOff };
}

/** `.maps`: one map per variable of the `.maps` DATASEC. */
export function parseBtfMaps(ctx: MapContext, exec: ReadonlySet<number>): MapSpec[] {
  const sec = ctx.elf.section('.maps');
  if (!sec) return [];
  const btf = ctx.btf;
  if (!btf) throw fail(ctx, '.maps section needs BTF (.BTF section missing)', '.maps', sec.offset);
  const ds = btf.findByName('.maps', 'datasec')[0] as BtfDatasec | undefined;
  if (!ds) throw fail(ctx, 'BTF has no DATASEC for .maps', '.maps', sec.offset);
  const symByName = new Map<string, number>();
  for (const s of ctx.elf.symbols)
    if (s.shndx === sec.index && s.type !== STT_SECTION) symByName.set(s.name, s.value);
  const maps: MapSpec[] = [];
  const slots: ValuesSlot[] = [];
  for (const vi of ds.vars) {
    const v = btf.typeById(vi.type);
    if (v.kind !== 'var')
      throw fail(ctx, `.maps DATASEC entry ${vi.type} is a ${v.kind}, not a variable`, '.maps');
    const off = symByName.get(v.name) ?? vi.offset;
    if (off + vi.size > sec.size) {
      throw fail(
        ctx,
        `map "${v.name}" at offset ${off} (+${vi.size}) is outside .maps (${sec.size} bytes)`,
        '.maps',
      );
    }
    const map = blankMap(v.name, 'btf', '.maps', off);
    const { valuesByteOff } = parseBtfMapDef(ctx, btf, map, v.type, 0);
    maps.push(map);
    if (valuesByteOff !== undefined) slots.push({ map, byteOff: off + valuesByteOff, size: off + vi.size });
  }
  collectInitialValues(ctx, sec, slots, exec);
  return maps;
}

/** libbpf: bpf_object__collect_map_relos(): `.values = { [i] = &x }` in `.rel.maps`. */
function collectInitialValues(
  ctx: MapContext,
  sec: ElfSection,
  slots: ValuesSlot[],
  exec: ReadonlySet<number>,
): void {
  slots.sort((a, b) => a.byteOff - b.byteOff);
  const slotAt = (off: number): ValuesSlot | undefined => {
    let lo = 0;
    let hi = slots.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = slots[mid]!;
      if (off < s.byteOff) hi = mid - 1;
      else if (off >= s.size) lo = mid + 1;
      else return s;
    }
    return undefined;
  };
  for (const rs of ctx.elf.relocSections) {
    if (rs.target !== sec.index) continue;
    for (const r of rs.relocs) {
      const slot = slotAt(r.offset);
      if (!slot)
        throw fail(ctx, `relocation at .maps+${r.offset} is not inside a "values" array`, rs.section.name);
      if ((r.offset - slot.byteOff) % 8 !== 0) {
        throw fail(ctx, `relocation at .maps+${r.offset} is not pointer-aligned`, rs.section.name);
      }
      const index = (r.offset - slot.byteOff) / 8;
      if (index >= slot.map.maxEntries) {
        throw fail(
          ctx,
          `map "${slot.map.name}": initial value ${index} is past max_entries`,
          rs.section.name,
        );
      }
      const sym = ctx.elf.symbols[r.sym]!;
      let kind: 'map' | 'prog';
      if (sym.shndx === sec.index) kind = 'map';
      else if (exec.has(sym.shndx)) kind = 'prog';
      else
        throw fail(
          ctx,
          `map "${slot.map.name}": initial value ${index} names "${sym.name}", not a map or program`,
          rs.section.name,
        );
      if (kind === 'map' && !isMapInMap(slot.map.type)) {
        throw fail(ctx, `map "${slot.map.name}": only map-in-map maps can hold maps`, rs.section.name);
      }
      if (kind === 'prog' && slot.map.type !== BPF_MAP_TYPE_PROG_ARRAY) {
        throw fail(ctx, `map "${slot.map.name}": only prog_array maps can hold programs`, rs.section.name);
      }
      if (!slot.map.initialValues) slot.map.initialValues = [];
      slot.map.initialValues.push({ index, kind, name: sym.name });
    }
  }
}

/** Legacy `SEC("maps")`: equal-sized struct bpf_map_def records, one per symbol. */
export function parseLegacyMaps(ctx: MapContext): MapSpec[] {
  const sec = ctx.elf.section('maps');
  if (!sec || sec.type !== SHT_PROGBITS) return [];
  const syms = ctx.elf.symbols
    .filter((s) => s.shndx === sec.index && s.type !== STT_SECTION && s.name)
    .sort((a, b) => a.value - b.value);
  if (syms.length === 0) return [];
  if (sec.size % syms.length !== 0) {
    throw fail(
      ctx,
      `${sec.size} bytes do not divide into ${syms.length} map definitions`,
      'maps',
      sec.offset,
    );
  }
  const defSize = sec.size / syms.length;
  if (defSize < 16) throw fail(ctx, `map definition of ${defSize} bytes is too small`, 'maps', sec.offset);
  const data = ctx.elf.data(sec);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return syms.map((s) => {
    if (s.value + defSize > sec.size) {
      throw fail(
        ctx,
        `map "${s.name}" at offset ${s.value} runs past the section`,
        'maps',
        sec.offset + s.value,
      );
    }
    const map = blankMap(s.name, 'legacy', 'maps', s.value);
    const u32 = (i: number): number => (i * 4 + 4 <= defSize ? view.getUint32(s.value + i * 4, true) : 0);
    map.type = u32(0);
    map.typeName = mapTypeName(map.type);
    map.keySize = u32(1);
    map.valueSize = u32(2);
    map.maxEntries = u32(3);
    map.flags = u32(4);
    return map;
  });
}

export type DataKind = 'data' | 'rodata' | 'bss';

/** libbpf: which sections become global data maps (bpf_object__elf_collect). */
export function dataSectionKind(sec: ElfSection): DataKind | undefined {
  const n = sec.name;
  const is = (base: string): boolean => n === base || n.startsWith(`${base}.`);
  if (sec.type === SHT_PROGBITS && !(sec.flags & SHF_EXECINSTR)) {
    if (is('.data')) return 'data';
    if (is('.rodata')) return 'rodata';
  }
  if (sec.type === SHT_NOBITS && is('.bss')) return 'bss';
  return undefined;
}

/** One single-element array map per non-empty data section, in section order. */
export function parseDataMaps(ctx: MapContext): Map<number, MapSpec> {
  const out = new Map<number, MapSpec>();
  for (const sec of ctx.elf.sections) {
    const kind = dataSectionKind(sec);
    if (!kind || sec.size === 0) continue;
    if (sec.size > 0xffffffff)
      throw fail(ctx, `data section of ${sec.size} bytes is too large`, sec.name, sec.offset);
    const map = blankMap(internalMapName(ctx.objName, sec.name), kind, sec.name, 0);
    map.type = BPF_MAP_TYPE_ARRAY;
    map.typeName = mapTypeName(map.type);
    map.keySize = 4;
    map.valueSize = sec.size;
    map.maxEntries = 1;
    const ds = ctx.btf?.findByName(sec.name, 'datasec')[0] as BtfDatasec | undefined;
    if (ds) {
      map.valueTypeId = ds.id;
      // libbpf: map_is_mmapable(): some variable is global, so user space may see it.
      const btf = ctx.btf!;
      if (
        ds.vars.some(
          (v) =>
            btf.typeById(v.type).kind === 'var' &&
            (btf.typeById(v.type) as { linkage: string }).linkage === 'global',
        )
      ) {
        map.flags |= BPF_F_MMAPABLE;
      }
    }
    if (kind === 'rodata') {
      map.flags |= BPF_F_RDONLY_PROG;
      map.frozen = true;
    }
    if (kind !== 'bss') map.data = new Uint8Array(ctx.elf.data(sec));
    out.set(sec.index, map);
  }
  return out;
}

/** `.kconfig`: externs laid out as libbpf does (by alignment, then size, then name). */
export function layoutKconfig(
  ctx: MapContext,
  externs: ExternSpec[],
  aligns: Map<string, number>,
): MapSpec | undefined {
  const kcfg = externs.filter((e) => e.kind === 'kconfig');
  if (kcfg.length === 0) return undefined;
  kcfg.sort((a, b) => {
    const aa = aligns.get(a.name) ?? 1;
    const ab = aligns.get(b.name) ?? 1;
    if (aa !== ab) return ab - aa;
    if (a.size !== b.size) return a.size - b.size;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  let off = 0;
  for (const e of kcfg) {
    const align = aligns.get(e.name) ?? 1;
    off = Math.ceil(off / align) * align;
    e.offset = off;
    off += e.size;
  }
  const map = blankMap(internalMapName(ctx.objName, '.kconfig'), 'kconfig', '.kconfig', 0);
  map.type = BPF_MAP_TYPE_ARRAY;
  map.typeName = mapTypeName(map.type);
  map.keySize = 4;
  map.valueSize = Math.ceil(off / 8) * 8;
  map.maxEntries = 1;
  map.flags = BPF_F_RDONLY_PROG | BPF_F_MMAPABLE;
  map.frozen = true;
  const ds = ctx.btf?.findByName('.kconfig', 'datasec')[0];
  if (ds) map.valueTypeId = ds.id;
  return map;
}
