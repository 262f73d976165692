// The verifier log in the kernel's format (kernel/bpf/log.c, do_check() in verifier.c):
// `0: R1=ctx() R10=fp0`, `1: (b7) r0 = 0                        ; R0=0`. Level 1 keeps only the
// path that failed (a finished branch's lines are dropped when the next one is popped), level 2
// keeps every path. Lines are kept as an array; the instruction line stays open for the state.
import type { Btf } from '../btf/btf.ts';
import { print as printNs, tnum as tnumNs, u64 as u64Ns } from './domain/index.ts';
import type { RegState } from './reg.ts';
import type { PrintOpts } from './domain/print.ts';
import { baseId, hasAddConst, regTypeStr } from './reg.ts';
import type { MapInfo } from './env.ts';
import * as stackNs from './stack.ts';
import type { FuncState, VerifierState } from './state.ts';
const { BPF_REG_SIZE, dynptrTypeStr, SLOT_TYPE_CHAR, STACK_DYNPTR, STACK_INVALID, STACK_SPILL } = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const print = { ...printNs };
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

/** A position in the log: its line count and the last line's length then. */
export interface LogPos {
  lines: number;
  lastLen: number;
}

/**
 * Lines per sealed block. A failing path of a million steps logs a million lines: kept as single
 * strings they made the garbage collector walk a million objects at every major collection (a
 * third of the time on such a path); joined into blocks they are a few hundred.
 */
const BLOCK_LINES = 4096;

export class VerifierLog {
  readonly level: number;
  /** Sealed blocks of BLOCK_LINES lines joined by '\n', then the lines after them. */
  private blocks: string[] = [];
  private sealedLines = 0;
  private tail: string[] = [];
  /** Index of the last instruction line while the state may still be appended to it. */
  private openInsnLine = -1;
  scratchedRegs = 0;
  /**
   * Stack slots touched since the state was last printed: spi 0..31 and 32..63 as bit masks
   * (a Set cost a measurable share of a long level-1 log), all slots after scratchAll().
   */
  private scratchedSlotsLo = 0;
  private scratchedSlotsHi = 0;
  private scratchedAllSlots = false;
  /** Last source line printed (kernel: prev_linfo). */
  prevLineIdx = -1;
  /** Where BTF pointers' struct names come from (`ptr_file`): the verifier's layout BTF. */
  btf: Btf | undefined;
  /** Where objects of bpf_obj_new() are named from: the program's own BTF. */
  progBtf: Btf | undefined;

  constructor(level: number) {
    this.level = level;
  }

  get enabled(): boolean {
    return this.level > 0;
  }

  /** The next line continues the last one (after a reset into it; see truncate()). */
  private continueLast = false;

  add(line: string): void {
    if (!this.enabled) return;
    this.push(line);
    this.openInsnLine = -1;
  }

  addInsnLine(line: string): void {
    if (!this.enabled) return;
    this.push(line);
    this.openInsnLine = this.length - 1;
  }

  private push(line: string): void {
    const tail = this.tail;
    if (this.continueLast) {
      this.continueLast = false;
      tail[tail.length - 1] += line;
      return;
    }
    tail.push(line);
    // keep a block's worth in the tail: truncate() and insnState() work on recent lines
    if (tail.length >= this.sealAt) this.seal();
  }

  /** Tail length at which the next block is sealed. */
  private sealAt = 2 * BLOCK_LINES;

  /** Joins the tail's first BLOCK_LINES lines into a block (unless one holds a newline). */
  private seal(): void {
    const tail = this.tail;
    const block = tail.slice(0, BLOCK_LINES).join('\n');
    let newlines = 0;
    for (let k = block.indexOf('\n'); k >= 0; k = block.indexOf('\n', k + 1)) newlines++;
    if (newlines !== BLOCK_LINES - 1) {
      // a line with a newline in it would come back as two: try again a block later
      this.sealAt = tail.length + BLOCK_LINES;
      return;
    }
    this.sealAt = 2 * BLOCK_LINES;
    this.blocks.push(block);
    this.sealedLines += BLOCK_LINES;
    this.tail = tail.slice(BLOCK_LINES);
  }

  /** Splits sealed blocks back into the tail until line `lineIdx` is in it. */
  private unsealTo(lineIdx: number): void {
    while (this.blocks.length > 0 && this.sealedLines > lineIdx) {
      const lines = this.blocks.pop()!.split('\n');
      this.sealedLines -= lines.length;
      this.tail = lines.concat(this.tail);
    }
  }

  /** Every line, in order. */
  toLines(): string[] {
    if (this.blocks.length === 0) return this.tail;
    const out: string[] = [];
    for (const b of this.blocks) for (const l of b.split('\n')) out.push(l);
    for (const l of this.tail) out.push(l);
    return out;
  }

