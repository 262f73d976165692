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

// The frames of every call chain together stay within 512 bytes (16-byte rounding, as with the
// JIT). A function address loaded into a register (a callback for bpf_loop, ...) counts as a call
// from the function that loads it: synchronous callbacks run on top of that frame. A timer
// callback runs later on a stack of its own, so it starts its own chain. With private stacks, a
// function of the main program's chain whose frame is 64 bytes or more runs on its own stack and
// adds nothing to the chain (unless a timer callback's chain also reaches it).
export function checkMaxStackDepth(env: VerifierEnv, rules: StackDepthRules): void {
  const round = (d: number): number => Math.ceil(d / 16) * 16;
  const subprogAt = (i: number): number => {
    let k = 0;
    for (let j = 0; j < env.subprogs.length; j++) if (env.subprogs[j]!.start <= i) k = j;
    return k;
  };
  const calls = env.subprogs.map(() => [] as number[]);
  const tails = env.subprogs.map(() => false);
  for (let i = 0; i < env.insns.length; i++) {
    const insn = env.insns[i]!;
    const isCall = insn.code === op.OP_CALL && insn.src === op.PSEUDO_CALL;
    const isFuncAddr = insn.code === op.OP_LDDW && insn.src === op.PSEUDO_FUNC;
    if (isCall || isFuncAddr) {
      const to = env.subprogs.findIndex((s) => s.start === i + insn.imm + 1);
      // an async callback adds to no chain unless called directly
      if (to >= 0 && !(isFuncAddr && env.subprogs[to]!.isAsyncCb)) calls[subprogAt(i)]!.push(to);
    }
    if (insn.code === op.OP_CALL && insn.src === 0 && insn.imm === BPF_FUNC_TAIL_CALL)
      tails[subprogAt(i)] = true;
    if (insn.code === op.OP_LDDW) i++;
  }
  // kernel: enum priv_stack_mode per subprog (undefined: PRIV_STACK_UNKNOWN)
  const onPrivStack: (boolean | undefined)[] = env.subprogs.map(() => undefined);
  const privMode = rules.privStack && !tails.some(Boolean) && privStackAllowed(env);
  // frame: the callee's index in the chain (0 for the walk's root)
  const visit = (sp: number, depth: number, frame: number, priv: boolean): void => {
    if (!priv) onPrivStack[sp] = false;
    if (rules.tailCallRule && sp !== 0 && tails[sp] && depth >= 256)
      reject(`tail_calls are not allowed when call stack of previous frames is ${depth} bytes. Too large`);
    const own = round(env.subprogs[sp]!.stackDepth);
    if (priv && onPrivStack[sp] === undefined && own >= PRIV_STACK_MIN_SIZE) onPrivStack[sp] = true;
    let d = depth;
    if (onPrivStack[sp]) {
      if (own > MAX_BPF_STACK) reject(`stack size of subprog ${sp} is ${own}. Too large`);
    } else {
      d += own;
      if (d > MAX_BPF_STACK) reject(`combined stack size of ${frame + 1} calls is ${d}. Too large`);
    }
    for (const callee of calls[sp]!) {
      if (frame + 1 >= MAX_CALL_FRAMES) reject(`the call stack of ${frame + 1} frames is too deep !`);
      visit(callee, d, frame + 1, priv);
    }
  };
  // as the kernel, async callbacks first, from the last function down, then the main program:
  // functions a timer callback reaches are then already off private stacks
  for (let k = env.subprogs.length - 1; k >= 0; k--)
    if (k === 0 || env.subprogs[k]!.isAsyncCb) visit(k, 0, 0, k === 0 && privMode);
}
