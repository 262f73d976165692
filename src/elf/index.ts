export { type LoadOptions, loadCollectionSpec, objNameOf } from './collection-spec.ts';
export { kbpfMapArgs, type LinkedProgram, type LinkOptions, linkProgram } from './link.ts';
export { MAP_TYPES, mapTypeName } from './map-types.ts';
export { internalMapName } from './maps.ts';
export {
  EM_BPF,
  type ElfHeader,
  ElfFile,
  type ElfReloc,
  type ElfRelocSection,
  type ElfSection,
  type ElfSymbol,
  readElf,
} from './reader.ts';
export {
  ATTACH_TYPES,
  type AttachType,
  classifySection,
  PROG_TYPES,
  type ProgType,
  SEC_DEFS,
  type SecDef,
  type SectionKind,
} from './sections.ts';
export {
  type CollectionSpec,
  collectionSpecToJSON,
  copyCollectionSpec,
  type ExternSpec,
  type FuncRef,
  type MapOrigin,
  type MapSpec,
  type ProgramSpec,
  type ProgReloc,
} from './spec.ts';
