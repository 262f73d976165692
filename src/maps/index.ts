// Public API of the maps module.
export { ArrayMap, IndexedMap } from './array.ts';
export { BloomFilterMap } from './bloom-filter.ts';
export {
  type CollectionMapSpec,
  createMap,
  createMaps,
  mapCreateCheck,
  SUPPORTED_MAP_TYPES,
} from './create.ts';
export { errnoName, MapError } from './errno.ts';
export {
  type PerfBuffer,
  PerfEventArrayMap,
  type PerfRecord,
  ProgArrayMap,
  type ProgRef,
  progId,
} from './fd-array.ts';
export * as mapFlags from './flags.ts';
export { HashMap } from './hash.ts';
export { LpmTrieMap } from './lpm-trie.ts';
export { type BatchResult, BpfMap, type MapInfo, mapById, pinnedMap } from './map.ts';
export { MapInMap } from './map-in-map.ts';
export { QueueStackMap } from './queue-stack.ts';
export { RingbufMap } from './ringbuf.ts';
export { UserRingbufMap } from './user-ringbuf.ts';
export type { CreateMapOptions, MapCreateSpec } from './spec.ts';
export { mapFuncCompatible, mapSupportsForEach } from './compat.ts';
export { type BtfValue, btfValue, btfValueToJson, formatEntry, formatMapDump } from './format.ts';