  /** Appends the state after `; ` to the open instruction line, else starts `N:`. kernel: print_insn_state() */
  insnState(insnIdx: number, text: string): void {
    if (!this.enabled) return;
    const tail = this.tail;
    const last = tail.length - 1;
    if (this.openInsnLine === this.sealedLines + last && last >= 0) {
      const line = tail[last]!;
      // kernel: vlog_alignment(); the ';' lands on a multiple of 8 minus 2, at least column 38
      const width = Math.ceil(Math.max(line.length + 5, 40) / 8) * 8 - 2;
      tail[last] = `${line.padEnd(width)};${text}`;
      this.openInsnLine = -1;
    } else {
      this.add(`${insnIdx}:${text}`);
    }
  }

  get length(): number {
    return this.sealedLines + this.tail.length;
  }

  /** Where the log ends now, for truncate() (kernel: log.end_pos). */
  get endPos(): LogPos {
    const n = this.length;
    const t = this.tail;
    // the tail is never empty while blocks exist (seal() leaves a block's worth, unsealTo() refills)
    return { lines: n, lastLen: t.length > 0 ? t[t.length - 1]!.length : 0 };
  }

  /**
   * kernel: bpf_vlog_reset(). The kernel's log is bytes: a branch pushed right after its jump's
   * line was printed remembers the position past that line's newline, and the state printed on
   * the line afterwards (`        ; R2=0`) replaced the newline with padding. Resetting there keeps
   * the first padding space, so the popped path's first line continues the jump's line:
   * `2: (55) if r2 != 0x0 goto pc+1 4: R0=0 ...`.
   */
  truncate(pos: LogPos): void {
    // the last line kept must be in the tail
    this.unsealTo(pos.lines - 1);
    const tail = this.tail;
    const keep = pos.lines - this.sealedLines;
    if (tail.length > keep) tail.length = keep;
    this.openInsnLine = -1;
    this.continueLast = false;
    const last = keep - 1;
    if (last >= 0 && tail[last]!.length > pos.lastLen) {
      tail[last] = `${tail[last]!.slice(0, pos.lastLen)} `;
      this.continueLast = true;
    }
  }

  scratchReg(regno: number): void {
    this.scratchedRegs |= 1 << regno;
  }

  scratchStack(spi: number): void {
    // a frame has at most 64 slots (MAX_BPF_STACK / 8); -1 stands for all of them
    if (spi === -1) this.scratchedAllSlots = true;
    else if (spi >= 0 && spi < 32) this.scratchedSlotsLo |= 1 << spi;
    else if (spi >= 32 && spi < 64) this.scratchedSlotsHi |= 1 << (spi - 32);
  }

  /** Every stack slot is to be printed (after scratchAll()). */
  get allSlotsScratched(): boolean {
    return this.scratchedAllSlots;
  }

  /** Whether stack slot spi is to be printed (kernel: is_spi_scratched()). */
  isSlotScratched(spi: number): boolean {
    if (this.scratchedAllSlots) return true;
    if (spi >= 0 && spi < 32) return ((this.scratchedSlotsLo >>> spi) & 1) !== 0;
    return spi >= 32 && spi < 64 && ((this.scratchedSlotsHi >>> (spi - 32)) & 1) !== 0;
  }

  scratchAll(): void {
    this.scratchedRegs = 0x7ff;
    this.scratchedAllSlots = true;
  }

  isScratched(): boolean {
    return (
      this.scratchedRegs !== 0 ||
      this.scratchedAllSlots ||
      this.scratchedSlotsLo !== 0 ||
      this.scratchedSlotsHi !== 0
    );
  }

  clean(): void {
    this.scratchedRegs = 0;
    this.scratchedSlotsLo = 0;
    this.scratchedSlotsHi = 0;
    this.scratchedAllSlots = false;
  }
}

/** C's `%+d`. */
const pd = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

