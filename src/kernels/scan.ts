// Static feature scan: which of an object's features each kernel release lacks, without that kernel.
// It reads only the object (maps, program types, linked instructions); whether the verifier would
// accept the program on that release (state explosion, processed-insn limits) is the verifier's
// question, answered later through the same KernelProfile (see profile.ts).
import type { CollectionSpec, ExternSpec, LinkedProgram, MapSpec, ProgramSpec } from '../elf/index.ts';
import { linkProgram } from '../elf/index.ts';
import { TsbpfError } from '../errors.ts';
import type { Insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import {
  CAPABILITIES,
  compareVersions,
  type FeatureSince,
  hasFeature,
  KERNEL_VERSIONS,
  LIMITS,
  MAP_FLAGS_SINCE,
  MAP_TYPES_SINCE,
  PROG_TYPES_SINCE,
} from './features.ts';
import { KFUNCS, KFUNCS_SOURCE } from './kfuncs.ts';
import { ctxFieldAt, helperForProgType, insnFeature } from './profile.ts';

/** One thing the object needs from the kernel. */
export interface Requirement {
  /** Short name, unique per program ("bpf_loop (helper 181)", "cpu v4 sdiv"). */
  feature: string;
  needs: string;
  program?: string;
  insnIdx?: number;
  /** "bpf_loop (helper 181) at insn 7 of loop_primes needs 5.17". */
  text: string;
  source: string;
}

export interface VersionVerdict {
  verdict: 'ok' | 'blocked';
  /** Every unmet requirement, in load order (maps, then each program front to back); [0] is the first. */
  reasons: Requirement[];
}

export interface ScanResult {
  file: string;
  /** Oldest release that meets every requirement found. */
  minVersion: string;
  requirements: Requirement[];
  verdicts: Record<string, VersionVerdict>;
}

const BPF_TAIL_CALL = 12;
const GLOBAL_DATA_ORIGINS = new Set(['data', 'rodata', 'bss', 'kconfig']);

function req(
  feature: string,
  f: FeatureSince,
  text: string,
  at: { program?: string; insnIdx?: number } = {},
): Requirement {
  const where = at.insnIdx !== undefined ? ` at insn ${at.insnIdx}` : '';
  const prog = at.program !== undefined ? ` of ${at.program}` : '';
  return {
    feature,
    needs: f.since,
    ...at,
    text: `${text}${where}${prog} needs ${f.since}`,
    source: f.source,
  };
}

/** What creating one map needs (libbpf creates every map before loading any program). */
export function mapRequirements(m: MapSpec): Requirement[] {
  const out: Requirement[] = [];
  const t = MAP_TYPES_SINCE[m.typeName];
  out.push(
    t
      ? req(`map type ${m.typeName}`, t, `map type ${m.typeName} (map ${m.name})`)
      : req(
          `map type ${m.typeName}`,
          { since: '99.0', source: 'not in the feature table' },
          `unknown map type ${m.typeName}`,
        ),
  );
  if (GLOBAL_DATA_ORIGINS.has(m.origin)) {
    out.push(req('global data', CAPABILITIES.globalData, `global data map ${m.name}`));
  }
  // libbpf adds BPF_F_MMAPABLE (and RDONLY_PROG) to global data maps itself, only when the kernel has them.
  const own = GLOBAL_DATA_ORIGINS.has(m.origin) ? m.flags & ~((1 << 10) | (1 << 7)) : m.flags;
  for (const f of MAP_FLAGS_SINCE) {
    if ((own & f.bit) !== 0) out.push(req(f.name, f, `map flag ${f.name} (map ${m.name})`));
  }
  if (m.innerMap) out.push(...mapRequirements(m.innerMap));
  return out;
}

/** Successors of slot i for the CFG walk (kernel: visit_insn() in check_cfg()). */
function successors(insns: readonly Insn[], i: number): number[] {
  const insn = insns[i];
  if (!insn) return [];
  const c = op.cls(insn.code);
  if (insn.code === op.OP_LDDW) {
    return insn.src === op.PSEUDO_FUNC ? [i + 2, i + 1 + insn.imm] : [i + 2];
  }
  if (c !== op.CLASS_JMP && c !== op.CLASS_JMP32) return [i + 1];
  const o = op.jmpOp(insn.code);
  if (o === op.JMP_EXIT) return [];
  if (o === op.JMP_CALL) return insn.src === op.PSEUDO_CALL ? [i + 1, i + 1 + insn.imm] : [i + 1];
  if (o === op.JMP_JA) return [i + 1 + (c === op.CLASS_JMP32 ? insn.imm : insn.off)];
  return [i + 1, i + 1 + insn.off];
}

/** The first back-edge of a depth-first walk from insn 0, as check_cfg() finds it before 5.3. */
export function firstBackEdge(insns: readonly Insn[]): { from: number; to: number } | null {
  const state = new Uint8Array(insns.length); // 0 new, 1 on the stack, 2 done
  const stack: { at: number; next: number[] }[] = [{ at: 0, next: successors(insns, 0) }];
  state[0] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const to = top.next.shift();
    if (to === undefined) {
      state[top.at] = 2;
      stack.pop();
      continue;
    }
    if (to < 0 || to >= insns.length) continue; // out of range: the verifier's error, not a feature
    if (state[to] === 1) return { from: top.at, to };
    if (state[to] === 0) {
      state[to] = 1;
      stack.push({ at: to, next: successors(insns, to) });
    }
  }
  return null;
}

