// Programs the verifier accepted. It proved every load and store of such a program in bounds
// (stack offsets, packet ranges against data_end, map value and ctx sizes), so checked mode
// compiles them without the run-time region checks it keeps for unverified code; the budget
// and every other check stay. kernel: the JIT trusts do_check() the same way.
import type { LoadedProgram } from '../vm/program.ts';

const verified = new WeakSet<LoadedProgram>();

/** For the loader that ran the verifier on exactly these instructions and it said accept. */
export function markVerified(prog: LoadedProgram): void {
  verified.add(prog);
}

export function isVerified(prog: LoadedProgram): boolean {
  return verified.has(prog);
}
