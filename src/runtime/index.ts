// Public API of the runtime: live collections, the event loop, attach points, test runs.
export {
  Collection,
  type CollectionOptions,
  type Engine,
  newCollection,
  Program,
} from './collection.ts';
export { type ClockMode, EventLoop, type EventLoopOptions, type ScheduledEvent } from './event-loop.ts';
export type { GlobalValue } from './globals.ts';
export type { HostInfo, HostMemory, RedirectAction } from './helpers/env.ts';
export { BPF_MAX_LOOPS } from './helpers/callbacks.ts';
export { KFUNC_IDS } from './helpers/kfuncs.ts';
export type { ProgramRunOptions, ProgramRunResult } from './run.ts';
export { testRun, type TestRunOptions, type TestRunProgType, type TestRunResult } from './test-run.ts';
export * from './attach/index.ts';
