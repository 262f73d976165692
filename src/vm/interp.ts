// The interpreter: one switch over pre-decoded slots (program.ts), registers as two Int32Array
// halves. No BigInt here except in alu64.ts's rare wide-division path.
//
// Checked mode validates every load/store against the arena's region table; the last region a
// read and a write passed is cached in locals, so loops over one buffer cost two compares
// (measured: checked memory loops went from ~150 to ~205 M insns/s). Unchecked mode skips this;
// out-of-arena accesses still cannot corrupt the host (DataView throws) and become RuntimeFaults.
// Jumps and call targets are validated at load; the instruction budget is checked on every taken
// jump and call, so loops stop.
import { RuntimeFault } from '../errors.ts';
import { MAX_BPF_STACK } from '../isa/opcode.ts';
import * as alu from './alu64.ts';
import { atomic32, atomic64 } from './atomics.ts';
import {
  budgetFault,
  callHelper,
  fault,
  type Machine,
  MAX_CALL_FRAMES,
  memFault,
  negativeLoadAddr,
  regionOf,
} from './machine.ts';
import * as X from './program.ts';
import type { LoadedProgram } from './program.ts';
import { SleepRequest, type SuspendPoint } from './sleep.ts';

export { type Machine, MAX_CALL_FRAMES, type PacketWindow } from './machine.ts';

/**
 * kernel: BPF_MAX_LOOPS, the may_goto budget. Deterministic on purpose: 6.18's JIT uses a timed
 * budget instead (~250 ms; one measured run allowed 250,605,840 iterations).
 */
const BPF_MAX_LOOPS = 8 * 1024 * 1024;

interface FrameScratch {
  retPc: Int32Array;
  saved: Int32Array;
  mayGoto: Int32Array;
}

// One set per register file: each nesting level (callbacks) runs on its own registers, so it gets
// its own frames too. Allocating three typed arrays per run cost about a microsecond.
const frameScratch = new WeakMap<Int32Array, FrameScratch>();

function frameScratchFor(lo: Int32Array): FrameScratch {
  let f = frameScratch.get(lo);
  if (f === undefined) {
    f = {
      retPc: new Int32Array(MAX_CALL_FRAMES),
      saved: new Int32Array(MAX_CALL_FRAMES * 8),
      mayGoto: new Int32Array(MAX_CALL_FRAMES),
    };
    frameScratch.set(lo, f);
  }
  return f;
}

/**
 * Runs `prog` from slot `entry` with registers lo/hi already set up (r1.., r10 = top of the
 * first frame's stack). Returns the number of instructions executed; r0 is in lo[0]/hi[0].
 * With `resume` (a SleepRequest's point, registers and stack restored by the caller) it goes on
 * from that point instead: vm/sleep.ts.
 */
