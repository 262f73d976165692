// The range R0 must be in when the main program exits, for the program types whose caller
// reads the value (kernel: check_return_code(), the switch over the program type in 6.18):
// fentry/fexit return 0 (the trampoline ignores it, so anything else is a mistake), iterators
// 0 or 1, lsm programs what their hook may return — [-MAX_ERRNO, 0] for hooks returning an
// errno, [0, 1] for the few boolean ones (kernel: bpf_lsm_get_retval_range()), anything for
// void hooks — compared in 32 bits since hooks return int. fmod_ret and tp_btf programs may
// return anything.
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import { markRegPrecise } from '../precision.ts';
import type { RegState } from '../reg.ts';
import { regTypeStr } from '../reg.ts';
import { attachProto } from './attach-proto.ts';
import { checkRetval, rejectRetval } from './call.ts';
import { isBoolLsmHook } from './lsm-hooks.ts';

/** kernel: MAX_ERRNO */
const MAX_ERRNO = 4095;

interface RetvalRange {
  min: number;
  max: number;
  /** kernel: return_32bit — the lower 32 bits are the value the hook returns */
  bits32: boolean;
}

/** The range the program type enforces, or undefined when any value may be returned. */
function retvalRange(env: VerifierEnv): RetvalRange | undefined {
  if (env.progType === 'tracing') {
    switch (env.attachType) {
      case 'trace_fentry':
      case 'trace_fexit':
        return { min: 0, max: 0, bits32: false };
      case 'trace_iter':
        return { min: 0, max: 1, bits32: false };
      default:
        return undefined; // tp_btf (BPF_TRACE_RAW_TP) and fmod_ret: any value
    }
  }
  return lsmRetvalRange(env);
}

/**
 * kernel: get_func_retval_range(): what an lsm_mac program's hook may return, undefined for a
 * void hook. Without the hook's prototype tsbpf cannot tell void from int hooks: no range.
 */
export function lsmRetvalRange(env: VerifierEnv): RetvalRange | undefined {
  if (env.progType !== 'lsm' || env.attachType !== 'lsm_mac') return undefined;
  const p = attachProto(env);
  if (!p || p.ret === 0) return undefined;
  return isBoolLsmHook(env.attachTo ?? '')
    ? { min: 0, max: 1, bits32: true }
    : { min: -MAX_ERRNO, max: 0, bits32: true };
}

/** kernel: check_return_code() for the main program's exit (R0 already checked readable). */
export function checkProgReturnCode(env: VerifierEnv, r0: RegState): void {
  const range = retvalRange(env);
  if (!range) return;
  if (r0.type !== 'SCALAR_VALUE')
    reject(`At program exit the register R0 is not a known value (${regTypeStr(r0)})`);
  markRegPrecise(env, 0);
  // kernel: retval_range_within(); the message still shows the 64-bit bounds
  if (!range.bits32) checkRetval(r0, 'At program exit', range.min, range.max);
  else if (r0.s.s32min < range.min || r0.s.s32max > range.max)
    rejectRetval(r0, 'At program exit', range.min, range.max);
}
