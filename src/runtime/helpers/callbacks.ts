// Helpers that call back into the program: bpf_loop, bpf_for_each_map_elem,
// bpf_user_ringbuf_drain, and the ones that
// switch or guard execution: bpf_tail_call, bpf_spin_lock/unlock.
import { markBpfLoop } from '../../jit/inline.ts';
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import type { VmMap } from '../../vm/maps.ts';
import { arenaMapAt } from '../../vm/maps.ts';
import type { LoadedProgram } from '../../vm/program.ts';
import { markResumesCallbacks } from '../../vm/sleep.ts';
import { E2BIG, EINVAL, type RuntimeEnv } from './env.ts';

export const BPF_FUNC_tail_call = 12;
export const BPF_FUNC_spin_lock = 93;
export const BPF_FUNC_spin_unlock = 94;
export const BPF_FUNC_for_each_map_elem = 164;
export const BPF_FUNC_loop = 181;
export const BPF_FUNC_user_ringbuf_drain = 209;

/** kernel: BPF_MAX_LOOPS, bpf_loop's nr_loops limit. */
export const BPF_MAX_LOOPS = 1 << 23;
/** kernel: BPF_MAP_TYPE_PROG_ARRAY */
const BPF_MAP_TYPE_PROG_ARRAY = 3;

/** Something a prog array slot can hold that the tail call can jump to. */
export interface TailCallTarget {
  readonly name: string;
  readonly loaded: LoadedProgram;
}

interface ProgArrayLike extends VmMap {
  getProg(index: number): { readonly name: string } | undefined;
}

const fnArg = { type: 'ARG_PTR_TO_FUNC' } as const;
const stackOrNull = { type: 'ARG_PTR_TO_STACK', flags: ['PTR_MAYBE_NULL'] } as const;
const anything = { type: 'ARG_ANYTHING' } as const;
const mapPtr = { type: 'ARG_CONST_MAP_PTR' } as const;

// kernel: bpf_loop_proto, bpf_for_each_map_elem_proto, bpf_tail_call_proto, bpf_spin_lock_proto
export const callbackProtos = {
  loop: { ret: 'RET_INTEGER', args: [anything, fnArg, stackOrNull, anything] },
  forEachMapElem: { ret: 'RET_INTEGER', args: [mapPtr, fnArg, stackOrNull, anything] },
  userRingbufDrain: { ret: 'RET_INTEGER', args: [mapPtr, fnArg, stackOrNull, anything] },
  tailCall: { ret: 'RET_VOID', args: [{ type: 'ARG_PTR_TO_CTX' }, mapPtr, anything] },
  spinLock: { ret: 'RET_VOID', args: [{ type: 'ARG_PTR_TO_SPIN_LOCK' }] },
} as const satisfies Record<string, FuncProto>;

export function mapArg(env: RuntimeEnv, ctx: HelperCtx, n: number): VmMap {
  const ptr = ctx.argLo(n) >>> 0;
  const m = ctx.argHi(n) === 0 ? (env.vm.mapAt(ptr) ?? arenaMapAt(ctx.arena, ptr)) : undefined;
  if (!m) return ctx.fault('helper', `r${n} is not a map pointer (0x${ptr.toString(16)})`);
  return m;
}

