export { Btf, type MemberLocation } from './btf.ts';
export {
  applyCoreRelos,
  type CoreReloResult,
  essentialName,
  POISON_HELPER,
  resolveCoreRelo,
} from './core.ts';
export {
  type BtfExt,
  CORE_RELO_KINDS,
  type CoreRelo,
  type CoreReloKind,
  type ExtSection,
  type FuncInfo,
  type LineInfo,
  lineInfoAt,
  parseBtfExt,
} from './ext-info.ts';
export { formatBtf } from './format-c.ts';
export { type BtfJsonType, btfToJson, btfTypeToJson } from './format-json.ts';
export * from './types.ts';
export { parseBtf } from './unmarshal.ts';