const SIZE_BYTES: Record<number, number> = {
  [op.SIZE_B]: 1,
  [op.SIZE_H]: 2,
  [op.SIZE_W]: 4,
  [op.SIZE_DW]: 8,
};

/**
 * Context fields read or written through r1 (or a copy of it) in the entry function. A straight-line
 * register copy tracker, not the verifier's pointer types: enough for the clang idiom of reading
 * ctx fields through r1/r6, and an instruction it cannot follow is simply not reported.
 */
function ctxAccesses(prog: LinkedProgram): Requirement[] {
  const out: Requirement[] = [];
  const end = prog.functions[1]?.insnOff ?? prog.insns.length;
  const ctx = new Set<number>([1]);
  for (let i = 0; i < end; i++) {
    const insn = prog.insns[i]!;
    const c = op.cls(insn.code);
    const memAt = (reg: number) => {
      if (!ctx.has(reg) || op.mode(insn.code) !== op.MODE_MEM) return;
      const f = ctxFieldAt(prog.progType, insn.off, SIZE_BYTES[op.size(insn.code)] ?? 1);
      if (f)
        out.push(
          req(`${f.struct}.${f.name}`, f, `context field ${f.struct}.${f.name}`, {
            program: prog.name,
            insnIdx: i,
          }),
        );
    };
    if (c === op.CLASS_LDX) {
      memAt(insn.src);
      ctx.delete(insn.dst);
    } else if (c === op.CLASS_STX || c === op.CLASS_ST) {
      memAt(insn.dst);
    } else if (
      c === op.CLASS_ALU64 &&
      insn.code === (op.CLASS_ALU64 | op.ALU_MOV | op.SRC_X) &&
      insn.off === 0
    ) {
      if (ctx.has(insn.src)) ctx.add(insn.dst);
      else ctx.delete(insn.dst);
    } else if (
      c === op.CLASS_ALU ||
      c === op.CLASS_ALU64 ||
      (c === op.CLASS_LD && insn.code === op.OP_LDDW)
    ) {
      ctx.delete(insn.dst);
      if (insn.code === op.OP_LDDW) i++;
    } else if ((c === op.CLASS_JMP || c === op.CLASS_JMP32) && op.jmpOp(insn.code) === op.JMP_CALL) {
      for (let r = 0; r <= 5; r++) ctx.delete(r);
    }
  }
  return out;
}

