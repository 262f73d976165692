// "Will it load on kernel X?" for every release asked: the static feature scan (what the object
// needs that X lacks) together with the verifier run as X ran it (verify(..., { kernel: X })).
// Used by `tsbpf verify --kernel`, scripts/kernel-table.ts and the playground.
import { type CollectionSpec, type LinkedProgram, linkProgram } from '../elf/index.ts';
import { TsbpfError } from '../errors.ts';
import { linkedVerifyProgram } from '../runtime/verify-btf.ts';
import { isLoadStageMessage, kernelWording, profileKey } from '../verifier/profile.ts';
import { type VerifyProgram, type VerifyResult, verify } from '../verifier/index.ts';
import { kernelProfile } from './profile.ts';
import { type ScanResult, scanObject } from './scan.ts';

/** One program to verify; `name` is unset for a raw program. */
export interface KernelTarget {
  name: string | undefined;
  req: VerifyProgram;
}

export interface KernelReason {
  /** "bpf_loop (helper 181) at insn 7 of loop_primes needs 5.17", "loop_primes: invalid func unknown#181". */
  text: string;
  /** 'scan': a feature the release lacks; 'verifier': that release's verifier rejects. */
  from: 'scan' | 'verifier';
  program?: string;
  insnIdx?: number;
  needs?: string;
}

export interface KernelVerdict {
  version: string;
  /** blocked: the release lacks a feature; rejected: only its verifier refuses the program. */
  verdict: 'ok' | 'blocked' | 'rejected';
  maxProcessedInsns: number;
  /** The verifier's rejections first (each program's first error), then every missing feature. */
  reasons: KernelReason[];
  programs: { name: string | undefined; res: VerifyResult }[];
}

export interface KernelVerdictOptions {
  logLevel?: number;
  unprivileged?: boolean;
}

/**
 * The verdict of each release. Releases that cannot change a program's verification (same
 * profileKey) share one verifier run.
 */
export function kernelVerdicts(
  targets: readonly KernelTarget[],
  scanned: ScanResult,
  versions: readonly string[],
  opts: KernelVerdictOptions = {},
): KernelVerdict[] {
  const cache = targets.map(() => new Map<string, VerifyResult>());
  return versions.map((version) => {
    const profile = kernelProfile(version);
    const programs = targets.map((t, i) => {
      const key = profileKey(t.req.insns, t.req.progType, t.req.maps ?? [], profile);
      let res = cache[i]!.get(key);
      if (!res) {
        res = verify(t.req, {
          logLevel: opts.logLevel ?? 1,
          unprivileged: opts.unprivileged ?? false,
          kernel: profile,
        });
        cache[i]!.set(key, res);
      }
      if (res.error) {
        const message = kernelWording(res.error.message, profile);
        if (message !== res.error.message) res = { ...res, error: { ...res.error, message } };
      }
      return { name: t.name, res };
    });
    const rejections: KernelReason[] = programs
      .filter((o) => o.res.verdict !== 'accept')
      .map((o) => {
        const e = o.res.error;
        const at = e && !isLoadStageMessage(e.message) ? e.insnIdx : undefined;
        return {
          text: `${o.name !== undefined ? `${o.name}: ` : ''}${e?.message ?? 'rejected'}${at !== undefined ? ` (insn ${at})` : ''}`,
          from: 'verifier',
          ...(o.name !== undefined ? { program: o.name } : {}),
          ...(at !== undefined ? { insnIdx: at } : {}),
        };
      });
    const missing: KernelReason[] = (scanned.verdicts[version]?.reasons ?? []).map((r) => ({
      text: r.text,
      from: 'scan',
      needs: r.needs,
      ...(r.program !== undefined ? { program: r.program } : {}),
      ...(r.insnIdx !== undefined ? { insnIdx: r.insnIdx } : {}),
    }));
    const verdict = missing.length > 0 ? 'blocked' : rejections.length > 0 ? 'rejected' : 'ok';
    return {
      version: profile.version,
      verdict,
      maxProcessedInsns: profile.maxProcessedInsns,
      reasons: [...rejections, ...missing],
      programs,
    };
  });
}

/**
 * One line for a release's verdict: the first missing feature (why), then what that release's
 * verifier says ("bpf_loop (helper 181) at insn 20 of loop_primes needs 5.17; kernel: loop_primes:
 * invalid func unknown#181 (insn 20)"). Empty for "ok".
 */
export function firstReason(v: KernelVerdict): string {
  const scan = v.reasons.find((r) => r.from === 'scan');
  // the verifier's word on the same program, when the missing feature belongs to one
  const verifier = v.reasons.filter((r) => r.from === 'verifier');
  const kernel =
    verifier.find((r) => scan?.program !== undefined && r.program === scan.program) ?? verifier[0];
  if (scan && kernel) return `${scan.text}; kernel: ${kernel.text}`;
  return (scan ?? kernel)?.text ?? '';
}

/**
 * Every autoloaded program of an object, as libbpf would load them, for each release. A program
 * tsbpf cannot link (a __ksym the kernel resolves) is judged by the scan alone.
 */
export function objectKernelVerdicts(
  spec: CollectionSpec,
  versions: readonly string[],
  opts: KernelVerdictOptions = {},
): { scan: ScanResult; verdicts: KernelVerdict[] } {
  const targets: KernelTarget[] = [];
  for (const p of spec.programs) {
    if (!p.autoload || p.unknownSection) continue;
    let linked: LinkedProgram;
    try {
      linked = linkProgram(spec, p.name, { mapIndex: 'used' });
    } catch (e) {
      if (e instanceof TsbpfError) continue;
      throw e;
    }
    targets.push({
      name: linked.name,
      req: linkedVerifyProgram(spec, linked),
    });
  }
  const scan = scanObject(spec, versions);
  return { scan, verdicts: kernelVerdicts(targets, scan, versions, opts) };
}
