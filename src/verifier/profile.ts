// The verifier as an older kernel release ran it: what `verify(prog, { kernel: '5.10' })` adds to
// the 6.18 rules. The feature dates come from src/kernels/ (each with its source); this file turns a
// missing feature into the message that release's verifier printed, at the stage it printed it:
//   - load (bpf_prog_load()): program length over BPF_MAXINSNS before 5.2 (E2BIG, no log);
//   - resolve (resolve_pseudo_ldimm64(), bpf_opcode_in_insntable()): opcodes the release lacks
//     ("unknown opcode 16"), ld_imm64 kinds it lacks ("unrecognized bpf_ld_imm64 insn");
//   - check_cfg(): any back-edge before 5.3 ("back-edge from insn 9 to 3");
//   - do_check(), when exploration reaches the instruction (so dead branches behind CO-RE checks
//     stay legal, as in the kernel): reserved fields ("BPF_ALU uses reserved fields"), helpers
//     ("invalid func unknown#181", "unknown func bpf_x#N"), tail calls in programs with subprograms;
//   - check_max_stack_depth() (in index.ts): from 5.10, a tail call under 256+ bytes of caller frames.
// The processed-insn limit is the release's (131,072 before 5.2). Every rule of 6.18 still applies
// on top; where a release was laxer than 6.18 tsbpf stays with the stricter rule.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import { firstBackEdge } from '../kernels/scan.ts';
import { CAPABILITIES, HELPERS, hasFeature } from '../kernels/features.ts';
import { helperForProgType, insnFeature, type KernelProfile, kernelProfile } from '../kernels/profile.ts';
import type { Explanation } from './explain.ts';
import { checkSubprogs } from './cfg.ts';
import type { MapInfo, Subprog, VerifierEnv } from './env.ts';
import { reject, VerifierReject } from './env.ts';

const op = { ...opNs };

/** A kernel release ("5.10", a `uname -r`) or a profile from kernelProfile(). */
export type KernelOption = string | KernelProfile;

const BPF_FUNC_TAIL_CALL = 12;

export function resolveKernel(k: KernelOption): KernelProfile {
  return typeof k === 'string' ? kernelProfile(k) : k;
}

const hex2 = (code: number): string => code.toString(16).padStart(2, '0');
const isCall = (i: Insn, src: number): boolean => i.code === op.OP_CALL && i.src === src;

// libbpf's map creation, bpf_prog_load() (E2BIG, EINVAL before any verifier log), then resolve_pseudo_ldimm64() and
// check_cfg() as they were in release p.version.
export function checkKernelLoad(env: VerifierEnv, p: KernelProfile): void {
  const { insns, maps } = env;
  const rejectAt = (i: number, message: string): never => {
    env.insnIdx = i;
    return reject(message);
  };
  // libbpf creates every map before it loads the program: a map type the release lacks stops it there
  for (const m of maps) {
    const t = p.mapTypeMissing(m.type);
    if (t && t.since !== '99.0')
      reject(`map ${m.name ?? m.type}: BPF_MAP_CREATE fails (EINVAL): map type ${m.type} needs ${t.since}`);
  }
  if (insns.length > p.maxInsns)
    reject(
      `program of ${insns.length} insns is too large (limit ${p.maxInsns} on ${p.version}; bpf() fails with E2BIG)`,
    );
  // kernel: bpf_prog_load() knows no such type (EINVAL before the verifier runs)
  const pt = p.progTypeMissing(env.progType);
  if (pt && pt.since !== '99.0')
    reject(`program type ${env.progType} needs ${pt.since} (bpf() fails with EINVAL)`);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    if (insn.code === op.OP_LDDW) {
      if (!p.insnAvailable(insn)) rejectAt(i, 'unrecognized bpf_ld_imm64 insn');
      i++;
      continue;
    }
    const f = p.insnMissing(insn);
    // opcodes the release's bpf_opcode_in_insntable() did not list; the others are do_check's
    if (f && !RESERVED_FIELD_MESSAGE[f.feature] && !DO_CHECK_FEATURES.has(f.feature)) {
      rejectAt(i, `unknown opcode ${hex2(insn.code)}`);
    }
  }
  if (!p.boundedLoops) {
    const back = firstBackEdge(insns);
    if (back) rejectAt(back.from, `back-edge from insn ${back.from} to ${back.to}`);
  }
}

// Same opcode as an older instruction, with a field the release required to be zero (check_alu_op(),
// check_xadd(), check_atomic()).
const RESERVED_FIELD_MESSAGE: Readonly<Record<string, string>> = {
  'cpu v4 sdiv': 'BPF_ALU uses reserved fields',
  'cpu v4 smod': 'BPF_ALU uses reserved fields',
  'cpu v4 movsx': 'BPF_MOV uses reserved fields',
  addr_space_cast: 'BPF_MOV uses reserved fields',
  'atomic fetch/xchg/cmpxchg/bitwise': 'BPF_XADD uses reserved fields',
};
const DO_CHECK_FEATURES = new Set(['bpf-to-bpf call', 'kfunc call', 'load-acquire/store-release']);

/**
 * Messages do_check() of release p gives when it reaches an instruction, by index. Only
 * instructions the release lacks are listed: an empty map for 6.18.
 */