export function interpret(
  m: Machine,
  entryProg: LoadedProgram,
  lo: Int32Array,
  hi: Int32Array,
  entry = 0,
  resume?: SuspendPoint,
): number {
  let prog = resume === undefined ? entryProg : resume.prog;
  // Not const: a tail call replaces the running program.
  let code = prog.code;
  let helperFns = prog.helperFns;
  const checked = m.checked;
  const budget = m.budget;
  const arena = m.arena;
  // Case labels are number literals on purpose: V8 builds a jump table only for Smi-literal
  // cases; with imported constants as labels the switch ran about 2x slower.
  // Views are plain locals (no closure captures them) and are reloaded after every helper
  // call, since a helper may grow the memory or allocate regions.
  let dv = arena.dv;
  let gran = arena.gran;
  let rt = arena.regTable;
  let memSize = arena.size;
  // Last region a read / write passed in: repeated accesses skip the table lookup.
  let rS = 0;
  let rE = 0;
  let wS = 0;
  let wE = 0;

  // Call frames: return slot and callee-saved r6..r9 (lo, hi) per level; may_goto budget per
  // frame (kernel: a hidden stack slot set to BPF_MAX_LOOPS on entry). Every slot is written
  // before it is read, so the arrays are reused from run to run.
  const frames = frameScratchFor(lo);
  const retPc = frames.retPc;
  const saved = frames.saved;
  let depth = 0;
  const mayGoto = frames.mayGoto;
  mayGoto[0] = BPF_MAX_LOOPS;
  let pc = entry;
  let n = 0;
  if (resume !== undefined) {
    if (resume.engine !== 'interp') throw fault(prog, 0, 'sleep', 'cannot resume a JIT suspend point');
    depth = resume.depth;
    retPc.set(resume.retPc);
    saved.set(resume.saved);
    mayGoto.set(resume.mayGoto);
    pc = resume.pc;
    n = resume.n;
  }
  const stackTop = lo[10]! + depth * MAX_BPF_STACK;

  m.regLo = lo;
  m.regHi = hi;
  const onInsn = m.onInsn;
  try {
    for (;;) {
      if (onInsn !== undefined) onInsn(pc, depth, prog);
      const p = pc << 2;
      const w = code[p]!;
      const d = (w >> 12) & 15;
      const s = (w >> 16) & 15;
      pc++;
      n++;
      switch (w & 0x3ff) {
        // ---- ALU64, immediate (sign-extended to 64 bits) ----
        case 0x07: {
          const imm = code[p + 2]!;
          const a = lo[d]!;
          const r = (a + imm) | 0;
          hi[d] = (hi[d]! + (imm >> 31) + (r >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          lo[d] = r;
          break;
        }
        case 0x17: {
          const imm = code[p + 2]!;
          const a = lo[d]!;
          hi[d] = (hi[d]! - (imm >> 31) - (a >>> 0 < imm >>> 0 ? 1 : 0)) | 0;
          lo[d] = (a - imm) | 0;
          break;
        }
        case 0x27: {
          const imm = code[p + 2]!;
          alu.mul64(lo, hi, d, imm, imm >> 31);
          break;
        }
        case 0x37: {
          const imm = code[p + 2]!;
          alu.udiv64(lo, hi, d, imm, imm >> 31);
          break;
        }
        case 0x47: {
          const imm = code[p + 2]!;
          lo[d] = lo[d]! | imm;
          hi[d] = hi[d]! | (imm >> 31);
          break;
        }
        case 0x57: {
          const imm = code[p + 2]!;
          lo[d] = lo[d]! & imm;
          hi[d] = hi[d]! & (imm >> 31);
          break;
        }
        case 0x67:
          alu.lsh64(lo, hi, d, code[p + 2]!);
          break;
        case 0x77:
          alu.rsh64(lo, hi, d, code[p + 2]!);
          break;
        case 0x87: {
          const a = lo[d]!;
          lo[d] = -a | 0;
          hi[d] = (~hi[d]! + (a === 0 ? 1 : 0)) | 0;
          break;
        }
        case 0x97: {
          const imm = code[p + 2]!;
          alu.umod64(lo, hi, d, imm, imm >> 31);
          break;
        }
        case 0xa7: {
          const imm = code[p + 2]!;
          lo[d] = lo[d]! ^ imm;
          hi[d] = hi[d]! ^ (imm >> 31);
          break;
        }
        case 0xb7: {
          const imm = code[p + 2]!;
          lo[d] = imm;
          hi[d] = imm >> 31;
          break;
        }
        case 0xc7:
          alu.arsh64(lo, hi, d, code[p + 2]!);
          break;
        case 0x104 /* X_SDIV64_K */:
          {
            const imm = code[p + 2]!;
            alu.sdiv64(lo, hi, d, imm, imm >> 31);
            break;
          }
        case 0x106 /* X_SMOD64_K */:
          {
            const imm = code[p + 2]!;
            alu.smod64(lo, hi, d, imm, imm >> 31);
            break;
          }

        // ---- ALU64, register ----
        case 0x0f: {
          const a = lo[d]!;
          const b = lo[s]!;
          const r = (a + b) | 0;
          hi[d] = (hi[d]! + hi[s]! + (r >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          lo[d] = r;
          break;
        }
        case 0x1f: {
          const a = lo[d]!;
          const b = lo[s]!;
          hi[d] = (hi[d]! - hi[s]! - (a >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          lo[d] = (a - b) | 0;
          break;
        }
        case 0x2f:
          alu.mul64(lo, hi, d, lo[s]!, hi[s]!);
          break;
        case 0x3f:
          alu.udiv64(lo, hi, d, lo[s]!, hi[s]!);
          break;
        case 0x4f:
          lo[d] = lo[d]! | lo[s]!;
          hi[d] = hi[d]! | hi[s]!;
          break;
        case 0x5f:
          lo[d] = lo[d]! & lo[s]!;
          hi[d] = hi[d]! & hi[s]!;
          break;
        case 0x6f:
          alu.lsh64(lo, hi, d, lo[s]!);
          break;
        case 0x7f:
          alu.rsh64(lo, hi, d, lo[s]!);
          break;
        case 0x9f:
          alu.umod64(lo, hi, d, lo[s]!, hi[s]!);
          break;
        case 0xaf:
          lo[d] = lo[d]! ^ lo[s]!;
          hi[d] = hi[d]! ^ hi[s]!;
          break;
        case 0xbf:
          lo[d] = lo[s]!;
          hi[d] = hi[s]!;
          break;
        case 0xcf:
          alu.arsh64(lo, hi, d, lo[s]!);
          break;
        case 0x105 /* X_SDIV64_X */:
          alu.sdiv64(lo, hi, d, lo[s]!, hi[s]!);
          break;
        case 0x107 /* X_SMOD64_X */:
          alu.smod64(lo, hi, d, lo[s]!, hi[s]!);
          break;
        case 0x10a /* X_MOVSX64_8 */:
          {
            const v = (lo[s]! << 24) >> 24;
            lo[d] = v;
            hi[d] = v >> 31;
            break;
          }
        case 0x10b /* X_MOVSX64_16 */:
          {
            const v = (lo[s]! << 16) >> 16;
            lo[d] = v;
            hi[d] = v >> 31;
            break;
          }
        case 0x10c /* X_MOVSX64_32 */:
          {
            const v = lo[s]!;
            lo[d] = v;
            hi[d] = v >> 31;
            break;
          }

        // ---- ALU32, immediate (results zero-extended) ----
        case 0x04:
          lo[d] = (lo[d]! + code[p + 2]!) | 0;
          hi[d] = 0;
          break;
        case 0x14:
          lo[d] = (lo[d]! - code[p + 2]!) | 0;
          hi[d] = 0;
          break;
        case 0x24:
          lo[d] = Math.imul(lo[d]!, code[p + 2]!);
          hi[d] = 0;
          break;
        case 0x34: {
          const b = code[p + 2]! >>> 0;
          lo[d] = b === 0 ? 0 : ((lo[d]! >>> 0) / b) | 0;
          hi[d] = 0;
          break;
        }
        case 0x44:
          lo[d] = lo[d]! | code[p + 2]!;
          hi[d] = 0;
          break;
        case 0x54:
          lo[d] = lo[d]! & code[p + 2]!;
          hi[d] = 0;
          break;
        case 0x64:
          lo[d] = lo[d]! << code[p + 2]!;
          hi[d] = 0;
          break;
        case 0x74:
          lo[d] = lo[d]! >>> code[p + 2]!;
          hi[d] = 0;
          break;
        case 0x84:
          lo[d] = -lo[d]! | 0;
          hi[d] = 0;
          break;
        case 0x94: {
          const b = code[p + 2]! >>> 0;
          if (b !== 0) lo[d] = ((lo[d]! >>> 0) % b) | 0;
          hi[d] = 0;
          break;
        }
        case 0xa4:
          lo[d] = lo[d]! ^ code[p + 2]!;
          hi[d] = 0;
          break;
        case 0xb4:
          lo[d] = code[p + 2]!;
          hi[d] = 0;
          break;
        case 0xc4:
          lo[d] = lo[d]! >> code[p + 2]!;
          hi[d] = 0;
          break;
        case 0x100 /* X_SDIV32_K */:
          lo[d] = alu.sdiv32(lo[d]!, code[p + 2]!);
          hi[d] = 0;
          break;
        case 0x102 /* X_SMOD32_K */:
          lo[d] = alu.smod32(lo[d]!, code[p + 2]!);
          hi[d] = 0;
          break;

        // ---- ALU32, register ----
        case 0x0c:
          lo[d] = (lo[d]! + lo[s]!) | 0;
          hi[d] = 0;
          break;
        case 0x1c:
          lo[d] = (lo[d]! - lo[s]!) | 0;
          hi[d] = 0;
          break;
        case 0x2c:
          lo[d] = Math.imul(lo[d]!, lo[s]!);
          hi[d] = 0;
          break;
        case 0x3c: {
          const b = lo[s]! >>> 0;
          lo[d] = b === 0 ? 0 : ((lo[d]! >>> 0) / b) | 0;
          hi[d] = 0;
          break;
        }
        case 0x4c:
          lo[d] = lo[d]! | lo[s]!;
          hi[d] = 0;
          break;
        case 0x5c:
          lo[d] = lo[d]! & lo[s]!;
          hi[d] = 0;
          break;
        case 0x6c:
          lo[d] = lo[d]! << lo[s]!;
          hi[d] = 0;
          break;
        case 0x7c:
          lo[d] = lo[d]! >>> lo[s]!;
          hi[d] = 0;
          break;
        case 0x9c: {
          const b = lo[s]! >>> 0;
          if (b !== 0) lo[d] = ((lo[d]! >>> 0) % b) | 0;
          hi[d] = 0;
          break;
        }
        case 0xac:
          lo[d] = lo[d]! ^ lo[s]!;
          hi[d] = 0;
          break;
        case 0xbc:
          lo[d] = lo[s]!;
          hi[d] = 0;
          break;
        case 0xcc:
          lo[d] = lo[d]! >> lo[s]!;
          hi[d] = 0;
          break;
        case 0x101 /* X_SDIV32_X */:
          lo[d] = alu.sdiv32(lo[d]!, lo[s]!);
          hi[d] = 0;
          break;
        case 0x103 /* X_SMOD32_X */:
          lo[d] = alu.smod32(lo[d]!, lo[s]!);
          hi[d] = 0;
          break;
        case 0x108 /* X_MOVSX32_8 */:
          lo[d] = (lo[s]! << 24) >> 24;
          hi[d] = 0;
          break;
        case 0x109 /* X_MOVSX32_16 */:
          lo[d] = (lo[s]! << 16) >> 16;
          hi[d] = 0;
          break;

        // ---- byte order ----
        case 0x10d /* X_LE16 */:
          lo[d] = lo[d]! & 0xffff;
          hi[d] = 0;
          break;
        case 0x10e /* X_LE32 */:
          hi[d] = 0;
          break;
        case 0x10f /* X_LE64 */:
          break;
        case 0x110 /* X_BE16 */:
        case 0x113 /* X_BSWAP16 */:
          lo[d] = alu.bswap16(lo[d]!);
          hi[d] = 0;
          break;
        case 0x111 /* X_BE32 */:
        case 0x114 /* X_BSWAP32 */:
          lo[d] = alu.bswap32(lo[d]!);
          hi[d] = 0;
          break;
        case 0x112 /* X_BE64 */:
        case 0x115 /* X_BSWAP64 */:
          {
            const t = alu.bswap32(lo[d]!);
            lo[d] = alu.bswap32(hi[d]!);
            hi[d] = t;
            break;
          }

        case 0xe5:
          // may_goto: falls through while the frame's loop budget lasts, then jumps.
          if (mayGoto[depth] === 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          } else mayGoto[depth]--;
          break;

        // ---- jumps, 64-bit compares ----
        case 0x05:
        case 0x06:
          pc += code[p + 1]!;
          if (n > budget) throw budgetFault(prog, pc, budget);
          break;
        case 0x15: {
          const imm = code[p + 2]!;
          if (lo[d] === imm && hi[d] === imm >> 31) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x1d:
          if (lo[d] === lo[s] && hi[d] === hi[s]) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        case 0x55: {
          const imm = code[p + 2]!;
          if (lo[d] !== imm || hi[d] !== imm >> 31) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x5d:
          if (lo[d] !== lo[s] || hi[d] !== hi[s]) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        case 0x45: {
          const imm = code[p + 2]!;
          if ((lo[d]! & imm) !== 0 || (hi[d]! & (imm >> 31)) !== 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x4d:
          if ((lo[d]! & lo[s]!) !== 0 || (hi[d]! & hi[s]!) !== 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        case 0x25: {
          // jgt imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 > bl >>> 0 : ah >>> 0 > bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x2d: {
          // jgt reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 > bl >>> 0 : ah >>> 0 > bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x35: {
          // jge imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 >= bl >>> 0 : ah >>> 0 > bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x3d: {
          // jge reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 >= bl >>> 0 : ah >>> 0 > bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xa5: {
          // jlt imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 < bl >>> 0 : ah >>> 0 < bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xad: {
          // jlt reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 < bl >>> 0 : ah >>> 0 < bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xb5: {
          // jle imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 <= bl >>> 0 : ah >>> 0 < bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xbd: {
          // jle reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 <= bl >>> 0 : ah >>> 0 < bh >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x65: {
          // jsgt imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 > bl >>> 0 : ah > bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x6d: {
          // jsgt reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 > bl >>> 0 : ah > bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x75: {
          // jsge imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 >= bl >>> 0 : ah > bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x7d: {
          // jsge reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 >= bl >>> 0 : ah > bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xc5: {
          // jslt imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 < bl >>> 0 : ah < bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xcd: {
          // jslt reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 < bl >>> 0 : ah < bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xd5: {
          // jsle imm
          const imm = code[p + 2]!;
          const bl = imm;
          const bh = imm >> 31;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 <= bl >>> 0 : ah < bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xdd: {
          // jsle reg
          const bl = lo[s]!;
          const bh = hi[s]!;
          const ah = hi[d]!;
          if (ah === bh ? lo[d]! >>> 0 <= bl >>> 0 : ah < bh) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }

        // ---- jumps, 32-bit compares ----
        case 0x16: {
          // jeq32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a === b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x1e: {
          // jeq32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a === b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x56: {
          // jne32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a !== b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x5e: {
          // jne32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a !== b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x46: {
          // jset32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if ((a & b) !== 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x4e: {
          // jset32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if ((a & b) !== 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x26: {
          // jgt32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a >>> 0 > b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x2e: {
          // jgt32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a >>> 0 > b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x36: {
          // jge32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a >>> 0 >= b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x3e: {
          // jge32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a >>> 0 >= b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xa6: {
          // jlt32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a >>> 0 < b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xae: {
          // jlt32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a >>> 0 < b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xb6: {
          // jle32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a >>> 0 <= b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xbe: {
          // jle32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a >>> 0 <= b >>> 0) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x66: {
          // jsgt32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a > b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x6e: {
          // jsgt32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a > b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x76: {
          // jsge32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a >= b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0x7e: {
          // jsge32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a >= b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xc6: {
          // jslt32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a < b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xce: {
          // jslt32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a < b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xd6: {
          // jsle32 imm
          const a = lo[d]!;
          const b = code[p + 2]!;
          if (a <= b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }
        case 0xde: {
          // jsle32 reg
          const a = lo[d]!;
          const b = lo[s]!;
          if (a <= b) {
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
          }
          break;
        }

        // ---- loads ----
        case 0x61: {
          const a = (lo[s]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, 4, false);
            if (a < rS || a + 4 > rE) {
              const k = regionOf(gran, rt, memSize, a, 4, 0);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 4, false);
              rS = rt[k]!;
              rE = rt[k + 1]!;
            }
          }
          lo[d] = dv.getInt32(a, true);
          hi[d] = 0;
          break;
        }
        case 0x69: {
          const a = (lo[s]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, 2, false);
            if (a < rS || a + 2 > rE) {
              const k = regionOf(gran, rt, memSize, a, 2, 0);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 2, false);
              rS = rt[k]!;
              rE = rt[k + 1]!;
            }
          }
          lo[d] = dv.getUint16(a, true);
          hi[d] = 0;
          break;
        }
        case 0x71: {
          const a = (lo[s]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, 1, false);
            if (a < rS || a + 1 > rE) {
              const k = regionOf(gran, rt, memSize, a, 1, 0);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 1, false);
              rS = rt[k]!;
              rE = rt[k + 1]!;
            }
          }
          lo[d] = dv.getUint8(a);
          hi[d] = 0;
          break;
        }
        case 0x79: {
          const a = (lo[s]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, 8, false);
            if (a < rS || a + 8 > rE) {
              const k = regionOf(gran, rt, memSize, a, 8, 0);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 8, false);
              rS = rt[k]!;
              rE = rt[k + 1]!;
            }
          }
          lo[d] = dv.getInt32(a, true);
          hi[d] = dv.getInt32(a + 4, true);
          break;
        }
        case 0x81: {
          const a = (lo[s]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, 4, false);
            if (a < rS || a + 4 > rE) {
              const k = regionOf(gran, rt, memSize, a, 4, 0);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 4, false);
              rS = rt[k]!;
              rE = rt[k + 1]!;
            }
          }
          const v = dv.getInt32(a, true);
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        case 0x89: {
          const a = (lo[s]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, 2, false);
            if (a < rS || a + 2 > rE) {
              const k = regionOf(gran, rt, memSize, a, 2, 0);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 2, false);
              rS = rt[k]!;
              rE = rt[k + 1]!;
            }
          }
          const v = dv.getInt16(a, true);
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        case 0x91: {
          const a = (lo[s]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, 1, false);
            if (a < rS || a + 1 > rE) {
              const k = regionOf(gran, rt, memSize, a, 1, 0);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 1, false);
              rS = rt[k]!;
              rE = rt[k + 1]!;
            }
          }
          const v = dv.getInt8(a);
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }

        // ---- stores: immediate ----
        case 0x62: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 4, true);
            if (a < wS || a + 4 > wE) {
              const k = regionOf(gran, rt, memSize, a, 4, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 4, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          dv.setInt32(a, code[p + 2]!, true);
          break;
        }
        case 0x6a: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 2, true);
            if (a < wS || a + 2 > wE) {
              const k = regionOf(gran, rt, memSize, a, 2, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 2, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          dv.setInt16(a, code[p + 2]!, true);
          break;
        }
        case 0x72: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 1, true);
            if (a < wS || a + 1 > wE) {
              const k = regionOf(gran, rt, memSize, a, 1, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 1, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          dv.setInt8(a, code[p + 2]!);
          break;
        }
        case 0x7a: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 8, true);
            if (a < wS || a + 8 > wE) {
              const k = regionOf(gran, rt, memSize, a, 8, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 8, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          const imm = code[p + 2]!;
          dv.setInt32(a, imm, true);
          dv.setInt32(a + 4, imm >> 31, true);
          break;
        }

        // ---- stores: register ----
        case 0x63: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 4, true);
            if (a < wS || a + 4 > wE) {
              const k = regionOf(gran, rt, memSize, a, 4, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 4, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          dv.setInt32(a, lo[s]!, true);
          break;
        }
        case 0x6b: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 2, true);
            if (a < wS || a + 2 > wE) {
              const k = regionOf(gran, rt, memSize, a, 2, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 2, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          dv.setInt16(a, lo[s]!, true);
          break;
        }
        case 0x73: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 1, true);
            if (a < wS || a + 1 > wE) {
              const k = regionOf(gran, rt, memSize, a, 1, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 1, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          dv.setInt8(a, lo[s]!);
          break;
        }
        case 0x7b: {
          const a = (lo[d]! >>> 0) + code[p + 1]!;
          if (checked) {
            if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 8, true);
            if (a < wS || a + 8 > wE) {
              const k = regionOf(gran, rt, memSize, a, 8, 1);
              if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 8, true);
              wS = rt[k]!;
              wE = rt[k + 1]!;
            }
          }
          dv.setInt32(a, lo[s]!, true);
          dv.setInt32(a + 4, hi[s]!, true);
          break;
        }

        // ---- lddw (value resolved at load) ----
        case 0x18:
          lo[d] = code[p + 2]!;
          hi[d] = code[p + 3]!;
          pc++;
          break;

        // ---- legacy packet loads: big-endian, out of bounds ends the program with r0 = 0 ----
        case 0x20:
        case 0x28:
        case 0x30:
        case 0x40:
        case 0x48:
        case 0x50: {
          const pk = m.packet;
          if (!pk) throw fault(prog, pc - 1, 'ld_abs', 'LD_ABS/LD_IND needs a packet context');
          const size = (w & 0x18) === 0 ? 4 : (w & 0x18) === 0x08 ? 2 : 1;
          const off = (w & 0xe0) === 0x20 ? code[p + 2]! : (lo[s]! + code[p + 2]!) | 0;
          // kernel: bpf_skb_load_helper_*()
          const a = off >= 0 ? (off + size <= pk.len ? pk.start + off : -1) : negativeLoadAddr(pk, off, size);
          if (a < 0) {
            lo[0] = 0;
            hi[0] = 0;
            return n;
          }
          lo[0] = size === 4 ? dv.getInt32(a, false) : size === 2 ? dv.getUint16(a, false) : dv.getUint8(a);
          hi[0] = 0;
          break;
        }

        // ---- atomics ----
        case 0x120 /* X_ATOMIC+0 */: // add
        case 0x121 /* X_ATOMIC+1 */: // or
        case 0x122 /* X_ATOMIC+2 */: // and
        case 0x123 /* X_ATOMIC+3 */: // xor
        case 0x124 /* X_ATOMIC+4 */: // fetch add
        case 0x125 /* X_ATOMIC+5 */: // fetch or
        case 0x126 /* X_ATOMIC+6 */: // fetch and
        case 0x127 /* X_ATOMIC+7 */: // fetch xor
        case 0x128 /* X_ATOMIC+8 */: // xchg
        case 0x129 /* X_ATOMIC+9 */: // cmpxchg
          {
            const a = (lo[d]! >>> 0) + code[p + 1]!;
            if (checked) {
              if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 4, true);
              if (a < wS || a + 4 > wE) {
                const k = regionOf(gran, rt, memSize, a, 4, 1);
                if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 4, true);
                wS = rt[k]!;
                wE = rt[k + 1]!;
              }
            }
            atomic32(dv, lo, hi, (w & 0x3ff) - X.X_ATOMIC, a, s);
            break;
          }
        case 0x130 /* X_ATOMIC+16 */:
        case 0x131 /* X_ATOMIC+17 */:
        case 0x132 /* X_ATOMIC+18 */:
        case 0x133 /* X_ATOMIC+19 */:
        case 0x134 /* X_ATOMIC+20 */:
        case 0x135 /* X_ATOMIC+21 */:
        case 0x136 /* X_ATOMIC+22 */:
        case 0x137 /* X_ATOMIC+23 */:
        case 0x138 /* X_ATOMIC+24 */:
        case 0x139 /* X_ATOMIC+25 */:
          {
            const a = (lo[d]! >>> 0) + code[p + 1]!;
            if (checked) {
              if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, 8, true);
              if (a < wS || a + 8 > wE) {
                const k = regionOf(gran, rt, memSize, a, 8, 1);
                if (k < 0) throw memFault(m, prog, pc - 1, a, 0, 8, true);
                wS = rt[k]!;
                wE = rt[k + 1]!;
              }
            }
            atomic64(dv, lo, hi, (w & 0x3ff) - X.X_ATOMIC - 16, a, s);
            break;
          }

        // ---- load-acquire / store-release: plain accesses, as JS runs one thread ----
        case 0x140 /* X_LOAD_ACQ b */:
        case 0x141 /* X_LOAD_ACQ h */:
        case 0x142 /* X_LOAD_ACQ w */:
        case 0x143 /* X_LOAD_ACQ dw */:
          {
            const size = 1 << ((w & 0x3ff) - X.X_LOAD_ACQ);
            const a = (lo[s]! >>> 0) + code[p + 1]!;
            if (checked) {
              if (hi[s] !== 0) throw memFault(m, prog, pc - 1, a, hi[s]!, size, false);
              if (a < rS || a + size > rE) {
                const k = regionOf(gran, rt, memSize, a, size, 0);
                if (k < 0) throw memFault(m, prog, pc - 1, a, 0, size, false);
                rS = rt[k]!;
                rE = rt[k + 1]!;
              }
            }
            lo[d] = size === 1 ? dv.getUint8(a) : size === 2 ? dv.getUint16(a, true) : dv.getInt32(a, true);
            hi[d] = size === 8 ? dv.getInt32(a + 4, true) : 0;
            break;
          }
        case 0x144 /* X_STORE_REL b */:
        case 0x145 /* X_STORE_REL h */:
        case 0x146 /* X_STORE_REL w */:
        case 0x147 /* X_STORE_REL dw */:
          {
            const size = 1 << ((w & 0x3ff) - X.X_STORE_REL);
            const a = (lo[d]! >>> 0) + code[p + 1]!;
            if (checked) {
              if (hi[d] !== 0) throw memFault(m, prog, pc - 1, a, hi[d]!, size, true);
              if (a < wS || a + size > wE) {
                const k = regionOf(gran, rt, memSize, a, size, 1);
                if (k < 0) throw memFault(m, prog, pc - 1, a, 0, size, true);
                wS = rt[k]!;
                wE = rt[k + 1]!;
              }
            }
            if (size === 1) dv.setInt8(a, lo[s]!);
            else if (size === 2) dv.setInt16(a, lo[s]!, true);
            else dv.setInt32(a, lo[s]!, true);
            if (size === 8) dv.setInt32(a + 4, hi[s]!, true);
            break;
          }

        // ---- calls ----
        case 0x85:
          callHelper(m, prog, pc - 1, helperFns[code[p + 3]!]!, lo, hi);
          arena.sync();
          dv = arena.dv;
          gran = arena.gran;
          rt = arena.regTable;
          memSize = arena.size;
          rS = rE = wS = wE = 0;
          if (m.tailCallTarget !== undefined) {
            // kernel: bpf_tail_call() — the target starts over in the same frame, registers kept.
            const target = m.tailCallTarget;
            m.tailCallTarget = undefined;
            if (depth !== 0)
              throw fault(prog, pc - 1, 'call', 'tail call from a subprogram is not supported');
            prog = target;
            code = prog.code;
            helperFns = prog.helperFns;
            pc = 0;
          }
          break;
        case 0x8d: {
          const id = lo[d]!;
          const h = hi[d] === 0 ? m.helpers.get(id) : undefined;
          if (!h) throw fault(prog, pc - 1, 'call', `callx to unknown helper id ${id} (in r${d})`);
          callHelper(m, prog, pc - 1, h.impl, lo, hi);
          arena.sync();
          dv = arena.dv;
          gran = arena.gran;
          rt = arena.regTable;
          memSize = arena.size;
          rS = rE = wS = wE = 0;
          break;
        }
        case 0x116 /* X_CALL_LOCAL */:
          {
            if (depth + 1 >= MAX_CALL_FRAMES)
              throw fault(prog, pc - 1, 'call', `call stack too deep (more than ${MAX_CALL_FRAMES} frames)`);
            const b = depth * 8;
            saved[b] = lo[6]!;
            saved[b + 1] = hi[6]!;
            saved[b + 2] = lo[7]!;
            saved[b + 3] = hi[7]!;
            saved[b + 4] = lo[8]!;
            saved[b + 5] = hi[8]!;
            saved[b + 6] = lo[9]!;
            saved[b + 7] = hi[9]!;
            retPc[depth] = pc;
            depth++;
            lo[10] = stackTop - depth * MAX_BPF_STACK;
            hi[10] = 0;
            mayGoto[depth] = BPF_MAX_LOOPS;
            pc += code[p + 1]!;
            if (n > budget) throw budgetFault(prog, pc, budget);
            break;
          }
        case 0x95: {
          if (depth === 0) return n;
          depth--;
          const b = depth * 8;
          lo[6] = saved[b]!;
          hi[6] = saved[b + 1]!;
          lo[7] = saved[b + 2]!;
          hi[7] = saved[b + 3]!;
          lo[8] = saved[b + 4]!;
          hi[8] = saved[b + 5]!;
          lo[9] = saved[b + 6]!;
          hi[9] = saved[b + 7]!;
          lo[10] = stackTop - depth * MAX_BPF_STACK;
          hi[10] = 0;
          pc = retPc[depth]!;
          break;
        }

        default:
          if (pc - 1 === prog.len) throw fault(prog, pc - 1, 'pc', 'fell off the end of the program');
          throw fault(prog, pc - 1, 'opcode', 'invalid instruction');
      }
    }
  } catch (e) {
    if (e instanceof RuntimeFault) throw e;
    if (e instanceof SleepRequest) {
      // Thrown by the sleepable helper of the call at pc - 1: that call runs again on resume.
      e.point = {
        engine: 'interp',
        prog,
        pc: pc - 1,
        depth,
        n: n - 1,
        retPc: retPc.slice(),
        saved: saved.slice(),
        mayGoto: mayGoto.slice(),
      };
      throw e;
    }
    // DataView bounds errors; a stack overflow (also a RangeError in V8/JSC) is not a memory fault.
    if (e instanceof RangeError && !/call stack/i.test(e.message))
      throw fault(prog, pc - 1, 'mem', `memory access outside the arena (${e.message})`);
    throw e;
  }
}
