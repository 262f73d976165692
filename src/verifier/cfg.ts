// Program shape checks before exploration (kernel: add_subprog_and_kfunc(), check_subprogs(),
// check_cfg()): subprogram boundaries, jumps inside their function and program, no fall-through
// off a function's end, every instruction reachable, no jump into the middle of an lddw.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import type { InsnAux, Subprog } from './env.ts';
import { reject } from './env.ts';
import { WorkArray } from './work-array.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

/** Helpers that call a callback synchronously (kernel: is_sync_callback_calling_function()). */
export const CALLBACK_HELPERS: ReadonlySet<number> = new Set([164, 181, 209]);

const isPseudoCall = (i: Insn): boolean => i.code === op.OP_CALL && i.src === op.PSEUDO_CALL;
const isPseudoFunc = (i: Insn): boolean => i.code === op.OP_LDDW && i.src === op.PSEUDO_FUNC;

/** Jump target of a jump instruction (gotol keeps its offset in imm). kernel: bpf_jmp_offset() */
export function jmpTarget(insns: readonly Insn[], i: number): number {
  const insn = insns[i]!;
  const off = insn.code === op.OP_JA32 ? insn.imm : insn.off;
  return i + off + 1;
}

// kernel: add_subprog_and_kfunc() + check_subprogs()
export function checkSubprogs(
  insns: readonly Insn[],
  knownKfunc: (imm: number) => boolean = () => false,
): Subprog[] {
  const starts = new Set<number>([0]);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    if (isPseudoCall(insn) || isPseudoFunc(insn)) {
      const t = i + insn.imm + 1;
      if (t < 0 || t >= insns.length) reject('call to invalid destination');
      starts.add(t);
    }
    if (insn.code === op.OP_CALL && insn.src === op.PSEUDO_KFUNC_CALL && !knownKfunc(insn.imm))
      reject('unsupported: kfunc calls');
  }
  // most programs are one function: no spread and sort then
  const sorted = starts.size === 1 ? [0] : [...starts].sort((a, b) => a - b);
  const subprogs: Subprog[] = sorted.map((start) => ({ start, stackDepth: 0 }));
  let cur = 0;
  let start = 0;
  let end = subprogs.length > 1 ? subprogs[1]!.start : insns.length;
  for (let i = 0; i < insns.length; i++) {
    const code = insns[i]!.code;
    const c = op.cls(code);
    if (
      (c === op.CLASS_JMP || c === op.CLASS_JMP32) &&
      op.jmpOp(code) !== op.JMP_EXIT &&
      op.jmpOp(code) !== op.JMP_CALL
    ) {
      const t = jmpTarget(insns, i);
      if (t < start || t >= end) reject(`jump out of range from insn ${i} to ${t}`);
    }
    if (i === end - 1) {
      if (code !== op.OP_EXIT && code !== op.OP_JA && code !== op.OP_JA32)
        reject('last insn is not an exit or jmp');
      start = end;
      cur++;
      end = cur + 1 < subprogs.length ? subprogs[cur + 1]!.start : insns.length;
    }
  }
  return subprogs;
}

/** Successors within a function (calls fall through; their callees are their own roots). */
export function successors(insns: readonly Insn[], i: number): number[] {
  const insn = insns[i]!;
  const code = insn.code;
  const c = op.cls(code);
  if (code === op.OP_LDDW) return [i + 2];
  if (c !== op.CLASS_JMP && c !== op.CLASS_JMP32) return [i + 1];
  const o = op.jmpOp(code);
  if (o === op.JMP_EXIT) return [];
  if (o === op.JMP_CALL) return [i + 1];
  if (o === op.JMP_JA) return [jmpTarget(insns, i)];
  return [i + 1, jmpTarget(insns, i)];
}

const succWork = new WorkArray((n) => new Int32Array(n));

/**
 * successors() of every instruction as one table: entries 2i and 2i+1, -1 where there is none or
 * the target lies outside the program (checkCfg() has rejected those before liveness runs).
 * `reuse`: the table lives in a buffer the next such call overwrites (for a pass that drops it).
 */
export function successorTable(insns: readonly Insn[], reuse = false): Int32Array {
  const n = insns.length;
  const succ = (reuse ? succWork.get(2 * n) : new Int32Array(2 * n)).fill(-1);
  for (let i = 0; i < n; i++) {
    const code = insns[i]!.code;
    const c = op.cls(code);
    let a = i + 1;
    let b = -1;
    if (code === op.OP_LDDW) a = i + 2;
    else if (c === op.CLASS_JMP || c === op.CLASS_JMP32) {
      const o = op.jmpOp(code);
      if (o === op.JMP_EXIT) a = -1;
      else if (o === op.JMP_JA) a = jmpTarget(insns, i);
      else if (o !== op.JMP_CALL) b = jmpTarget(insns, i);
    }
    if (a >= 0 && a < n) succ[2 * i] = a;
    if (b >= 0 && b < n) succ[2 * i + 1] = b;
  }
  return succ;
}