export function kernelInsnBlocks(
  insns: readonly Insn[],
  progType: string,
  subprogs: readonly Subprog[],
  p: KernelProfile,
): Map<number, string> {
  const out = new Map<number, string>();
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    if (insn.code === op.OP_LDDW) {
      i++;
      continue;
    }
    const f = p.insnMissing(insn);
    if (f) {
      const reserved = RESERVED_FIELD_MESSAGE[f.feature];
      if (reserved) out.set(i, reserved);
      else if (f.feature === 'load-acquire/store-release')
        out.set(i, `BPF_ATOMIC uses invalid atomic opcode ${hex2(insn.imm)}`);
      else if (DO_CHECK_FEATURES.has(f.feature)) out.set(i, 'BPF_CALL uses reserved fields');
      continue;
    }
    if (!isCall(insn, op.PSEUDO_CALL_HELPER)) continue;
    const id = insn.imm;
    const h = HELPERS.get(id);
    // ids newer than the table: the release's own verifier answers (6.18 knows them)
    if (!h) continue;
    if (!hasFeature(p.version, h.since)) {
      // kernel: check_helper_call(), func_id >= __BPF_FUNC_MAX_ID of that release
      out.set(i, `invalid func unknown#${id}`);
      continue;
    }
    const forType = helperForProgType(id, progType);
    if (forType.since !== '99.0' && !hasFeature(p.version, forType.since)) {
      out.set(i, `${helperUnavailable(p)} ${h.name}#${id}`);
      continue;
    }
    // kernel: check_map_func_compatibility() before e411901c0b77 (5.10)
    if (id === BPF_FUNC_TAIL_CALL && subprogs.length > 1 && !p.tailCallsInSubprogs)
      out.set(i, 'tail_calls are not allowed in programs with bpf-to-bpf calls');
  }
  return out;
}

/**
 * The words for "this program type has no such helper": "unknown func" until the message was
 * reworded for 6.10 (lore 20240325152210.377548-1-yatsenko@meta.com; bpftrace#3114 follows it).
 */
export const helperUnavailable = (p: KernelProfile): string =>
  hasFeature(p.version, '6.10') ? 'program of this type cannot use helper' : 'unknown func';

/** A rejection before the verifier looks at instructions (map creation, bpf_prog_load()): no insn. */
export const isLoadStageMessage = (message: string): boolean =>
  /^(map .*: BPF_MAP_CREATE fails|program type \S+ needs|program of \d+ insns is too large \(limit)/.test(
    message,
  );

/** A message of another release in the words of release p (only the helper message changed). */
export function kernelWording(message: string, p: KernelProfile): string {
  for (const pre of ['program of this type cannot use helper ', 'unknown func '])
    if (message.startsWith(pre)) return `${helperUnavailable(p)} ${message.slice(pre.length)}`;
  return message;
}

/**
 * Everything about release p that can change verify()'s answer for this program, but for the
 * wording of kernelWording(): two releases with the same key give the same result, so callers
 * asking about many releases verify once per key.
 */
export function profileKey(
  insns: readonly Insn[],
  progType: string,
  maps: readonly MapInfo[],
  p: KernelProfile,
): string {
  let load = '';
  let blocks: [number, string][] = [];
  try {
    const env = { insns, maps, progType, insnIdx: 0 } as Pick<
      VerifierEnv,
      'insns' | 'maps' | 'progType' | 'insnIdx'
    >;
    checkKernelLoad(env as VerifierEnv, p);
    // every kfunc call passes here: verify() itself judges which ones the release knows (with the
    // default predicate each program calling a kfunc got one key for all releases)
    blocks = [
      ...kernelInsnBlocks(
        insns,
        progType,
        checkSubprogs(insns, () => true),
        p,
      ),
    ];
  } catch (e) {
    if (!(e instanceof VerifierReject)) throw e;
    load = e.message;
  }
  // the tail-call rules matter only to a program with both; the wording is applied afterwards
  const tails = insns.some((i) => isCall(i, op.PSEUDO_CALL_HELPER) && i.imm === BPF_FUNC_TAIL_CALL);
  const calls = insns.some((i) => isCall(i, op.PSEUDO_CALL));
  return JSON.stringify([load, blocks, p.maxProcessedInsns, tails && calls ? p.tailCallsInSubprogs : null]);
}

/**
 * tsbpf's extra line for a rejection that comes from the release itself: what is missing and
 * from which release it exists. Undefined for the verifier's other messages.
 */
export function kernelExplain(
  message: string,
  insn: Insn | undefined,
  p: KernelProfile,
): Explanation | undefined {
  const principle = 'uses only what the kernel release has' as const;
  const since = (what: string, v: string): Explanation => ({
    principle,
    hint: `${what} arrived in Linux ${v}; ${p.version} lacks it (require ${v}, or leave it out for older kernels)`,
  });
  const helper =
    /^(?:invalid func unknown|unknown func \S+|program of this type cannot use helper \S+)#(\d+)/.exec(
      message,
    );
  if (helper) {
    const id = Number(helper[1]);
    const h = HELPERS.get(id);
    if (!h) return undefined;
    if (message.startsWith('invalid func')) return since(`${h.name} (helper ${id})`, h.since);
    return undefined;
  }
  if (/^back-edge from insn/.test(message))
    return since('a loop (bounded loops)', CAPABILITIES.boundedLoops.since);
  if (message.startsWith('tail_calls are not allowed in programs with bpf-to-bpf calls'))
    return since('bpf_tail_call next to bpf-to-bpf calls', CAPABILITIES.tailCallsInSubprogs.since);
  if (
    /^(unknown opcode|unrecognized bpf_ld_imm64 insn|BPF_\w+ uses (reserved fields|invalid atomic opcode))/.test(
      message,
    )
  ) {
    const f = insn ? insnFeature(insn) : null;
    return f && !hasFeature(p.version, f.since) ? since(f.feature, f.since) : undefined;
  }
  const needs =
    /^(?:map \S+: BPF_MAP_CREATE fails \(EINVAL\): (map type \S+)|(program type \S+)) needs (\d+\.\d+)/.exec(
      message,
    );
  if (needs) return since((needs[1] ?? needs[2])!, needs[3]!);
  return undefined;
}
