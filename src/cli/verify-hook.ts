// Where `tsbpf run` asks the verifier before running a program, as BPF_PROG_LOAD would.
import type { FuncInfo, LineInfo } from '../btf/ext-info.ts';
import { TsbpfError, type TsbpfErrorJSON } from '../errors.ts';
import type { Insn } from '../isa/insn.ts';
import { type MapInfo, verify } from '../verifier/index.ts';
import { KFUNC_NAMES } from '../runtime/kfunc-calls.ts';
import type { VerifyBtfFields } from '../runtime/verify-btf.ts';

export interface VerifyRequest {
  insns: readonly Insn[];
  /** Program type name as the kernel spells it ('xdp', 'socket_filter', ...). */
  progType: string;
  maps: readonly MapInfo[];
  file: string;
  prog?: string;
  funcInfo?: readonly FuncInfo[];
  lineInfo?: readonly LineInfo[];
  /** kernel: BPF_COMPLEXITY_LIMIT_INSNS (1M) unless lowered. */
  insnLimit?: number;
  /** BTF and attach fields (src/runtime/verify-btf.ts). */
  btfFields?: VerifyBtfFields;
  /** BPF_F_SLEEPABLE (`.s` sections); the verifier's default otherwise (syscall programs). */
  sleepable?: boolean;
}

export type VerifyOutcome =
  | { status: 'accepted'; insnsProcessed: number }
  | { status: 'rejected'; error: TsbpfError; log: string[] };

/** A program the verifier refused. CLI exit code 1. */
export class VerifierRejection extends TsbpfError {
  constructor(
    message: string,
    where: TsbpfError['where'],
    readonly log: string[],
  ) {
    super('VERIFY', message, { where });
  }

  /** `run --json` errors carry the kernel-format verifier log. */
  override toJSON(): TsbpfErrorJSON & { log: string[] } {
    return { ...super.toJSON(), log: this.log };
  }
}

export function verifyForRun(req: VerifyRequest): VerifyOutcome {
  const res = verify(
    {
      insns: req.insns,
      progType: req.progType,
      maps: req.maps,
      // the kfuncs the runtime implements, under the ids its loader gave their calls
      kfuncs: KFUNC_NAMES,
      ...(req.sleepable !== undefined ? { sleepable: req.sleepable } : {}),
      ...(req.funcInfo ? { funcInfo: req.funcInfo } : {}),
      ...(req.lineInfo ? { lineInfo: req.lineInfo } : {}),
      ...req.btfFields,
    },
    { logLevel: 1, ...(req.insnLimit !== undefined ? { insnLimit: req.insnLimit } : {}) },
  );
  if (res.verdict === 'accept') return { status: 'accepted', insnsProcessed: res.insnsProcessed };
  const e = res.error;
  const where = {
    file: req.file,
    ...(req.prog ? { prog: req.prog } : {}),
    ...(e ? { insnIdx: e.insnIdx } : {}),
  };
  const src = e?.line ? ` at ${e.line.file}:${e.line.line} "${e.line.text}"` : '';
  const msg = e
    ? `verifier rejected the program${src}: ${e.message} (${e.hint}; --no-verify runs it anyway)`
    : 'verifier rejected the program';
  return { status: 'rejected', error: new VerifierRejection(msg, where, res.log), log: res.log };
}
