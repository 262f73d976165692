// Public API of the virtual machine.
export {
  Arena,
  type ArenaOptions,
  type AllocOptions,
  GUARD_SIZE,
  type Region,
  type RegionKind,
} from './arena.ts';
export {
  type ArgSpec,
  type ArgType,
  baseHelpers,
  type FuncProto,
  type Helper,
  type HelperCtx,
  type HelperImpl,
  HelperTable,
  type RetType,
  type TypeFlag,
} from './helpers.ts';
export { interpret, type Machine, MAX_CALL_FRAMES, type PacketWindow } from './interp.ts';
export { MAX_TAIL_CALL_CNT } from './machine.ts';
export { type LddwResolver, type LoadedProgram, loadProgram } from './program.ts';
export {
  CALLBACK_LEVELS,
  DEFAULT_BUDGET,
  type Engine,
  RunResult,
  type RunOptions,
  STACK_FRAMES,
  Vm,
  type VmOptions,
} from './vm.ts';
export { ArrayMap, type ArrayMapSpec } from './array-map.ts';
export { registerMapHelpers, type VmMap } from './maps.ts';
export * as ctxLayout from './ctx-layout.ts';
export { type PacketCtx, registerPacketHelpers } from './packet-helpers.ts';