/** What loading one linked program needs, in program order, each feature once. */
export function programRequirements(prog: LinkedProgram): Requirement[] {
  const out: Requirement[] = [];
  const at = (insnIdx?: number) => ({ program: prog.name, ...(insnIdx !== undefined ? { insnIdx } : {}) });
  const pt = PROG_TYPES_SINCE[prog.progType];
  if (pt) out.push(req(`program type ${prog.progType}`, pt, `program type ${prog.progType}`, at()));
  if (prog.sleepable) out.push(req('sleepable', CAPABILITIES.sleepable, 'sleepable program', at()));
  if (prog.xdpFrags)
    out.push(req('xdp frags', CAPABILITIES.xdpFrags, 'XDP multi-buffer (BPF_F_XDP_HAS_FRAGS)', at()));
  const n = prog.insns.length;
  const small = LIMITS.maxInsns[0];
  if (n > small.value) {
    out.push(
      req(
        'program size',
        CAPABILITIES.largeInsnLimit,
        `program of ${n.toLocaleString('en-US')} insns exceeds the ${small.value.toLocaleString('en-US')}-insn limit before ${small.until}; it`,
        at(),
      ),
    );
  }
  if (prog.coreRelos.length > 0) {
    out.push(
      req('CO-RE', CAPABILITIES.vmlinuxBtf, `${prog.coreRelos.length} CO-RE relocations (kernel BTF)`, at()),
    );
  }
  let callsTail = false;
  for (let i = 0; i < n; i++) {
    const insn = prog.insns[i]!;
    const f = insnFeature(insn);
    if (f) out.push(req(f.feature, f, f.feature, at(i)));
    if (insn.code === op.OP_CALL && insn.src === op.PSEUDO_CALL_HELPER) {
      const h = helperForProgType(insn.imm, prog.progType);
      const what =
        h.since === '99.0'
          ? `${h.name} (helper ${insn.imm}) in a ${prog.progType} program`
          : `${h.name} (helper ${insn.imm})`;
      out.push(req(`${h.name} (helper ${insn.imm})`, h, what, at(i)));
      if (insn.imm === BPF_TAIL_CALL) callsTail = true;
    }
    if (insn.code === op.OP_LDDW) i++;
  }
  if (callsTail && prog.functions.length > 1) {
    out.push(
      req(
        'tail calls with bpf-to-bpf calls',
        CAPABILITIES.tailCallsInSubprogs,
        'bpf_tail_call in a program with bpf-to-bpf calls (x86-64)',
        at(),
      ),
    );
  }
  const back = firstBackEdge(prog.insns);
  if (back)
    out.push(
      req(
        'bounded loop',
        CAPABILITIES.boundedLoops,
        `bounded loop (back-edge from insn ${back.from} to ${back.to})`,
        at(),
      ),
    );
  out.push(...ctxAccesses(prog));
  const seen = new Set<string>();
  return out.filter((r) => {
    if (seen.has(r.feature)) return false;
    seen.add(r.feature);
    return true;
  });
}

/** Verdicts for one set of requirements. */
export function verdictsFor(
  reqs: readonly Requirement[],
  versions: readonly string[],
): Record<string, VersionVerdict> {
  const out: Record<string, VersionVerdict> = {};
  for (const v of versions) {
    const reasons = reqs.filter((r) => !hasFeature(v, r.needs));
    out[v] = { verdict: reasons.length === 0 ? 'ok' : 'blocked', reasons };
  }
  return out;
}

/**
 * What the object's strong __ksym externs need: a kfunc from the release that added it, a typed
 * kernel variable from BPF_PSEUDO_BTF_ID's release. Weak externs are optional (libbpf leaves them 0).
 * A kfunc missing from the timeline (e.g. from a module) gives no requirement.
 */
export function externRequirements(
  externs: readonly ExternSpec[],
  btfKindOf: (e: ExternSpec) => string | undefined,
): Requirement[] {
  const out: Requirement[] = [];
  for (const e of externs) {
    if (e.kind !== 'ksym' || e.weak) continue;
    const k = KFUNCS[e.name];
    if (k)
      out.push(
        req(
          `kfunc ${e.name}`,
          { since: k[0], source: `${KFUNCS_SOURCE}; commit ${k[1]}` },
          `kfunc ${e.name}`,
        ),
      );
    else if (btfKindOf(e) === 'var')
      out.push(req(`ksym ${e.name}`, CAPABILITIES.ksymTyped, `typed kernel symbol ${e.name}`));
  }
  return out;
}

