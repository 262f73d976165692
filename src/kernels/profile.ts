// What one kernel release accepts, as data the verifier and the static scan can consult.
//
// Design for the verifier (integration point, nothing here imports src/verifier/):
//   const p = kernelProfile('5.10');
//   - limits: p.maxInsns / p.maxInsnsUnprivileged (program length check, kernel: bpf_prog_load()), p.maxProcessedInsns
//     (kernel: env->insn_processed > BPF_COMPLEXITY_LIMIT_INSNS in do_check()).
//   - switches: p.boundedLoops (false → check_cfg() rejects any back-edge), p.bpfToBpfCalls,
//     p.tailCallsInSubprogs, p.globalFunctions, and p.has(capability) for any row of CAPABILITIES
//     (e.g. p.has('pseudoFunc'), p.has('kfuncCalls'), p.has('mayGoto')).
//   - per-item questions, each answering `null` (available) or the FeatureSince it is missing:
//     helperMissing(id, progType) (release and the type's helper set), mapTypeMissing(typeName), mapFlagsMissing(flags),
//     progTypeMissing(progType), insnMissing(insn), ctxFieldMissing(progType, off, size),
//     kfuncMissing(name).
//   All answers are pure functions of (version, arguments): cheap, cacheable, no I/O.
// The verifier owner turns a non-null answer into the kernel's message at the point where the
// kernel would fail (e.g. "unknown func bpf_loop#181", "invalid bpf_context access off=20 size=4");
// kernelProfile() throws RangeError only for a malformed version string; a profile's methods never throw.
import type { Insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import {
  CAPABILITIES,
  type Capability,
  type CtxField,
  type FeatureSince,
  HELPERS,
  hasFeature,
  LIMITS,
  MAP_FLAGS_SINCE,
  MAP_TYPES_SINCE,
  PROG_TYPES_SINCE,
  SK_BUFF_FIELDS,
  SK_BUFF_PROG_TYPES,
  XDP_MD_FIELDS,
} from './features.ts';
import { KFUNCS, KFUNCS_SOURCE } from './kfuncs.ts';
import { PROG_HELPERS, PROG_HELPERS_SOURCE } from './prog-helpers.ts';

/** A feature an instruction needs, with a short name for messages ("cpu v4 sdiv"). */
export interface InsnFeature extends FeatureSince {
  feature: string;
  capability: Capability;
}

export interface KernelProfile {
  version: string;
  /** Program length a privileged (CAP_BPF/CAP_SYS_ADMIN) loader may submit. */
  maxInsns: number;
  /** Program length without CAP_BPF: BPF_MAXINSNS on every release (c04c0d2b968a raised only the privileged limit). */
  maxInsnsUnprivileged: number;
  maxProcessedInsns: number;
  boundedLoops: boolean;
  bpfToBpfCalls: boolean;
  tailCallsInSubprogs: boolean;
  globalFunctions: boolean;
  has(capability: Capability): boolean;
  helperMissing(id: number, progType?: string): FeatureSince | null;
  helperAvailable(id: number, progType?: string): boolean;
  mapTypeMissing(typeName: string): FeatureSince | null;
  mapTypeAvailable(typeName: string): boolean;
  /** The first flag bit this kernel does not know, with its name. */
  mapFlagsMissing(flags: number): (FeatureSince & { name: string }) | null;
  progTypeMissing(progType: string): FeatureSince | null;
  insnMissing(insn: Insn): InsnFeature | null;
  insnAvailable(insn: Insn): boolean;
  ctxFieldMissing(progType: string, off: number, size?: number): (CtxField & { struct: string }) | null;
  ctxFieldAvailable(progType: string, off: number, size?: number): boolean;
  /** kfuncs by name (kernel BTF FUNC); names unknown to the timeline give null (no claim). */
  kfuncMissing(name: string): FeatureSince | null;
}

const UNKNOWN: FeatureSince = { since: '99.0', source: 'not in the feature table' };

function limitAt(version: string, table: readonly { until: string | undefined; value: number }[]): number {
  for (const row of table) if (row.until === undefined || !hasFeature(version, row.until)) return row.value;
  return table[table.length - 1]?.value ?? 0;
}

const cap = (capability: Capability, feature: string): InsnFeature => ({
  ...CAPABILITIES[capability],
  capability,
  feature,
});

/** The newest feature one instruction needs, or null for instructions every eBPF kernel knows. */
export function insnFeature(insn: Insn): InsnFeature | null {
  const code = insn.code;
  const c = op.cls(code);
  if (c === op.CLASS_ALU || c === op.CLASS_ALU64) {
    const o = op.aluOp(code);
    if ((o === op.ALU_DIV || o === op.ALU_MOD) && insn.off === 1)
      return cap('cpuV4', o === op.ALU_DIV ? 'cpu v4 sdiv' : 'cpu v4 smod');
    if (o === op.ALU_MOV && op.srcBit(code) && (insn.off === 8 || insn.off === 16 || insn.off === 32))
      return cap('cpuV4', 'cpu v4 movsx');
    if (o === op.ALU_MOV && c === op.CLASS_ALU64 && op.srcBit(code) && insn.off === op.ADDR_SPACE_CAST)
      return cap('arenaCast', 'addr_space_cast');
    if (o === op.ALU_END && c === op.CLASS_ALU64) return cap('cpuV4', 'cpu v4 bswap');
    return null;
  }
  if (c === op.CLASS_LDX && op.mode(code) === op.MODE_MEMSX)
    return cap('cpuV4', 'cpu v4 sign-extending load');
  if (c === op.CLASS_STX && op.mode(code) === op.MODE_ATOMIC) {
    if (insn.imm === op.ATOMIC_LOAD_ACQ || insn.imm === op.ATOMIC_STORE_REL)
      return cap('loadAcquireStoreRelease', 'load-acquire/store-release');
    if (insn.imm !== op.ATOMIC_ADD) return cap('atomics', 'atomic fetch/xchg/cmpxchg/bitwise');
    return null;
  }
  if (c === op.CLASS_LD && code === op.OP_LDDW) {
    if (insn.src === op.PSEUDO_MAP_VALUE) return cap('globalData', 'global data (direct map value access)');
    if (insn.src === op.PSEUDO_BTF_ID) return cap('ksymTyped', 'typed ksym (BPF_PSEUDO_BTF_ID)');
    if (insn.src === op.PSEUDO_FUNC) return cap('pseudoFunc', 'callback function pointer (BPF_PSEUDO_FUNC)');
    if (insn.src === op.PSEUDO_MAP_IDX || insn.src === op.PSEUDO_MAP_IDX_VALUE)
      return cap('fdArray', 'fd_array map index');
    return null;
  }
  if (c === op.CLASS_JMP32)
    return cap(
      op.jmpOp(code) === op.JMP_JA ? 'cpuV4' : 'jmp32',
      op.jmpOp(code) === op.JMP_JA ? 'cpu v4 gotol' : 'jmp32',
    );
  if (c === op.CLASS_JMP) {
    const o = op.jmpOp(code);
    if (code === op.OP_MAY_GOTO) return cap('mayGoto', 'may_goto');
    if (o === op.JMP_JLT || o === op.JMP_JLE || o === op.JMP_JSLT || o === op.JMP_JSLE)
      return cap('jmpExtended', 'jlt/jle/jslt/jsle');
    if (o === op.JMP_CALL && insn.src === op.PSEUDO_CALL) return cap('bpfToBpfCalls', 'bpf-to-bpf call');
    if (o === op.JMP_CALL && insn.src === op.PSEUDO_KFUNC_CALL) return cap('kfuncCalls', 'kfunc call');
  }
  return null;
}

/** The helper's FeatureSince, or UNKNOWN for ids we have no row for. */
export function helperFeature(id: number): FeatureSince & { name: string } {
  const h = HELPERS.get(id);
  return h ?? { ...UNKNOWN, name: `helper#${id}` };
}

// Helpers bpf_base_func_proto() gives every program type from a release on, though ebpf-docs lists
// them for fewer types: strtol/strtoul were cgroup_sysctl's alone before 6.12.
const BASE_FOR_ALL_TYPES: ReadonlyMap<number, readonly [`${number}.${number}`, string]> = new Map([
  [105, ['6.12', '8a67f2de9b1d']],
  [106, ['6.12', '8a67f2de9b1d']],
]);

// Program types that take their helper set from the program they attach to (ext, struct_ops) or
// whose page lists none: no per-type restriction is applied.
const INHERITS_HELPERS = new Set(['ext', 'struct_ops']);

/**
 * When helper `id` became callable from `progType`: the helper's own release, or the later release
 * in which the helper reached that type; `99.0` when a current kernel does not offer it to that type.
 * Lists are those of a current kernel for a privileged loader; a helper a type lost is not modelled.
 */
export function helperForProgType(id: number, progType?: string): FeatureSince & { name: string } {
  const h = helperFeature(id);
  const list = progType !== undefined && !INHERITS_HELPERS.has(progType) ? PROG_HELPERS[progType] : undefined;
  if (!list || list.length === 0 || !HELPERS.has(id)) return h;
  const entry = list.find((e) => (typeof e === 'number' ? e : e[0]) === id);
  const everywhere = BASE_FOR_ALL_TYPES.get(id);
  if (entry === undefined && everywhere) {
    return {
      name: h.name,
      since: everywhere[0],
      source: `bpf_base_func_proto() offers it to every program type from ${everywhere[0]}; commit ${everywhere[1]}`,
    };
  }
  if (entry === undefined) {
    return {
      name: h.name,
      since: '99.0',
      source: `${PROG_HELPERS_SOURCE}: not offered to ${progType} programs`,
    };
  }
  if (typeof entry !== 'number' && hasFeature(entry[1], h.since) && entry[1] !== h.since) {
    return {
      name: h.name,
      since: entry[1],
      source: `${PROG_HELPERS_SOURCE}: reached ${progType} in ${entry[1]}; commit ${entry[2]}`,
    };
  }
  return h;
}

/** The context struct a program type reads through r1, when we track its fields. */
function ctxFields(progType: string): { struct: string; fields: readonly CtxField[] } | null {
  if (progType === 'xdp') return { struct: 'xdp_md', fields: XDP_MD_FIELDS };
  if (SK_BUFF_PROG_TYPES.includes(progType)) return { struct: '__sk_buff', fields: SK_BUFF_FIELDS };
  return null;
}

/** The field covering [off, off+size) of the program type's context, if it is one we track. */
export function ctxFieldAt(progType: string, off: number, size = 1): (CtxField & { struct: string }) | null {
  const ctx = ctxFields(progType);
  if (!ctx) return null;
  const f = ctx.fields.find((x) => off < x.off + x.size && off + size > x.off);
  return f ? { ...f, struct: ctx.struct } : null;
}

/** A profile for a release "major.minor"; a full `uname -r` ("6.1.55-foo") is cut to its release. */
export function kernelProfile(release: string): KernelProfile {
  const m = /^(\d+)\.(\d+)(?:[.-].*)?$/.exec(release);
  if (!m) throw new RangeError(`kernel version "${release}" is not "major.minor"`);
  const version = `${Number(m[1])}.${Number(m[2])}`;
  const has = (c: Capability): boolean => hasFeature(version, CAPABILITIES[c].since);
  const missing = <T extends FeatureSince>(f: T): T | null => (hasFeature(version, f.since) ? null : f);
  const profile: KernelProfile = {
    version,
    maxInsns: limitAt(version, LIMITS.maxInsns),
    maxInsnsUnprivileged: LIMITS.maxInsns[0].value,
    maxProcessedInsns: limitAt(version, LIMITS.maxProcessedInsns),
    boundedLoops: has('boundedLoops'),
    bpfToBpfCalls: has('bpfToBpfCalls'),
    tailCallsInSubprogs: has('tailCallsInSubprogs'),
    globalFunctions: has('globalFunctions'),
    has,
    // kernel: the prog type's get_func_proto() (e.g. xdp_func_proto()) as listed by ebpf-docs.
    helperMissing: (id, progType) => missing(helperForProgType(id, progType)),
    helperAvailable: (id, progType) => profile.helperMissing(id, progType) === null,
    mapTypeMissing: (name) => missing(MAP_TYPES_SINCE[name] ?? UNKNOWN),
    mapTypeAvailable: (name) => profile.mapTypeMissing(name) === null,
    mapFlagsMissing: (flags) => {
      for (const f of MAP_FLAGS_SINCE) if ((flags & f.bit) !== 0 && !hasFeature(version, f.since)) return f;
      const known = MAP_FLAGS_SINCE.reduce((m, f) => m | f.bit, 0);
      return (flags & ~known) !== 0 ? { ...UNKNOWN, name: `flags 0x${(flags & ~known).toString(16)}` } : null;
    },
    progTypeMissing: (t) => missing(PROG_TYPES_SINCE[t] ?? UNKNOWN),
    insnMissing: (insn) => {
      const f = insnFeature(insn);
      return f && !hasFeature(version, f.since) ? f : null;
    },
    insnAvailable: (insn) => profile.insnMissing(insn) === null,
    ctxFieldMissing: (progType, off, size = 1) => {
      const f = ctxFieldAt(progType, off, size);
      return f && !hasFeature(version, f.since) ? f : null;
    },
    ctxFieldAvailable: (progType, off, size) => profile.ctxFieldMissing(progType, off, size) === null,
    kfuncMissing: (name) => {
      const k = KFUNCS[name];
      return k ? missing({ since: k[0], source: `${KFUNCS_SOURCE}; commit ${k[1]}` }) : null;
    },
  };
  return profile;
}
