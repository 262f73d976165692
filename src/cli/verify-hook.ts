// Where `tsbpf run` asks the verifier before running a program.
//
// TODO(verifier): src/verifier has no public `verify` yet. When it lands, call it here and
// return { status: 'rejected', error } for a refused program (run exits 1 unless --no-verify).
// Until then every program runs unverified and `run --json` reports "verified": false.
import type { TsbpfError } from '../errors.ts';
import type { Insn } from '../isa/insn.ts';
import type { CliMapSpec } from './map-spec.ts';

export interface VerifyRequest {
  insns: readonly Insn[];
  /** Program type name as the kernel spells it ('xdp', 'socket_filter', ...). */
  progType: string;
  maps: readonly CliMapSpec[];
  file: string;
  prog?: string;
}

export type VerifyOutcome =
  | { status: 'accepted' }
  | { status: 'rejected'; error: TsbpfError }
  | { status: 'unavailable'; reason: string };

export function verifyForRun(_req: VerifyRequest): VerifyOutcome {
  return { status: 'unavailable', reason: 'the verifier is not built yet' };
}
