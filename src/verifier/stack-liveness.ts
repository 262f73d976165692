// Stack slots live before each instruction (kernel 6.18: kernel/bpf/liveness.c,
// bpf_stack_slot_alive() used by clean_func_state()): a slot no path reads again before
// overwriting it cannot matter to the rest of the run, so pruning ignores it in the old state.
// A simpler, conservative version of the kernel's analysis, per function:
//   - a forward pass finds which registers hold fp + constant (or fp + unknown);
//   - a backward pass collects slots read (loads through them, helper memory arguments) and
//     slots wholly overwritten (8-byte aligned stores);
//   - a stack address passed to another function or to a callback helper (which run within the
//     call instruction) makes the call read every slot;
//   - a function whose stack address escapes (stored to memory) keeps every slot live.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import { successorTable } from './cfg.ts';
import type { Subprog, VerifierEnv } from './env.ts';
import { WorkArray } from './work-array.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

/** Register holds no frame pointer / fp + unknown offset; any other value v <= 0 is fp + v. */
const NOT_FP = 1;
const FP_UNKNOWN = 2;
const isFp = (v: number): boolean => v !== NOT_FP;
const join = (a: number, b: number): number =>
  a === b ? a : a === NOT_FP && b === NOT_FP ? NOT_FP : FP_UNKNOWN;

/** Helpers that hand a pointer to a callback (bpf_loop, for_each_map_elem, timer, user_ringbuf_drain, find_vma). */
const CALLBACK_HELPERS = new Set([164, 170, 180, 181, 209]);

// the passes' temporaries, reused between calls
const funcOfWork = new WorkArray((n) => new Int32Array(n));
const regsInWork = new WorkArray((n) => new Int32Array(n));
const reachedWork = new WorkArray((n) => new Uint8Array(n));
const escapesWork = new WorkArray((n) => new Uint8Array(n));
const useWork = new WorkArray((n) => new Uint32Array(n));
const killWork = new WorkArray((n) => new Uint32Array(n));

/** Slots as two 32-bit words: slot s is bit s % 32 of word s >> 5 (512 bytes = 64 slots). */
const ALL = 0xffffffff;

const spiOf = (off: number): number => Math.floor((-off - 1) / 8);

/** Sets bits from..to (clamped to 0..63) of the two-word slot mask at `at` in `words`. */
function addRange(words: Uint32Array, at: number, from: number, to: number): void {
  const lo = Math.max(from, 0);
  const hi = Math.min(to, 63);
  for (let s = lo; s <= hi; s++) {
    if (s < 32) words[at] = (words[at]! | (1 << s)) >>> 0;
    else words[at + 1] = (words[at + 1]! | (1 << (s - 32))) >>> 0;
  }
}

/**
 * Live stack slots before each instruction: words [2i, 2i+1]. Functions whose stack escapes get
 * every bit set. `succ` is successorTable(insns), computed here when not given.
 */
