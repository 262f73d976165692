// Every helper the runtime adds to a VM's table (the VM brings the base, map and packet ones).
import type { HelperTable } from '../../vm/helpers.ts';
import { registerCallbackHelpers } from './callbacks.ts';
import { registerCorePoison } from './core-poison.ts';
import type { RuntimeEnv } from './env.ts';
import { registerKptrHelpers } from './kptr.ts';
import { registerNetHelpers } from './net.ts';
import { registerStringHelpers } from './strings.ts';
import { registerTaskHelpers } from './task.ts';
import { registerTaskBtfHelper } from './task-btf.ts';
import { registerTimerHelpers, type TimerTable } from './timers.ts';
import { registerSeqHelpers } from '../iter/seq-helpers.ts';

export function registerRuntimeHelpers(t: HelperTable, env: RuntimeEnv, timers: TimerTable): void {
  registerCallbackHelpers(t, env);
  registerTimerHelpers(t, env, timers);
  registerNetHelpers(t, env);
  registerTaskHelpers(t, env);
  registerTaskBtfHelper(t, env);
  registerKptrHelpers(t);
  registerStringHelpers(t);
  registerSeqHelpers(t, env); // bpf_seq_printf/write for iterators (src/runtime/iter)
  registerCorePoison(t);
}

export type { HostInfo, HostMemory, RedirectAction, RuntimeEnv } from './env.ts';
export { FuncRegistry, type FuncTarget } from './func-ptr.ts';
export { TimerTable } from './timers.ts';
export { BPF_MAX_LOOPS } from './callbacks.ts';
export { csumDiff, csumReplace } from './net.ts';
export { strtoull } from './strings.ts';
