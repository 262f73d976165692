// What the interpreter needs around its loop: the Machine interface, fault builders, the
// region checks (small functions V8 inlines into the loop) and helper calls.
import { RuntimeFault } from '../errors.ts';
import type { Arena } from './arena.ts';
import type { HelperCtx, HelperImpl, HelperTable } from './helpers.ts';
import type { LoadedProgram } from './program.ts';
import { SleepRequest } from './sleep.ts';

/** kernel: MAX_CALL_FRAMES */
export const MAX_CALL_FRAMES = 8;
/** kernel: MAX_TAIL_CALL_CNT */
export const MAX_TAIL_CALL_CNT = 33;

/** The packet LD_ABS/LD_IND read (kernel: skb->data and skb_headlen()). */
export interface PacketWindow {
  start: number;
  len: number;
  /**
   * For negative LD_ABS/LD_IND offsets (SKF_LL_OFF / SKF_NET_OFF): the MAC and network header
   * addresses, and [head, tail) — the whole buffer including headroom, which the kernel allows.
   */
  mac?: number;
  net?: number;
  head?: number;
  tail?: number;
}

// kernel: include/uapi/linux/filter.h
const SKF_NET_OFF = -0x100000;
const SKF_LL_OFF = -0x200000;

/**
 * Address for a negative LD_ABS/LD_IND offset, or -1 (the program then ends with r0 = 0).
 * kernel: bpf_internal_load_pointer_neg_helper()
 */
export function negativeLoadAddr(pk: PacketWindow, off: number, size: number): number {
  let a: number;
  if (off >= SKF_NET_OFF && pk.net !== undefined) a = pk.net + off - SKF_NET_OFF;
  else if (off >= SKF_LL_OFF && off < SKF_NET_OFF && pk.mac !== undefined) a = pk.mac + off - SKF_LL_OFF;
  else return -1;
  if (pk.head === undefined || pk.tail === undefined) return -1;
  return a >= pk.head && a + size <= pk.tail ? a : -1;
}

/** What the interpreter needs from its VM. */
export interface Machine extends HelperCtx {
  readonly arena: Arena;
  readonly checked: boolean;
  /** Instructions a run may execute before it is stopped. */
  readonly budget: number;
  readonly helpers: HelperTable;
  /** Packet for LD_ABS/LD_IND, if the program type has one. */
  packet: PacketWindow | undefined;
  /**
   * Set by a bpf_tail_call implementation (through Vm.tailCall) during a helper call; the
   * interpreter then continues in that program.
   */
  tailCallTarget: LoadedProgram | undefined;
  /** Registers of the running program; HelperCtx reads arguments from them. */
  regLo: Int32Array;
  regHi: Int32Array;
  /**
   * Called before every instruction when set: a debugger's single-step hook (the browser
   * playground records its step-through trace with it). Read once per run.
   */
  onInsn?: InsnHook | undefined;
}

/** Sees the registers (Machine.regLo/regHi) before the instruction at `pc` of `prog` runs. */
export type InsnHook = (pc: number, depth: number, prog: LoadedProgram) => void;

export const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

export function fault(prog: LoadedProgram, pc: number, kind: string, msg: string): RuntimeFault {
  const code = prog.insns[pc]?.code ?? 0;
  return new RuntimeFault(kind, `${msg} (insn ${pc}, opcode ${hex(code)})`, {
    where: { prog: prog.name, insnIdx: pc },
  });
}

export function memFault(
  m: Machine,
  prog: LoadedProgram,
  pc: number,
  a: number,
  aHi: number,
  n: number,
  w: boolean,
) {
  const what = w ? 'write' : 'read';
  const addr = aHi !== 0 ? `0x${(aHi >>> 0).toString(16)}${(a >>> 0).toString(16).padStart(8, '0')}` : hex(a);
  const r = aHi === 0 && a >= 0 ? m.arena.regionAt(a) : undefined;
  let why: string;
  if (aHi === 0 && a >= 0 && a < 4096) why = 'NULL pointer dereference';
  else if (!r) why = 'outside any region';
  else if (w && !r.writable && a >= r.start && a + n <= r.end) why = `region "${r.name}" is read-only`;
  else why = `outside region "${r.name}" [${hex(r.start)}, ${hex(r.end)})`;
  return fault(prog, pc, 'mem', `invalid ${what} of ${n} bytes at ${addr}: ${why}`);
}

/** Stores a helper's return value into r0. */
export function setR0(lo: Int32Array, hi: Int32Array, v: number | bigint): void {
  if (typeof v === 'number') {
    lo[0] = v | 0;
    hi[0] = Math.floor(v / 4294967296) | 0;
  } else {
    lo[0] = Number(BigInt.asIntN(32, v));
    hi[0] = Number(BigInt.asIntN(32, v >> 32n));
  }
}

export function callHelper(
  m: Machine,
  prog: LoadedProgram,
  pc: number,
  fn: HelperImpl,
  lo: Int32Array,
  hi: Int32Array,
) {
  try {
    setR0(lo, hi, fn(m, lo[1]! >>> 0, lo[2]! >>> 0, lo[3]! >>> 0, lo[4]! >>> 0, lo[5]! >>> 0));
  } catch (e) {
    if (e instanceof RuntimeFault) {
      if (e.where.insnIdx === undefined) {
        e.where.insnIdx = pc;
        e.where.prog = prog.name;
      }
      throw e;
    }
    if (e instanceof SleepRequest) throw e; // the engine records where (vm/sleep.ts)
    throw fault(prog, pc, 'helper', `helper failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function budgetFault(prog: LoadedProgram, pc: number, budget: number): RuntimeFault {
  return fault(prog, pc, 'budget', `instruction budget of ${budget} exhausted`);
}

/** Table index of the region holding [a, a+n) (writable if write=1), or -1. */
export function regionOf(
  gran: Int32Array,
  rt: Int32Array,
  memSize: number,
  a: number,
  n: number,
  write: number,
): number {
  if (a < 0 || a + n > memSize) return -1;
  const k = gran[a >>> 6]! << 2;
  if (k === 0 || a < rt[k]! || a + n > rt[k + 1]!) return -1;
  return write === 0 || rt[k + 2] === 1 ? k : -1;
}