const isKsym = (spec: CollectionSpec, name: string): boolean =>
  spec.externs.some((x) => x.name === name && x.kind === 'ksym');

/** An unlinked program viewed as a linked one (its own instructions only), to scan what can be scanned. */
function unlinked(spec: CollectionSpec, p: ProgramSpec): LinkedProgram {
  const ksymCalls = new Set(
    p.relocs.filter((r) => r.kind === 'unsupported' && isKsym(spec, r.symbol)).map((r) => r.insnIdx),
  );
  return {
    name: p.name,
    section: p.section,
    progType: p.progType,
    ...(p.attachType !== undefined ? { attachType: p.attachType } : {}),
    sleepable: p.sleepable,
    xdpFrags: p.xdpFrags,
    license: spec.license,
    kernelVersion: spec.kernelVersion,
    // libbpf turns a call relocated against a __ksym into a kfunc call (src_reg BPF_PSEUDO_KFUNC_CALL).
    insns: p.insns.map((insn, i) =>
      ksymCalls.has(i) && insn.code === op.OP_CALL ? { ...insn, src: op.PSEUDO_KFUNC_CALL, imm: 0 } : insn,
    ),
    maps: [],
    objectMapIndex: [],
    mapIndex: 'object',
    functions: [{ name: p.name, section: p.section, insnOff: 0 }],
    funcInfo: [],
    lineInfo: [],
    coreRelos: p.coreRelos,
  };
}

/** Scan one linked program (without the object's maps): requirements and a verdict per release. */
export function scanProgram(prog: LinkedProgram, versions: readonly string[] = KERNEL_VERSIONS): ScanResult {
  const reqs = [...prog.maps.flatMap(mapRequirements), ...programRequirements(prog)];
  const minVersion = reqs.reduce((m, r) => (compareVersions(r.needs, m) > 0 ? r.needs : m), '3.15');
  return { file: prog.name, minVersion, requirements: reqs, verdicts: verdictsFor(reqs, versions) };
}

/** Scan every autoloaded program and every map of an object. */
export function scanObject(spec: CollectionSpec, versions: readonly string[] = KERNEL_VERSIONS): ScanResult {
  const reqs: Requirement[] = [];
  const seenMaps = new Set<string>();
  for (const m of spec.maps) {
    for (const r of mapRequirements(m)) {
      const key = `${r.feature}`;
      if (!seenMaps.has(key)) reqs.push(r);
      seenMaps.add(key);
    }
  }
  const btfKindOf = (e: ExternSpec): string | undefined => {
    try {
      return e.typeId ? spec.btf?.typeById(e.typeId).kind : undefined;
    } catch {
      return undefined; // a dangling type id is the BTF loader's error to report, not a feature
    }
  };
  reqs.push(...externRequirements(spec.externs, btfKindOf));
  for (const p of spec.programs) {
    if (!p.autoload || p.unknownSection) continue;
    let linked: LinkedProgram;
    try {
      linked = linkProgram(spec, p.name);
    } catch (e) {
      if (!(e instanceof TsbpfError)) throw e;
      // tsbpf cannot link __ksym references (no kernel BTF); the kernel can. Scan the program's own
      // instructions then, and block every release only when something else stops the link.
      if (!p.relocs.every((r) => r.kind !== 'unsupported' || isKsym(spec, r.symbol))) {
        const text = `${p.name} cannot be linked: ${e.message}`;
        reqs.push({ feature: 'link', needs: '99.0', program: p.name, text, source: 'tsbpf linker' });
      }
      reqs.push(...programRequirements(unlinked(spec, p)));
      continue;
    }
    reqs.push(...programRequirements(linked));
  }
  const minVersion = reqs.reduce((m, r) => (compareVersions(r.needs, m) > 0 ? r.needs : m), '3.15');
  return { file: spec.file, minVersion, requirements: reqs, verdicts: verdictsFor(reqs, versions) };
}
