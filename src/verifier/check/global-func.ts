// Global (non-static) functions: verified once on their own against their BTF signature, not
// in each caller's context (kernel: btf_prepare_func_args(), btf_check_subprog_call(),
// check_func_call() for globals, do_check_subprogs()). A caller only sees the signature: it
// must pass scalars, the ctx, or pointers to memory of the pointee's size (or NULL-able
// pointers the callee checks), and it gets an unknown scalar back.
import type { Btf } from '../../btf/btf.ts';
import type { FuncInfo } from '../../btf/ext-info.ts';
import type { BtfTypeOrVoid } from '../../btf/types.ts';
import { opcode as opNs } from '../../isa/index.ts';
import type { VerifierEnv } from '../env.ts';
import { nextId, reject } from '../env.ts';
import { helperChangesPktData } from '../protos.ts';
import type { RegState } from '../reg.ts';
import { pointer, unknownScalar } from '../reg.ts';
import type { FuncState } from '../state.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

/** kernel: MAX_BPF_FUNC_REG_ARGS */
const MAX_BPF_FUNC_REG_ARGS = 5;

/** kernel: struct bpf_subprog_arg_info, the kinds tsbpf models */
export type GlobalArg =
  | { kind: 'scalar' }
  | { kind: 'ctx' }
  | { kind: 'mem'; size: number; maybeNull: boolean };

export interface GlobalFunc {
  name: string;
  /** The arguments, or the kernel's complaint about the signature (lines). */
  args: GlobalArg[] | string[];
  /** Calls a helper that moves packet data, directly or through its callees (kernel: changes_pkt_data). */
  changesPktData: boolean;
}

/** The struct a program type's ctx argument points to (kernel: bpf_ctx_convert, find_canonical_prog_ctx_type()). */
const CTX_STRUCT: Record<string, string> = {
  xdp: 'xdp_md',
  socket_filter: '__sk_buff',
  sched_cls: '__sk_buff',
  sched_act: '__sk_buff',
  cgroup_skb: '__sk_buff',
  kprobe: 'pt_regs',
  perf_event: 'bpf_perf_event_data',
  raw_tracepoint: 'bpf_raw_tracepoint_args',
};

const isScalarType = (t: BtfTypeOrVoid): boolean =>
  t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64';

// kernel: btf_type_str()
const KIND_STR: Record<string, string> = {
  void: 'UNKNOWN',
  int: 'INT',
  ptr: 'PTR',
  array: 'ARRAY',
  struct: 'STRUCT',
  union: 'UNION',
  enum: 'ENUM',
  fwd: 'FWD',
  typedef: 'TYPEDEF',
  func: 'FUNC',
  func_proto: 'FUNC_PROTO',
  float: 'FLOAT',
  enum64: 'ENUM64',
};

// kernel: btf_get_prog_ctx_type() without tags: a pointer to the program type's ctx struct
function isCtxPointer(btf: Btf, ptrTarget: number, progType: string): boolean {
  const want = CTX_STRUCT[progType];
  if (!want) return false;
  let t = btf.typeById(ptrTarget);
  // kprobe programs may name it bpf_user_pt_regs_t
  if (t.kind === 'typedef' && t.name === 'bpf_user_pt_regs_t' && progType === 'kprobe') return true;
  t = btf.resolve(ptrTarget);
  return t.kind === 'struct' && t.name === want;
}

// kernel: btf_prepare_func_args() for a global function
function prepareArgs(
  btf: Btf,
  funcId: number,
  progType: string,
): { name: string; args: GlobalArg[] | string[] } {
  const fn = btf.typeById(funcId);
  const name = fn.name;
  const proto = fn.kind === 'func' ? btf.typeById(fn.type) : fn;
  if (proto.kind !== 'func_proto') return { name, args: [`Global function ${name}() has no prototype`] };
  const params = proto.params;
  if (params.length > MAX_BPF_FUNC_REG_ARGS) {
    return {
      name,
      args: [
        `Global function ${name}() with ${params.length} > ${MAX_BPF_FUNC_REG_ARGS} args. Buggy compiler.`,
      ],
    };
  }
  if (!isScalarType(btf.resolve(proto.type))) {
    return { name, args: [`Global function ${name}() doesn't return scalar. Only those are supported.`] };
  }
  const args: GlobalArg[] = [];
  for (let i = 0; i < params.length; i++) {
    const t = btf.resolve(params[i]!.type);
    if (isScalarType(t)) {
      args.push({ kind: 'scalar' });
      continue;
    }
    if (t.kind === 'ptr') {
      if (isCtxPointer(btf, t.type, progType)) {
        args.push({ kind: 'ctx' });
        continue;
      }
      const ref = btf.resolve(t.type);
      let size: number;
      try {
        size = btf.sizeof(t.type);
      } catch {
        return {
          name,
          args: [
            `arg#${i} reference type('${KIND_STR[ref.kind] ?? 'UNKNOWN'} ${ref.name}') size cannot be determined: -22`,
          ],
        };
      }
      args.push({ kind: 'mem', size, maybeNull: true });
      continue;
    }
    return {
      name,
      args: [`Arg#${i} type ${KIND_STR[t.kind] ?? 'UNKNOWN'} in ${name}() is not supported yet.`],
    };
  }
  return { name, args };
}

