export {
  CAPABILITIES,
  type Capability,
  type CtxField,
  compareVersions,
  type FeatureSince,
  HELPERS,
  type HelperFeature,
  hasFeature,
  KERNEL_VERSIONS,
  type KernelVersion,
  LIMITS,
  MAP_FLAGS_SINCE,
  MAP_TYPES_SINCE,
  PROG_TYPES_SINCE,
  type ProfiledVersion,
  SK_BUFF_FIELDS,
  XDP_MD_FIELDS,
} from './features.ts';
export {
  ctxFieldAt,
  helperFeature,
  helperForProgType,
  type InsnFeature,
  insnFeature,
  type KernelProfile,
  kernelProfile,
} from './profile.ts';
export {
  externRequirements,
  firstBackEdge,
  mapRequirements,
  programRequirements,
  type Requirement,
  type ScanResult,
  scanObject,
  scanProgram,
  type VersionVerdict,
  verdictsFor,
} from './scan.ts';
export { KFUNCS, KFUNCS_SOURCE } from './kfuncs.ts';
export { PROG_HELPERS, PROG_HELPERS_SOURCE, type ProgHelperEntry } from './prog-helpers.ts';
export {
  firstReason,
  type KernelReason,
  type KernelTarget,
  type KernelVerdict,
  type KernelVerdictOptions,
  kernelVerdicts,
  objectKernelVerdicts,
} from './verdicts.ts';