export function registerCallbackHelpers(t: HelperTable, env: RuntimeEnv): void {
  // kernel: bpf_loop() in kernel/bpf/bpf_iter.c
  t.register({
    id: BPF_FUNC_loop,
    name: 'bpf_loop',
    proto: callbackProtos.loop,
    // The JIT compiles calls with a known, helper-free callback in place (src/jit/inline.ts).
    // A callback may sleep in a sleepable program: the loop goes on from its index on resume.
    impl: markResumesCallbacks(
      markBpfLoop((ctx, nrLoops, _fn, cbCtx) => {
        if (ctx.arg64(4) !== 0n) return -EINVAL;
        if (nrLoops > BPF_MAX_LOOPS) return -E2BIG;
        const { prog, pc } = env.funcs.arg(ctx, 2);
        const vm = env.vm;
        const resumed = vm.takeCallbackResume();
        let i = 0;
        if (resumed !== undefined) {
          i = resumed.cont;
          const r = vm.resumeCallback(resumed);
          if (r.lo !== 0 || r.hi !== 0) return i + 1;
          i++;
        }
        for (; i < nrLoops; i++) {
          const r = vm.callFunctionResumable(i, prog, pc, i, cbCtx);
          if (r.lo !== 0 || r.hi !== 0) return i + 1;
        }
        return nrLoops;
      }),
    ),
  });

  // kernel: bpf_for_each_map_elem() + map_ops->map_for_each_callback
  t.register({
    id: BPF_FUNC_for_each_map_elem,
    name: 'bpf_for_each_map_elem',
    proto: callbackProtos.forEachMapElem,
    // A callback may sleep: on resume the walk skips the elements it had passed (by position,
    // so an element added or deleted meanwhile shifts it, as a hash map walk may in the kernel).
    impl: markResumesCallbacks((ctx, mapPtrArg, _fn, cbCtx) => {
      const m = mapArg(env, ctx, 1);
      if (ctx.arg64(4) !== 0n) return -EINVAL;
      if (!m.forEach) return -EINVAL;
      const { prog, pc } = env.funcs.arg(ctx, 2);
      const vm = env.vm;
      const resumed = vm.takeCallbackResume();
      let pos = 0;
      return m.forEach(ctx.cpu, (key, value) => {
        const k = pos++;
        if (resumed !== undefined && k < resumed.cont) return 0;
        const r =
          resumed !== undefined && k === resumed.cont
            ? vm.resumeCallback(resumed)
            : vm.callFunctionResumable(k, prog, pc, mapPtrArg, key, value, cbCtx);
        return r.lo !== 0 || r.hi !== 0 ? 1 : 0;
      });
    }),
  });

  // kernel: bpf_user_ringbuf_drain(): each sample to the callback as a `struct bpf_dynptr *`
  t.register({
    id: BPF_FUNC_user_ringbuf_drain,
    name: 'bpf_user_ringbuf_drain',
    proto: callbackProtos.userRingbufDrain,
    impl: (ctx, _m, _fn, cbCtx) => {
      const m = mapArg(env, ctx, 1);
      if (!m.userRingbufDrain) return ctx.fault('helper', `map ${m.name} is not a user ring buffer`);
      const { prog, pc } = env.funcs.arg(ctx, 2);
      return m.userRingbufDrain((dynptr) => {
        const r = env.vm.callFunction(prog, pc, dynptr, cbCtx);
        return r.lo | r.hi;
      }, ctx.arg64(4));
    },
  });

  // kernel: bpf_tail_call() — on success the helper never returns; on failure the program
  // goes on with r0 as it was (the interpreter's JMP_TAIL_CALL does not write r0).
  t.register({
    id: BPF_FUNC_tail_call,
    name: 'bpf_tail_call',
    proto: callbackProtos.tailCall,
    impl: (ctx, _c, _m, index) => {
      const m = mapArg(env, ctx, 2);
      if (m.type !== BPF_MAP_TYPE_PROG_ARRAY || !('getProg' in m))
        return ctx.fault('helper', `bpf_tail_call: map ${m.name} is not a prog array`);
      const ref = (m as ProgArrayLike).getProg(index);
      const target = ref && 'loaded' in ref ? (ref as TailCallTarget).loaded : undefined;
      if (target) env.vm.tailCall(target);
      return ctx.arg64(0);
    },
  });

  // kernel: bpf_spin_lock() — programs run one at a time here, so a lock that is already held
  // can never be released: the kernel would spin forever; tsbpf stops with a fault instead.
  t.register({
    id: BPF_FUNC_spin_lock,
    name: 'bpf_spin_lock',
    proto: callbackProtos.spinLock,
    impl: (ctx, lock) => {
      if (!ctx.arena.check(lock, 4, true))
        ctx.fault('helper', `bpf_spin_lock: 0x${lock.toString(16)} not writable`);
      const dv = ctx.arena.dv;
      if (dv.getUint32(lock, true) !== 0) ctx.fault('deadlock', 'bpf_spin_lock: lock already held');
      dv.setUint32(lock, 1, true);
      return 0;
    },
  });
  t.register({
    id: BPF_FUNC_spin_unlock,
    name: 'bpf_spin_unlock',
    proto: callbackProtos.spinLock,
    impl: (ctx, lock) => {
      if (!ctx.arena.check(lock, 4, true))
        ctx.fault('helper', `bpf_spin_unlock: 0x${lock.toString(16)} not writable`);
      ctx.arena.dv.setUint32(lock, 0, true);
      return 0;
    },
  });
}
