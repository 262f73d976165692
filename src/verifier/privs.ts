// What a loader's capabilities change in verification (kernel: bpf_prog_load()'s capability
// checks, env->allow_ptr_leaks, env->allow_uninit_stack, env->bypass_spec_v1). Root has them all;
// `perfmon: false` is CAP_BPF without CAP_PERFMON, `unprivileged` is neither.
import type { VerifierEnv } from './env.ts';
import { reject } from './env.ts';
import type { RegState } from './reg.ts';
import { notInit, unknownScalar } from './reg.ts';

// kernel: is_perfmon_prog_type()
const PERFMON_PROG_TYPES = new Set([
  'kprobe',
  'tracepoint',
  'perf_event',
  'raw_tracepoint',
  'raw_tracepoint_writable',
  'tracing',
  'lsm',
  'struct_ops',
  'ext',
]);

// kernel: bpf_prog_load(): the only types a loader without CAP_BPF may load
const UNPRIVILEGED_PROG_TYPES = new Set(['socket_filter', 'cgroup_skb']);

/** bpf() refuses these loads with EPERM before the verifier runs (kernel: bpf_prog_load()). */
export function checkProgTypeCaps(env: VerifierEnv): void {
  const t = env.progType;
  if (env.opts.unprivileged && !UNPRIVILEGED_PROG_TYPES.has(t))
    reject(`a ${t} program needs CAP_BPF: bpf(BPF_PROG_LOAD) fails with EPERM before verification`);
  if (!env.opts.perfmon && PERFMON_PROG_TYPES.has(t))
    reject(`a ${t} program needs CAP_PERFMON: bpf(BPF_PROG_LOAD) fails with EPERM before verification`);
}

/** A pointer the loader may not see as a number (kernel: is_pointer_value() with allow_ptr_leaks). */
export const isPointerValue = (env: VerifierEnv, reg: RegState): boolean =>
  !env.opts.perfmon && reg.type !== 'SCALAR_VALUE';

/** kernel: env->allow_ptr_leaks */
export const allowPtrLeaks = (env: VerifierEnv): boolean => env.opts.perfmon;
/** kernel: env->allow_uninit_stack */
export const allowUninitStack = (env: VerifierEnv): boolean => env.opts.perfmon;
/** kernel: env->bypass_spec_v1 (this kernel boots with mitigations on, so CAP_PERFMON decides) */
export const bypassSpecV1 = (env: VerifierEnv): boolean => env.opts.perfmon;

/**
 * What a pointer that became invalid (a stale packet pointer, a released reference) turns into:
 * an unknown number for root, unreadable otherwise (kernel: mark_reg_invalid()).
 */
export const invalidReg = (env: VerifierEnv): RegState => (allowPtrLeaks(env) ? unknownScalar() : notInit());
