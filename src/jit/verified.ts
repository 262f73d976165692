// What the verifier proved about a program's memory accesses. For an accepted program, every
// load and store through a stack, packet, map value or other memory pointer stays inside it
// (stack offsets, packet ranges against data_end, value sizes), so checked mode compiles those
// without the run-time region check. Accesses through the context keep it: the runtime may run a
// program with no context or a short one (the kernel always passes a full one), which the
// verifier cannot know. kernel: the JIT trusts do_check() for the same accesses.
import type { LoadedProgram } from '../vm/program.ts';

/** Pointer types whose accesses the verifier bounds by memory the runtime always allocates. */
const PROVEN_TYPES = new Set([
  'PTR_TO_STACK',
  'PTR_TO_PACKET',
  'PTR_TO_PACKET_META',
  'PTR_TO_MAP_VALUE',
  'PTR_TO_MAP_KEY',
  'PTR_TO_MEM',
]);

const proven = new WeakMap<LoadedProgram, Uint8Array>();
const ctxEnds = new WeakMap<LoadedProgram, number>();

/**
 * For the loader that ran the verifier on exactly these instructions and it accepted:
 * `ptrTypes` is VerifyResult.ptrTypes (kernel: insn_aux_data.ptr_type, one per instruction).
 */
export function markVerified(
  prog: LoadedProgram,
  ptrTypes: readonly (string | undefined)[],
  maxCtxOffset = 0,
): void {
  ctxEnds.set(prog, maxCtxOffset);
  const ok = new Uint8Array(prog.len);
  for (let i = 0; i < prog.len && i < ptrTypes.length; i++) {
    const t = ptrTypes[i];
    if (t !== undefined && PROVEN_TYPES.has(t)) ok[i] = 1;
  }
  proven.set(prog, ok);
}

export function isVerified(prog: LoadedProgram): boolean {
  return proven.has(prog);
}

/** Per slot: 1 where the verifier proved the access in bounds, or undefined if not verified. */
export function provenAccesses(prog: LoadedProgram): Uint8Array | undefined {
  return proven.get(prog);
}

/**
 * The end of the furthest ctx byte the verifier saw accessed (VerifyResult.maxCtxOffset), or
 * undefined if not verified. Test runs of syscall and raw tracepoint programs refuse a shorter
 * ctx, as the kernel does, so the accesses proven above hold for the ctx too.
 */
export function verifiedMaxCtxOffset(prog: LoadedProgram): number | undefined {
  return ctxEnds.get(prog);
}