// kernel: print_reg_state()
export function regStateStr(
  frame: FuncState,
  reg: RegState,
  maps: readonly MapInfo[],
  btf?: Btf,
  progBtf?: Btf,
): string {
  const t = reg.type;
  if (t === 'SCALAR_VALUE') {
    const opts: PrintOpts = { precise: reg.precise, id: baseId(reg.id) };
    if (hasAddConst(reg.id)) opts.addConstOff = reg.off;
    return print.scalarState(reg.s, opts);
  }
  let out = regTypeStr(reg);
  // kernel: print_reg_state() names a BTF pointer's struct after its type
  if (t === 'PTR_TO_BTF_ID' && reg.btfId) {
    const names = reg.alloc ? (progBtf ?? btf) : btf;
    if (names) out += names.typeById(reg.btfId).name;
  }
  if (t === 'PTR_TO_STACK') {
    if (frame.frameno !== reg.frameno) out += `[${reg.frameno}]`;
    if (tnum.isConst(reg.s.varOff)) {
      return out + print.snum(u64.add(tnum.value(reg.s.varOff), u64.fromNumber(reg.off)));
    }
  }
  const a: string[] = [];
  if (reg.id) a.push(`id=${reg.id}`);
  if (reg.refObjId) a.push(`ref_obj_id=${reg.refObjId}`);
  if (t === 'CONST_PTR_TO_MAP' || t === 'PTR_TO_MAP_VALUE' || t === 'PTR_TO_MAP_KEY') {
    const m = maps[reg.mapIndex];
    if (m) {
      // the kernel keeps BPF_OBJ_NAME_LEN - 1 characters of a map's name
      if (m.name) a.push(`map=${m.name.slice(0, 15)}`);
      a.push(`ks=${m.keySize},vs=${m.valueSize}`);
    }
  }
  if (reg.off) a.push(`off=${reg.off}`);
  if (t === 'PTR_TO_PACKET' || t === 'PTR_TO_PACKET_META') {
    a.push(`r=${reg.range >= 0 ? reg.range : u64.toHex(u64.fromNumber(reg.range))}`);
  }
  if (t === 'PTR_TO_MEM') a.push(`sz=${reg.memSize}`);
  if (t === 'CONST_PTR_TO_DYNPTR') a.push(`type=${dynptrTypeStr(reg.dynptr)}`);
  if (tnum.isConst(reg.s.varOff)) {
    const v = tnum.value(reg.s.varOff);
    if (!u64.isZero(v)) a.push(`imm=${u64.toHex(v).slice(2)}`);
  } else {
    const ranges = print.scalarRanges(reg.s);
    if (ranges) a.push(ranges);
    if (!tnum.isUnknown(reg.s.varOff)) a.push(`var_off=${tnum.strn(reg.s.varOff)}`);
  }
  return `${out}(${a.join(',')})`;
}

/**
 * A dynptr's stack slots (kernel: the STACK_DYNPTR case of print_verifier_state()). The kernel
 * prints the reg's dynptr_id, which shares its bytes with dynptr.first_slot: always 1 here.
 */
function dynptrSlotStr(r: RegState): string {
  const a: string[] = [];
  if (r.id) a.push(`id=${r.id}`);
  if (r.refObjId) a.push(`ref_id=${r.refObjId}`);
  a.push('dynptr_id=1');
  return `dynptr_${dynptrTypeStr(r.dynptr)}(${a.join(',')})`;
}

// kernel: print_verifier_state(); returns the text after `N:` (leading space included)
export function frameStateStr(
  vstate: VerifierState,
  frame: FuncState,
  log: VerifierLog,
  maps: readonly MapInfo[],
  printAll: boolean,
): string {
  let out = '';
  if (frame.frameno) out += ` frame${frame.frameno}:`;
  const all = printAll || log.allSlotsScratched;
  for (let i = 0; i < frame.regs.length; i++) {
    const reg = frame.regs[i]!;
    if (reg.type === 'NOT_INIT') continue;
    if (!printAll && !(log.scratchedRegs & (1 << i))) continue;
    out += ` R${i}=${regStateStr(frame, reg, maps, log.btf, log.progBtf)}`;
  }
  for (let spi = 0; spi < frame.stack.length; spi++) {
    if (!all && !log.isSlotScratched(spi)) continue;
    let slot = frame.stack[spi]!;
    if (slot.slotType.every((t) => t === STACK_INVALID)) continue;
    if (slot.slotType[BPF_REG_SIZE - 1] === STACK_DYNPTR && spi + 1 < frame.stack.length) {
      // both slots print as one, named by the first (upper) slot
      spi++;
      slot = frame.stack[spi]!;
      out += ` fp${-(spi + 1) * BPF_REG_SIZE}=${dynptrSlotStr(slot.spilled)}`;
      continue;
    }
    let types = slot.slotType.map((t) => SLOT_TYPE_CHAR[t]).join('');
    const name = ` fp${-(spi + 1) * BPF_REG_SIZE}`;
    if (slot.slotType[BPF_REG_SIZE - 1] === STACK_SPILL) {
      types = types.slice(0, slot.slotType.indexOf(STACK_SPILL));
      out += `${name}=${types}${regStateStr(frame, slot.spilled, maps, log.btf, log.progBtf)}`;
    } else {
      out += `${name}=${types}`;
    }
  }
  if (vstate.refs.length) out += ` refs=${vstate.refs.map((r) => r.id).join(',')}`;
  if (frame.inCallbackFn) out += ' cb';
  if (!printAll) log.clean();
  return out;
}

export { pd as signedOff };
