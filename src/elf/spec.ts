// The parsed, inert description of an object file: programs, maps, externs. Nothing here owns
// memory or file descriptors; `newCollection(spec)` (elsewhere) makes it live.
import type { Btf } from '../btf/btf.ts';
import type { CoreRelo, FuncInfo, LineInfo } from '../btf/ext-info.ts';
import type { Insn } from '../isa/insn.ts';
import type { AttachType, ProgType } from './sections.ts';

/** Where a map definition came from. */
export type MapOrigin = 'btf' | 'legacy' | 'data' | 'rodata' | 'bss' | 'kconfig';

export interface MapSpec {
  /** libbpf's name: the variable for `.maps`/`maps`, `<obj>.data`-style for global data (≤ 15 chars). */
  name: string;
  /** kernel: enum bpf_map_type value. */
  type: number;
  /** Lower-case name of the type without BPF_MAP_TYPE_ ('hash', 'array', ...), or 'unknown(N)'. */
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode: number;
  /** LIBBPF_PIN_NONE = 0, LIBBPF_PIN_BY_NAME = 1. */
  pinning: number;
  mapExtra: number;
  /** BTF ids of the key and value types (0 when unknown). */
  keyTypeId: number;
  valueTypeId: number;
  origin: MapOrigin;
  /** ELF section and byte offset of the definition (for data maps: offset 0). */
  section: string;
  sectionOffset: number;
  /** Initial value bytes of a global data map (absent for .bss/.kconfig: all zero). */
  data?: Uint8Array;
  /** .rodata/.kconfig maps are frozen once initialised (BPF_F_RDONLY_PROG + freeze). */
  frozen: boolean;
  /** Map-in-map: the inner map template. */
  innerMap?: MapSpec;
  /** `values = { [i] = &x }` initialisers: the map or program named at each slot. */
  initialValues?: { index: number; kind: 'map' | 'prog'; name: string }[];
}

/** How an instruction of a program refers to something outside it. */
export type ProgReloc =
  /** lddw of a map: becomes src=PSEUDO_MAP_FD. */
  | { kind: 'map'; insnIdx: number; map: string }
  /** lddw of global data: becomes src=PSEUDO_MAP_VALUE with the byte offset into the map value. */
  | { kind: 'data'; insnIdx: number; map: string; offset: number; symbol: string }
  /** bpf-to-bpf call (src=PSEUDO_CALL). */
  | { kind: 'call'; insnIdx: number; target: FuncRef }
  /** lddw of a function address (src=PSEUDO_FUNC), e.g. a bpf_loop callback. */
  | { kind: 'func'; insnIdx: number; target: FuncRef }
  /** Something we cannot link; raised only when the program is linked. */
  | { kind: 'unsupported'; insnIdx: number; symbol: string; reason: string };

/** A function in an executable section: section name and slot index inside it. */
export interface FuncRef {
  section: string;
  insnIdx: number;
  /** Symbol name of the function at that address, if one starts there. */
  name?: string;
}

export interface ProgramSpec {
  /** Function symbol name. */
  name: string;
  /** ELF section ("xdp", "tp/syscalls/sys_enter_openat", ".text"). */
  section: string;
  /** First slot of the function inside its section. */
  insnOff: number;
  progType: ProgType;
  attachType?: AttachType;
  /** What follows the first '/' in the section name. */
  attachTo?: string;
  sleepable: boolean;
  xdpFrags: boolean;
  /** True for functions in `.text` (callable, not loadable on their own). */
  isSubprog: boolean;
  /** Set when the section name is not in libbpf's table; loading must fail with this message. */
  unknownSection?: string;
  global: boolean;
  /** False for `SEC("?name")`: listed, but libbpf does not load it unless asked. */
  autoload: boolean;
  insns: Insn[];
  /** insnIdx is relative to this program's first slot. */
  relocs: ProgReloc[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  coreRelos: CoreRelo[];
  /** BTF FUNC id from func_info at insn 0, if any. */
  btfFuncId?: number;
}

export interface ExternSpec {
  name: string;
  kind: 'kconfig' | 'ksym';
  weak: boolean;
  /** BTF VAR (or FUNC for kfuncs) id, 0 if the object has no BTF for it. */
  typeId: number;
  /** kconfig only: size and offset inside the `.kconfig` map value. */
  size: number;
  offset: number;
}

export interface CollectionSpec {
  file: string;
  /** libbpf's object name: the file's basename up to its first '.'. */
  objName: string;
  /** Entry programs (functions in non-.text executable sections), in section then address order. */
  programs: ProgramSpec[];
  /** Functions in `.text`. */
  subprograms: ProgramSpec[];
  /** In libbpf order: `maps`/`.maps` definitions, then global data, then `.kconfig`. */
  maps: MapSpec[];
  externs: ExternSpec[];
  license: string;
  kernelVersion: number;
  btf?: Btf;
  /**
   * Parts of the object tsbpf reads but cannot load (`.struct_ops` variables): listed by
   * `obj show`, refused by newCollection with an error naming the section and symbol.
   */
  unsupported?: { section: string; symbol: string; reason: string }[];
}

/** A deep copy that callers may modify (e.g. set map sizes) without touching the original; BTF is shared (immutable). */
export function copyCollectionSpec(spec: CollectionSpec): CollectionSpec {
  const { btf, ...rest } = spec;
  const copy = structuredClone(rest) as CollectionSpec;
  if (btf) copy.btf = btf;
  return copy;
}

/** A JSON-friendly copy: data bytes as hex, BTF as its type count. */
export function collectionSpecToJSON(spec: CollectionSpec): unknown {
  return JSON.parse(
    JSON.stringify({ ...spec, btf: spec.btf ? { types: spec.btf.count } : undefined }, (_k, v: unknown) => {
      if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('');
      if (typeof v === 'bigint') return v.toString();
      return v;
    }),
  );
}
