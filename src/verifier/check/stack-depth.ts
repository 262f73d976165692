// kernel: check_max_stack_depth() + check_max_stack_depth_subprog(), run after do_check(): a
// walk of the call graph by call instructions alone (conditions ignored, so a recursion bounded
// by a precise argument still counts), with the kernel's limits on frames and stack bytes.
import { opcode as opNs } from '../../isa/index.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';

const op = { ...opNs };

// kernel: MAX_CALL_FRAMES, MAX_BPF_STACK, BPF_PRIV_STACK_MIN_SIZE
const MAX_CALL_FRAMES = 8;
const MAX_BPF_STACK = 512;
const PRIV_STACK_MIN_SIZE = 64;
const BPF_FUNC_TAIL_CALL = 12;

export interface StackDepthRules {
  /** From 5.10: a tail call under 256+ bytes of callers' frames is refused. */
  tailCallRule: boolean;
  /** From 6.13 (x86-64 JIT): tracing programs' big frames live on private stacks. */
  privStack: boolean;
}

// kernel: bpf_enable_priv_stack() with bpf_prog_check_recur(): the program types whose JIT may
// give a function a private (per-CPU) stack, because recursion into them is detected
function privStackAllowed(env: VerifierEnv): boolean {
  switch (env.progType) {
    case 'kprobe':
    case 'tracepoint':
    case 'perf_event':
    case 'raw_tracepoint':
      return true;
    case 'tracing':
      return env.attachType !== 'trace_iter';
    default:
      return false;
  }
}

const round16 = (d: number): number => Math.ceil(d / 16) * 16;

/** The function (index into subprogs, sorted by start) instruction i belongs to. */
function subprogAt(subprogs: VerifierEnv['subprogs'], i: number): number {
  let k = 0;
  for (let j = 1; j < subprogs.length && subprogs[j]!.start <= i; j++) k = j;
  return k;
}

/** The call graph walk's facts, one object per checkMaxStackDepth() (no closures: tsx names each one). */
interface Walk {
  env: VerifierEnv;
  rules: StackDepthRules;
  calls: number[][];
  tails: boolean[];
  /** kernel: enum priv_stack_mode per subprog (undefined: PRIV_STACK_UNKNOWN) */
  onPrivStack: (boolean | undefined)[];
}

// frame: the callee's index in the chain (0 for the walk's root)
function visit(w: Walk, sp: number, depth: number, frame: number, priv: boolean): void {
  const { onPrivStack } = w;
  if (!priv) onPrivStack[sp] = false;
  if (w.rules.tailCallRule && sp !== 0 && w.tails[sp] && depth >= 256)
    reject(`tail_calls are not allowed when call stack of previous frames is ${depth} bytes. Too large`);
  const own = round16(w.env.subprogs[sp]!.stackDepth);
  if (priv && onPrivStack[sp] === undefined && own >= PRIV_STACK_MIN_SIZE) onPrivStack[sp] = true;
  let d = depth;
  if (onPrivStack[sp]) {
    if (own > MAX_BPF_STACK) reject(`stack size of subprog ${sp} is ${own}. Too large`);
  } else {
    d += own;
    if (d > MAX_BPF_STACK) reject(`combined stack size of ${frame + 1} calls is ${d}. Too large`);
  }
  for (const callee of w.calls[sp]!) {
    if (frame + 1 >= MAX_CALL_FRAMES) reject(`the call stack of ${frame + 1} frames is too deep !`);
    visit(w, callee, d, frame + 1, priv);
  }
}

// The frames of every call chain together stay within 512 bytes (16-byte rounding, as with the
// JIT). A function address loaded into a register (a callback for bpf_loop, ...) counts as a call
// from the function that loads it: synchronous callbacks run on top of that frame. A timer
// callback runs later on a stack of its own, so it starts its own chain. With private stacks, a
// function of the main program's chain whose frame is 64 bytes or more runs on its own stack and
// adds nothing to the chain (unless a timer callback's chain also reaches it).
export function checkMaxStackDepth(env: VerifierEnv, rules: StackDepthRules): void {
  const subprogs = env.subprogs;
  const n = subprogs.length;
  const calls: number[][] = [];
  const tails: boolean[] = [];
  for (let k = 0; k < n; k++) {
    calls.push([]);
    tails.push(false);
  }
  // one function: no call instruction to look for
  if (n > 1) {
    for (let i = 0; i < env.insns.length; i++) {
      const insn = env.insns[i]!;
      const isCall = insn.code === op.OP_CALL && insn.src === op.PSEUDO_CALL;
      const isFuncAddr = insn.code === op.OP_LDDW && insn.src === op.PSEUDO_FUNC;
      if (isCall || isFuncAddr) {
        const to = subprogStartingAt(subprogs, i + insn.imm + 1);
        // an async callback adds to no chain unless called directly
        if (to >= 0 && !(isFuncAddr && subprogs[to]!.isAsyncCb)) calls[subprogAt(subprogs, i)]!.push(to);
      }
      if (insn.code === op.OP_CALL && insn.src === 0 && insn.imm === BPF_FUNC_TAIL_CALL)
        tails[subprogAt(subprogs, i)] = true;
      if (insn.code === op.OP_LDDW) i++;
    }
  } else {
    for (const insn of env.insns) {
      if (insn.code === op.OP_CALL && insn.src === 0 && insn.imm === BPF_FUNC_TAIL_CALL) tails[0] = true;
    }
  }
  const onPrivStack: (boolean | undefined)[] = new Array(n).fill(undefined);
  const privMode = rules.privStack && !tails.includes(true) && privStackAllowed(env);
  const w: Walk = { env, rules, calls, tails, onPrivStack };
  // as the kernel, async callbacks first, from the last function down, then the main program:
  // functions a timer callback reaches are then already off private stacks
  for (let k = n - 1; k >= 0; k--)
    if (k === 0 || subprogs[k]!.isAsyncCb) visit(w, k, 0, 0, k === 0 && privMode);
}

function subprogStartingAt(subprogs: VerifierEnv['subprogs'], start: number): number {
  for (let k = 0; k < subprogs.length; k++) if (subprogs[k]!.start === start) return k;
  return -1;
}
