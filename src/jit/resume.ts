// Resume points for programs that may sleep (vm/sleep.ts, runtime/sleep/README.md). Only a
// program that calls a sleepable helper is compiled this way; every other program's code is
// unchanged.
//
// Each eBPF function then uses the br_table dispatcher, with every call to a sleepable helper
// and every bpf-to-bpf call alone in its block. When the helper import returns SLEEP, the frame
// writes a record (r0..r10, instruction count, may_goto budget, its block) into the resume area
// at depth * REC_SIZE, sets the area's "suspended" word and returns; each caller sees that word
// after its local call and saves its own record the same way. To resume, the engine puts the
// records back and sets "frames to restore": each function entered while it is non-zero loads
// its record and dispatches to its block, which executes the call again (the callee restores
// itself next; the innermost frame's helper now finds its data).
import { MAX_CALL_FRAMES } from '../vm/machine.ts';
import type { LoadedProgram } from '../vm/program.ts';
import { SLOT_WORDS, X_CALL_LOCAL } from '../vm/program.ts';
import { isSleepable, mayReturnAsleep } from '../vm/sleep.ts';
import { OP_CALL } from './cfg.ts';
import type { FuncBody } from './wasm/module.ts';
import { W } from './wasm/opcodes.ts';

/** What the helper import returns when the helper went to sleep. */
export const HELPER_SLEEP = 2;
/** Resume area (bytes): i32 suspended, i32 frames to restore, then one record per depth. */
export const RS_SUSPENDED = 0;
export const RS_FRAMES = 4;
export const RS_RECORDS = 16;
/** Record: r0..r10, count, may_goto budget, block position (i64 each). */
export const REC_SIZE = 128;
const REC_COUNT = 88;
const REC_MAYGOTO = 96;
const REC_POS = 104;
export const RESUME_AREA_SIZE = RS_RECORDS + MAX_CALL_FRAMES * REC_SIZE;
/** Index of the imported `rs` global (after `sc`). */
const RS_GLOBAL = 1;
const DEPTH = 11;

/**
 * Slots that must start a block of their own, followed by another block, in a resumable
 * program: calls to sleepable helpers and bpf-to-bpf calls. Undefined when the program calls
 * no sleepable helper (it is compiled as before).
 */
export function resumeSplits(prog: LoadedProgram): Uint8Array | undefined {
  const { code, len } = prog;
  let sleeps = false;
  for (let i = 0; i < len && !sleeps; i++)
    if ((code[i * SLOT_WORDS]! & 0x3ff) === OP_CALL && isSleepable(prog.helperFns[code[i * SLOT_WORDS + 3]!]))
      sleeps = true;
  if (!sleeps) return undefined;
  const split = new Uint8Array(len + 1);
  for (let i = 0; i < len; i++) {
    const xop = code[i * SLOT_WORDS]! & 0x3ff;
    if (xop === OP_CALL || xop === X_CALL_LOCAL) split[i] = split[i + 1] = 1;
  }
  return split;
}

/** Whether the helper call at slot i may return HELPER_SLEEP (itself, or a callback it runs). */
export function sleepsAt(prog: LoadedProgram, i: number): boolean {
  return mayReturnAsleep(prog.helperFns[prog.code[i * SLOT_WORDS + 3]!]);
}

/** The function's locals resume code touches. */
export interface FrameLocals {
  n: number;
  mg: number;
  pc: number;
  /** An i32 temporary. */
  a: number;
}

function recordAddr(f: FuncBody, l: FrameLocals): void {
  f.op(W.GLOBAL_GET);
  f.code.uleb(RS_GLOBAL);
  f.get(DEPTH);
  f.i32(7); // REC_SIZE = 1 << 7
  f.op(W.I32_SHL);
  f.op(W.I32_ADD);
  f.set(l.a);
}

function rs(f: FuncBody): void {
  f.op(W.GLOBAL_GET);
  f.code.uleb(RS_GLOBAL);
}

/** At function entry: while frames remain to be restored, load this frame's record. */
export function emitResumePrologue(f: FuncBody, l: FrameLocals): void {
  rs(f);
  f.mem(W.I32_LOAD, RS_FRAMES);
  f.op(W.IF);
  f.op(W.BLOCK_VOID);
  recordAddr(f, l);
  for (let r = 0; r <= 10; r++) {
    f.get(l.a);
    f.mem(W.I64_LOAD, RS_RECORDS + 8 * r);
    f.set(r);
  }
  f.get(l.a);
  f.mem(W.I64_LOAD, RS_RECORDS + REC_COUNT);
  f.set(l.n);
  f.get(l.a);
  f.mem(W.I64_LOAD, RS_RECORDS + REC_MAYGOTO);
  f.op(W.I32_WRAP_I64);
  f.set(l.mg);
  f.get(l.a);
  f.mem(W.I64_LOAD, RS_RECORDS + REC_POS);
  f.op(W.I32_WRAP_I64);
  f.set(l.pc);
  // The innermost frame (depth + 1 == frames) ends the restoring.
  f.get(DEPTH);
  f.i32(1);
  f.op(W.I32_ADD);
  rs(f);
  f.mem(W.I32_LOAD, RS_FRAMES);
  f.op(W.I32_EQ);
  f.op(W.IF);
  f.op(W.BLOCK_VOID);
  rs(f);
  f.i32(0);
  f.mem(W.I32_STORE, RS_FRAMES);
  f.op(W.END);
  f.op(W.END);
}

/**
 * Saves this frame's record for block position `pos` (a block holding only the call, which
 * runs again on resume, so the count leaves it out), marks the area suspended and returns.
 */
function emitSaveAndReturn(f: FuncBody, l: FrameLocals, pos: number): void {
  recordAddr(f, l);
  for (let r = 0; r <= 10; r++) {
    f.get(l.a);
    f.get(r);
    f.mem(W.I64_STORE, RS_RECORDS + 8 * r);
  }
  f.get(l.a);
  f.get(l.n);
  f.i64(-1, -1);
  f.op(W.I64_ADD);
  f.mem(W.I64_STORE, RS_RECORDS + REC_COUNT);
  f.get(l.a);
  f.get(l.mg);
  f.op(W.I64_EXTEND_I32_U);
  f.mem(W.I64_STORE, RS_RECORDS + REC_MAYGOTO);
  f.get(l.a);
  f.i64(pos, 0);
  f.mem(W.I64_STORE, RS_RECORDS + REC_POS);
  rs(f);
  f.i32(1);
  f.mem(W.I32_STORE, RS_SUSPENDED);
  for (let r = 0; r <= 5; r++) f.get(r);
  f.op(W.RETURN);
}

/** After the helper import (its i32 result on the stack, kept there): on SLEEP, suspend. */
export function emitHelperSleepCheck(f: FuncBody, l: FrameLocals, pos: number): void {
  f.tee(l.a);
  f.i32(HELPER_SLEEP);
  f.op(W.I32_EQ);
  f.op(W.IF);
  f.op(W.BLOCK_VOID);
  emitSaveAndReturn(f, l, pos);
  f.op(W.END);
  f.get(l.a);
}

/** After a bpf-to-bpf call: if the callee suspended, suspend this frame too. */
export function emitCallSleepCheck(f: FuncBody, l: FrameLocals, pos: number): void {
  rs(f);
  f.mem(W.I32_LOAD, RS_SUSPENDED);
  f.op(W.IF);
  f.op(W.BLOCK_VOID);
  emitSaveAndReturn(f, l, pos);
  f.op(W.END);
}