/**
 * Per subprogram: its global-function facts, or null for static functions and the main program.
 * Without BTF func_info every function is static, as in the kernel.
 */
export function findGlobalFuncs(env: VerifierEnv, funcInfo: readonly FuncInfo[]): (GlobalFunc | null)[] {
  const btf = env.btf;
  const out: (GlobalFunc | null)[] = env.subprogs.map(() => null);
  if (!btf || funcInfo.length === 0) return out;
  env.subprogs.forEach((sp, k) => {
    if (k === 0) return;
    const fi = funcInfo.find((f) => f.insnIdx === sp.start);
    if (!fi) return;
    const fn = btf.typeById(fi.typeId);
    if (fn.kind !== 'func' || fn.linkage !== 'global') return;
    out[k] = { ...prepareArgs(btf, fi.typeId, env.progType), changesPktData: false };
  });
  markChangesPktData(env, out);
  return out;
}

// kernel: mark_subprog_changes_pkt_data() + merge_callee_effects(): through static and global callees
function markChangesPktData(env: VerifierEnv, funcs: (GlobalFunc | null)[]): void {
  // only global functions carry the mark: without one there is nothing to compute
  if (!funcs.some((f) => f !== null)) return;
  const n = env.subprogs.length;
  const own = new Array<boolean>(n).fill(false);
  const callees = env.subprogs.map(() => [] as number[]);
  for (let i = 0, cur = 0; i < env.insns.length; i++) {
    while (cur + 1 < n && env.subprogs[cur + 1]!.start <= i) cur++;
    const insn = env.insns[i]!;
    if (insn.code !== op.OP_CALL) continue;
    if (insn.src === 0 && helperChangesPktData(insn.imm)) own[cur] = true;
    if (insn.src === op.PSEUDO_CALL) {
      const to = env.subprogs.findIndex((s) => s.start === i + insn.imm + 1);
      if (to >= 0) callees[cur]!.push(to);
    }
  }
  for (let k = 0; k < n; k++) {
    const f = funcs[k];
    if (f) f.changesPktData = changesPktData(own, callees, k, new Set());
  }
}

function changesPktData(
  own: readonly boolean[],
  callees: readonly number[][],
  k: number,
  seen: Set<number>,
): boolean {
  if (own[k]) return true;
  seen.add(k);
  return callees[k]!.some((c) => !seen.has(c) && changesPktData(own, callees, c, seen));
}

/** The argument check a global call makes (kernel: btf_check_func_arg_match()). */
export interface GlobalCallChecks {
  /** kernel: check_mem_reg(): the callee may read and write `size` bytes behind register regno. */
  checkMem(regno: number, size: number): void;
}

// kernel: btf_check_subprog_call() + the global branch of check_func_call()
export function checkGlobalCall(
  caller: FuncState,
  subprog: number,
  fn: GlobalFunc,
  checks: GlobalCallChecks,
): void {
  const fail = (...lines: string[]): never =>
    reject(...lines, `Caller passes invalid args into func#${subprog} ('${fn.name}')`);
  if (typeof fn.args[0] === 'string') fail(...(fn.args as string[]));
  const args = fn.args as GlobalArg[];
  for (let i = 0; i < args.length; i++) {
    const regno = i + 1;
    const reg = caller.regs[regno]!;
    const a = args[i]!;
    if (reg.type === 'NOT_INIT') reject(`R${regno} !read_ok`);
    if (a.kind === 'scalar') {
      if (reg.type !== 'SCALAR_VALUE') fail(`R${regno} is not a scalar`);
    } else if (a.kind === 'ctx') {
      if (reg.type === 'PTR_TO_CTX' && reg.off) {
        fail(`dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
      }
      if (reg.type !== 'PTR_TO_CTX') fail(`arg#${i} expects pointer to ctx`);
    } else {
      try {
        checks.checkMem(regno, a.size);
      } catch (e) {
        const lines = (e as { lines?: string[] }).lines;
        if (lines) fail(...lines);
        throw e;
      }
    }
  }
}

/** The callee's registers on entry when verified on its own (kernel: do_check_common() for a subprog). */
export function globalEntryRegs(env: VerifierEnv, fn: GlobalFunc): RegState[] {
  const regs: RegState[] = [];
  (fn.args as GlobalArg[]).forEach((a, i) => {
    if (a.kind === 'scalar') regs[i + 1] = unknownScalar();
    else if (a.kind === 'ctx') regs[i + 1] = pointer('PTR_TO_CTX');
    else {
      const r = pointer('PTR_TO_MEM', { memSize: a.size, maybeNull: a.maybeNull });
      r.id = nextId(env);
      regs[i + 1] = r;
    }
  });
  return regs;
}
