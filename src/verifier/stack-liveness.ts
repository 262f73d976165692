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
import { successors } from './cfg.ts';
import type { Subprog } from './env.ts';

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

/** Slots as two 32-bit words: slot s is bit s % 32 of word s >> 5 (512 bytes = 64 slots). */
const ALL = 0xffffffff;

const spiOf = (off: number): number => Math.floor((-off - 1) / 8);

/**
 * Live stack slots before each instruction: words [2i, 2i+1]. Functions whose stack escapes get
 * every bit set.
 */
export function computeLiveStack(insns: readonly Insn[], subprogs: readonly Subprog[]): Uint32Array {
  const n = insns.length;
  const live = new Uint32Array(2 * n);
  const funcOf = new Int32Array(n);
  for (let k = 0, i = 0; i < n; i++) {
    while (k + 1 < subprogs.length && subprogs[k + 1]!.start <= i) k++;
    funcOf[i] = k;
  }
  const succ = insns.map((_, i) => successors(insns, i).filter((t) => t >= 0 && t < n));

  // forward: fp-derived registers at each instruction
  const regsIn: (Int32Array | null)[] = new Array(n).fill(null);
  const escapes = new Uint8Array(subprogs.length);
  const work: number[] = [];
  for (const sp of subprogs) {
    const r = new Int32Array(11).fill(NOT_FP);
    r[10] = 0;
    regsIn[sp.start] = r;
    work.push(sp.start);
  }
  while (work.length) {
    const i = work.pop()!;
    const r = Int32Array.from(regsIn[i]!);
    const insn = insns[i]!;
    transfer(insn, r, () => (escapes[funcOf[i]!] = 1));
    for (const t of succ[i]!) {
      const cur = regsIn[t];
      if (!cur) {
        regsIn[t] = Int32Array.from(r);
        work.push(t);
        continue;
      }
      let changed = false;
      for (let k = 0; k < 11; k++) {
        const j = join(cur[k]!, r[k]!);
        if (j !== cur[k]) {
          cur[k] = j;
          changed = true;
        }
      }
      if (changed) work.push(t);
    }
  }

  // backward: uses and kills per instruction
  const useLo = new Uint32Array(n);
  const useHi = new Uint32Array(n);
  const killLo = new Uint32Array(n);
  const killHi = new Uint32Array(n);
  const addRange = (i: number, from: number, to: number): void => {
    for (let s = Math.max(0, from); s <= Math.min(63, to); s++) {
      if (s < 32) useLo[i] = (useLo[i]! | (1 << s)) >>> 0;
      else useHi[i] = (useHi[i]! | (1 << (s - 32))) >>> 0;
    }
  };
  for (let i = 0; i < n; i++) {
    const r = regsIn[i];
    if (!r) continue;
    const insn = insns[i]!;
    const c = op.cls(insn.code);
    const access = (reg: number, size: number): [number, number] | null => {
      const v = r[reg]!;
      if (!isFp(v)) return null;
      if (v === FP_UNKNOWN) return [0, 63];
      const off = v + insn.off;
      return [spiOf(off + size - 1), spiOf(off)];
    };
    if (c === op.CLASS_LDX) {
      const a = access(insn.src, op.sizeBytes(insn.code));
      if (a) addRange(i, a[0], a[1]);
    } else if (c === op.CLASS_STX || c === op.CLASS_ST) {
      const size = op.sizeBytes(insn.code);
      const a = access(insn.dst, size);
      if (!a) continue;
      const atomic = c === op.CLASS_STX && op.mode(insn.code) === op.MODE_ATOMIC;
      const v = r[insn.dst]! + insn.off;
      if (!atomic && r[insn.dst] !== FP_UNKNOWN && size === 8 && v % 8 === 0) {
        const s = spiOf(v);
        if (s >= 0 && s < 32) killLo[i] = (killLo[i]! | (1 << s)) >>> 0;
        else if (s >= 32 && s < 64) killHi[i] = (killHi[i]! | (1 << (s - 32))) >>> 0;
      } else if (atomic) {
        addRange(i, a[0], a[1]);
      }
    } else if (insn.code === op.OP_CALL) {
      // a helper may read from each stack pointer argument up to the frame's top; a callee or a
      // callback may read anywhere in this frame through it
      const anywhere = insn.src !== 0 || CALLBACK_HELPERS.has(insn.imm);
      for (let reg = 1; reg <= 5; reg++) {
        const v = r[reg]!;
        if (!isFp(v)) continue;
        addRange(i, 0, v === FP_UNKNOWN || anywhere ? 63 : spiOf(v));
      }
    }
  }
  for (let k = 0; k < subprogs.length; k++) {
    if (!escapes[k]) continue;
    for (let i = 0; i < n; i++) {
      if (funcOf[i] !== k) continue;
      useLo[i] = ALL;
      useHi[i] = ALL;
    }
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let lo = 0;
      let hi = 0;
      for (const t of succ[i]!) {
        lo |= live[2 * t]!;
        hi |= live[2 * t + 1]!;
      }
      const inLo = (useLo[i]! | (lo & ~killLo[i]!)) >>> 0;
      const inHi = (useHi[i]! | (hi & ~killHi[i]!)) >>> 0;
      if (inLo !== live[2 * i] || inHi !== live[2 * i + 1]) {
        live[2 * i] = inLo;
        live[2 * i + 1] = inHi;
        changed = true;
      }
    }
  }
  return live;
}

// how an instruction changes which registers hold stack addresses; `leak` when one is stored
function transfer(insn: Insn, r: Int32Array, leak: () => void): void {
  const code = insn.code;
  const c = op.cls(code);
  if (c === op.CLASS_ALU64 || c === op.CLASS_ALU) {
    const o = op.aluOp(code);
    const x = op.srcBit(code) === op.SRC_X;
    if (c === op.CLASS_ALU64 && o === op.ALU_MOV && x && insn.off === 0) {
      r[insn.dst] = r[insn.src]!;
      return;
    }
    const d = r[insn.dst]!;
    if (c === op.CLASS_ALU64 && !x && isFp(d) && d !== FP_UNKNOWN && (o === op.ALU_ADD || o === op.ALU_SUB)) {
      const v = o === op.ALU_ADD ? d + insn.imm : d - insn.imm;
      r[insn.dst] = v <= 0 ? v : FP_UNKNOWN;
      return;
    }
    if (o === op.ALU_MOV) {
      r[insn.dst] = x && isFp(r[insn.src]!) ? FP_UNKNOWN : NOT_FP;
      return;
    }
    r[insn.dst] = isFp(d) || (x && isFp(r[insn.src]!)) ? FP_UNKNOWN : NOT_FP;
    return;
  }
  if (c === op.CLASS_LDX) {
    r[insn.dst] = NOT_FP;
    return;
  }
  if (c === op.CLASS_STX) {
    if (isFp(r[insn.src]!)) leak();
    if (op.mode(code) === op.MODE_ATOMIC) {
      if (insn.imm === op.ATOMIC_CMPXCHG) r[0] = NOT_FP;
      else if (insn.imm & op.ATOMIC_FETCH) r[insn.src] = NOT_FP;
    }
    return;
  }
  if (c === op.CLASS_LD) {
    if (code === op.OP_LDDW) r[insn.dst] = NOT_FP;
    else for (let k = 0; k <= 5; k++) r[k] = NOT_FP;
    return;
  }
  if ((c === op.CLASS_JMP || c === op.CLASS_JMP32) && op.jmpOp(code) === op.JMP_CALL) {
    for (let k = 0; k <= 5; k++) r[k] = NOT_FP;
  }
}