export function computeLiveStack(
  insns: readonly Insn[],
  subprogs: readonly Subprog[],
  succ: Int32Array = successorTable(insns),
): Uint32Array {
  const n = insns.length;
  const live = new Uint32Array(2 * n);
  const funcOf = funcOfWork.get(n);
  for (let k = 0, i = 0; i < n; i++) {
    while (k + 1 < subprogs.length && subprogs[k + 1]!.start <= i) k++;
    funcOf[i] = k;
  }

  // forward: fp-derived registers at each instruction, 11 per instruction in one array
  const regsIn = regsInWork.get(11 * n);
  const reached = reachedWork.get(n);
  const escapes = escapesWork.get(subprogs.length);
  const r = new Int32Array(11);
  const work: number[] = [];
  for (const sp of subprogs) {
    const base = 11 * sp.start;
    regsIn.fill(NOT_FP, base, base + 10);
    regsIn[base + 10] = 0;
    reached[sp.start] = 1;
    work.push(sp.start);
  }
  while (work.length) {
    const i = work.pop()!;
    for (let k = 0; k < 11; k++) r[k] = regsIn[11 * i + k]!;
    if (transfer(insns[i]!, r)) escapes[funcOf[i]!] = 1;
    for (let e = 2 * i; e < 2 * i + 2; e++) {
      const t = succ[e]!;
      if (t < 0) continue;
      const base = 11 * t;
      if (!reached[t]) {
        reached[t] = 1;
        for (let k = 0; k < 11; k++) regsIn[base + k] = r[k]!;
        work.push(t);
        continue;
      }
      let changed = false;
      for (let k = 0; k < 11; k++) {
        const cur = regsIn[base + k]!;
        const j = join(cur, r[k]!);
        if (j !== cur) {
          regsIn[base + k] = j;
          changed = true;
        }
      }
      if (changed) work.push(t);
    }
  }

  // backward: uses and kills per instruction, two words each as in `live`
  const use = useWork.get(2 * n);
  const kill = killWork.get(2 * n);
  for (let i = 0; i < n; i++) {
    if (!reached[i]) continue;
    const base = 11 * i;
    const insn = insns[i]!;
    const c = op.cls(insn.code);
    if (c === op.CLASS_LDX) {
      const v = regsIn[base + insn.src]!;
      if (!isFp(v)) continue;
      if (v === FP_UNKNOWN) addRange(use, 2 * i, 0, 63);
      else addRange(use, 2 * i, spiOf(v + insn.off + op.sizeBytes(insn.code) - 1), spiOf(v + insn.off));
    } else if (c === op.CLASS_STX || c === op.CLASS_ST) {
      const d = regsIn[base + insn.dst]!;
      if (!isFp(d)) continue;
      const size = op.sizeBytes(insn.code);
      const atomic = c === op.CLASS_STX && op.mode(insn.code) === op.MODE_ATOMIC;
      const v = d + insn.off;
      if (!atomic && d !== FP_UNKNOWN && size === 8 && v % 8 === 0) {
        const s = spiOf(v);
        if (s >= 0 && s < 32) kill[2 * i] = (kill[2 * i]! | (1 << s)) >>> 0;
        else if (s >= 32 && s < 64) kill[2 * i + 1] = (kill[2 * i + 1]! | (1 << (s - 32))) >>> 0;
      } else if (atomic) {
        if (d === FP_UNKNOWN) addRange(use, 2 * i, 0, 63);
        else addRange(use, 2 * i, spiOf(v + size - 1), spiOf(v));
      }
    } else if (insn.code === op.OP_CALL) {
      // a helper may read from each stack pointer argument up to the frame's top; a callee or a
      // callback may read anywhere in this frame through it
      const anywhere = insn.src !== 0 || CALLBACK_HELPERS.has(insn.imm);
      for (let reg = 1; reg <= 5; reg++) {
        const v = regsIn[base + reg]!;
        if (!isFp(v)) continue;
        addRange(use, 2 * i, 0, v === FP_UNKNOWN || anywhere ? 63 : spiOf(v));
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if (!escapes[funcOf[i]!]) continue;
    use[2 * i] = ALL;
    use[2 * i + 1] = ALL;
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let lo = 0;
      let hi = 0;
      const t0 = succ[2 * i]!;
      const t1 = succ[2 * i + 1]!;
      if (t0 >= 0) {
        lo = live[2 * t0]!;
        hi = live[2 * t0 + 1]!;
      }
      if (t1 >= 0) {
        lo |= live[2 * t1]!;
        hi |= live[2 * t1 + 1]!;
      }
      const inLo = (use[2 * i]! | (lo & ~kill[2 * i]!)) >>> 0;
      const inHi = (use[2 * i + 1]! | (hi & ~kill[2 * i + 1]!)) >>> 0;
      if (inLo !== live[2 * i] || inHi !== live[2 * i + 1]) {
        live[2 * i] = inLo;
        live[2 * i + 1] = inHi;
        changed = true;
      }
    }
  }
  return live;
}

/** env.liveStack, computed when first asked for (pruning compares a non-empty stack). */
export function liveStackOf(env: VerifierEnv): Uint32Array {
  env.liveStack ??= computeLiveStack(env.insns, env.subprogs, successorTable(env.insns, true));
  return env.liveStack;
}

// how an instruction changes which registers hold stack addresses; true when one is stored
function transfer(insn: Insn, r: Int32Array): boolean {
  const code = insn.code;
  const c = op.cls(code);
  if (c === op.CLASS_ALU64 || c === op.CLASS_ALU) {
    const o = op.aluOp(code);
    const x = op.srcBit(code) === op.SRC_X;
    if (c === op.CLASS_ALU64 && o === op.ALU_MOV && x && insn.off === 0) {
      r[insn.dst] = r[insn.src]!;
      return false;
    }
    const d = r[insn.dst]!;
    if (c === op.CLASS_ALU64 && !x && isFp(d) && d !== FP_UNKNOWN && (o === op.ALU_ADD || o === op.ALU_SUB)) {
      const v = o === op.ALU_ADD ? d + insn.imm : d - insn.imm;
      r[insn.dst] = v <= 0 ? v : FP_UNKNOWN;
      return false;
    }
    if (o === op.ALU_MOV) {
      r[insn.dst] = x && isFp(r[insn.src]!) ? FP_UNKNOWN : NOT_FP;
      return false;
    }
    r[insn.dst] = isFp(d) || (x && isFp(r[insn.src]!)) ? FP_UNKNOWN : NOT_FP;
    return false;
  }
  if (c === op.CLASS_LDX) {
    r[insn.dst] = NOT_FP;
    return false;
  }
  if (c === op.CLASS_STX) {
    const leaks = isFp(r[insn.src]!);
    if (op.mode(code) === op.MODE_ATOMIC) {
      if (insn.imm === op.ATOMIC_CMPXCHG) r[0] = NOT_FP;
      else if (insn.imm & op.ATOMIC_FETCH) r[insn.src] = NOT_FP;
    }
    return leaks;
  }
  if (c === op.CLASS_LD) {
    if (code === op.OP_LDDW) r[insn.dst] = NOT_FP;
    else for (let k = 0; k <= 5; k++) r[k] = NOT_FP;
    return false;
  }
  if ((c === op.CLASS_JMP || c === op.CLASS_JMP32) && op.jmpOp(code) === op.JMP_CALL) {
    for (let k = 0; k <= 5; k++) r[k] = NOT_FP;
  }
  return false;
}