const seenWork = new WorkArray((n) => new Uint8Array(n));

// kernel: check_cfg() (DFS from every function entry) plus mark_prune_point() choices
export function checkCfg(insns: readonly Insn[], subprogs: readonly Subprog[], aux: InsnAux[]): void {
  const n = insns.length;
  const seen = seenWork.get(n);
  const stack: number[] = [0];
  seen[0] = 1;
  // successors() plus a callee's entry, without an array per instruction
  const next = new Int32Array(3);
  while (stack.length) {
    const i = stack.pop()!;
    const insn = insns[i]!;
    const code = insn.code;
    const c = op.cls(code);
    let count = 1;
    next[0] = i + 1;
    if (code === op.OP_LDDW) next[0] = i + 2;
    else if (c === op.CLASS_JMP || c === op.CLASS_JMP32) {
      const o = op.jmpOp(code);
      if (o === op.JMP_EXIT) count = 0;
      else if (o === op.JMP_JA) next[0] = jmpTarget(insns, i);
      else if (o !== op.JMP_CALL) next[count++] = jmpTarget(insns, i);
    }
    if (isPseudoCall(insn) || isPseudoFunc(insn)) next[count++] = i + insn.imm + 1;
    for (let k = 0; k < count; k++) {
      const t = next[k]!;
      if (t < 0 || t >= n) reject(`jump out of range from insn ${i} to ${t}`);
      if (!seen[t]) {
        seen[t] = 1;
        stack.push(t);
      }
    }
    // kernel: visit_insn() / visit_func_call_insn() prune points; push_insn() marks a BRANCH
    // edge's target (a jump's, a callee's entry) as both
    if (isPseudoFunc(insn)) {
      aux[i]!.prunePoint = true;
      if (i + 2 < n) aux[i + 2]!.prunePoint = aux[i + 2]!.jmpPoint = true;
      const t = i + insn.imm + 1;
      if (t >= 0 && t < n) aux[t]!.prunePoint = aux[t]!.jmpPoint = true;
    } else if (c === op.CLASS_JMP || c === op.CLASS_JMP32) {
      const o = op.jmpOp(code);
      if (o === op.JMP_CALL) {
        if (i + 1 < n) aux[i + 1]!.prunePoint = aux[i + 1]!.jmpPoint = true;
        if (isPseudoCall(insn)) {
          aux[i]!.prunePoint = true;
          const t = i + insn.imm + 1;
          if (t >= 0 && t < n) aux[t]!.prunePoint = aux[t]!.jmpPoint = true;
        }
        // kernel: a callback-calling helper is a loop head (mark_calls_callback, mark_force_checkpoint)
        // kernel: is_async_callback_calling_insn(): checked before a new async state is pushed
        if (insn.src === 0 && insn.imm === 170) aux[i]!.prunePoint = true;
        if (insn.src === 0 && CALLBACK_HELPERS.has(insn.imm)) {
          aux[i]!.prunePoint = true;
          aux[i]!.jmpPoint = true;
          aux[i]!.forceCheckpoint = true;
          aux[i]!.callsCallback = true;
        }
      } else if (o === op.JMP_JA) {
        const t = jmpTarget(insns, i);
        if (t >= 0 && t < n) aux[t]!.prunePoint = aux[t]!.jmpPoint = true;
      } else if (code === op.OP_MAY_GOTO) {
        // kernel: a may_goto is a loop head like a callback call (mark_force_checkpoint)
        aux[i]!.prunePoint = true;
        aux[i]!.forceCheckpoint = true;
        aux[i]!.mayGoto = true;
        const t = jmpTarget(insns, i);
        if (t >= 0 && t < n) aux[t]!.prunePoint = aux[t]!.jmpPoint = true;
      } else if (o !== op.JMP_EXIT) {
        // kernel: the jump itself, and push_insn() marks the branch target
        aux[i]!.prunePoint = true;
        const t = jmpTarget(insns, i);
        if (t >= 0 && t < n) aux[t]!.prunePoint = aux[t]!.jmpPoint = true;
      }
    }
  }
  void subprogs;
  for (let i = 0; i < n; i++) {
    if (!seen[i]) reject(`unreachable insn ${i}`);
    if (insns[i]!.code === op.OP_LDDW) {
      if (seen[i + 1]) reject(`jump into the middle of ldimm64 insn ${i}`);
      i++;
    }
  }
}
