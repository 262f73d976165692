// Instruction text in the LLVM/kernel C-like syntax ("r0 = *(u32 *)(r1 + 4)").
// Forms follow what llvm-objdump-19 prints (decimal instead of hex immediates), except
// where LLVM has no syntax; those are ours, and asm/llvm.ts reads them back:
//   call pc+3                 bpf-to-bpf call (src=1), as the kernel log writes it
//   call kfunc(ID) / kfunc(ID, OFF)   kfunc call (src=2), OFF = module BTF fd index
//   r1 = map_fd(FD) ll        lddw src=1      r1 = map_value(FD, OFF) ll   src=2
//   r1 = btf_id(ID) ll        src=3 (btf_id(ID, FD) when the upper imm is set)
//   r1 = func(+3) ll          src=4, target relative to the next slot
//   r1 = map_idx(IDX) ll      src=5           r1 = map_idx_value(IDX, OFF) ll  src=6
//   r0 = *(u32 *)skb[r1 + 4]  ld_ind with a nonzero imm (LLVM only prints skb[r1])
import type { Insn } from './insn.ts';
import { helperName } from './helper-names.ts';
import { lddwValue } from './insn.ts';
import { ALU_SYM, ATOMIC_NAME, JMP_SYM } from './mnemonics.ts';
import * as op from './opcode.ts';
import { branchTarget } from './valid.ts';

export { type KernelFormatOptions, formatKernelInsn } from './disasm-kernel.ts';
export { JMP_SYM } from './mnemonics.ts';

export interface DisasmOptions {
  /** Prefix each line with its slot index: `12: r0 = 1`. */
  slotNumbers?: boolean;
  /** Print jump targets as labels (`goto L12`, with `L12:` lines) instead of `+3` offsets. */
  labels?: boolean;
  /** Print helper calls as `call bpf_map_lookup_elem#1` instead of `call 1`. */
  helperNames?: boolean;
}

const ATOMIC_SYM: Record<number, string> = {
  [op.ATOMIC_ADD]: '+=',
  [op.ATOMIC_OR]: '|=',
  [op.ATOMIC_AND]: '&=',
  [op.ATOMIC_XOR]: '^=',
};
const SIZE_NAME: Record<number, string> = {
  [op.SIZE_B]: '8',
  [op.SIZE_H]: '16',
  [op.SIZE_W]: '32',
  [op.SIZE_DW]: '64',
};

const signed = (n: number): string => (n < 0 ? `${n}` : `+${n}`);
/** `r1 + 4` / `r1 - 4` (LLVM spacing). */
const addr = (reg: number, off: number): string => `r${reg} ${off < 0 ? '-' : '+'} ${Math.abs(off)}`;
const hex64 = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** How a jump target is written: `+3` or a label. */
type TargetFmt = (idx: number, rel: number) => string;

/** One instruction (the slot at idx) in LLVM syntax, without slot number. */
export function disasmInsn(insns: readonly Insn[], idx: number, opts: DisasmOptions = {}): string {
  return formatLlvm(insns, idx, opts, (_i, rel) => signed(rel));
}

function formatLlvm(insns: readonly Insn[], idx: number, opts: DisasmOptions, target: TargetFmt): string {
  const i = insns[idx]!;
  const code = i.code;
  const c = op.cls(code);
  const sz = op.size(code);
  const bits = SIZE_NAME[sz]!;
  switch (c) {
    case op.CLASS_ALU:
    case op.CLASS_ALU64: {
      const r = c === op.CLASS_ALU64 ? 'r' : 'w';
      const a = op.aluOp(code);
      const x = op.srcBit(code) === op.SRC_X;
      if (a === op.ALU_NEG) return `${r}${i.dst} = -${r}${i.dst}`;
      if (a === op.ALU_END) {
        const name = c === op.CLASS_ALU64 ? 'bswap' : x ? 'be' : 'le';
        return `r${i.dst} = ${name}${i.imm} r${i.dst}`;
      }
      if (a === op.ALU_MOV && x && c === op.CLASS_ALU64 && i.off === op.ADDR_SPACE_CAST)
        return `r${i.dst} = addr_space_cast(r${i.src}, ${i.imm >>> 16}, ${i.imm & 0xffff})`;
      let sym = ALU_SYM[a];
      if (sym === undefined) break;
      if ((a === op.ALU_DIV || a === op.ALU_MOD) && i.off === 1) sym = `s${sym}`;
      if (!x) return `${r}${i.dst} ${sym} ${i.imm}`;
      const sx = a === op.ALU_MOV && i.off ? `(s${i.off})` : '';
      return `${r}${i.dst} ${sym} ${sx}${r}${i.src}`;
    }
    case op.CLASS_JMP:
    case op.CLASS_JMP32: {
      if (code === op.OP_EXIT) return 'exit';
      if (code === op.OP_JA) return `goto ${target(idx, i.off)}`;
      if (code === op.OP_JA32) return `gotol ${target(idx, i.imm)}`;
      if (code === op.OP_MAY_GOTO) return `may_goto ${target(idx, i.off)}`;
      if (code === op.OP_CALLX) return `callx r${i.dst}`;
      if (code === op.OP_CALL) {
        if (i.src === op.PSEUDO_CALL) {
          // A label when there is one; otherwise the kernel's `pc+N` (a bare +N would read as a helper id).
          const t = target(idx, i.imm);
          return `call ${/^[+-]/.test(t) ? `pc${t}` : t}`;
        }
        if (i.src === op.PSEUDO_KFUNC_CALL) return `call kfunc(${i.imm}${i.off ? `, ${i.off}` : ''})`;
        const name = opts.helperNames ? helperName(i.imm) : undefined;
        return name ? `call ${name}#${i.imm}` : `call ${i.imm}`;
      }
      const sym = JMP_SYM[op.jmpOp(code)];
      if (sym === undefined) break;
      const r = c === op.CLASS_JMP32 ? 'w' : 'r';
      const rhs = op.srcBit(code) === op.SRC_X ? `${r}${i.src}` : `${i.imm}`;
      return `if ${r}${i.dst} ${sym} ${rhs} goto ${target(idx, i.off)}`;
    }
    case op.CLASS_LDX: {
      const s = op.mode(code) === op.MODE_MEMSX ? 's' : 'u';
      return `r${i.dst} = *(${s}${bits} *)(${addr(i.src, i.off)})`;
    }
    case op.CLASS_ST:
      return `*(u${bits} *)(${addr(i.dst, i.off)}) = ${i.imm}`;
    case op.CLASS_STX: {
      if (op.mode(code) === op.MODE_MEM) return `*(u${bits} *)(${addr(i.dst, i.off)}) = r${i.src}`;
      const r = sz === op.SIZE_DW ? 'r' : 'w';
      const m = `(u${bits} *)(${addr(i.dst, i.off)})`;
      if (i.imm === op.ATOMIC_LOAD_ACQ)
        return `${r}${i.dst} = load_acquire((u${bits} *)(${addr(i.src, i.off)}))`;
      if (i.imm === op.ATOMIC_STORE_REL) return `store_release(${m}, ${r}${i.src})`;
      const w = sz === op.SIZE_DW ? '64' : '32';
      const a64 = sz === op.SIZE_DW ? '' : '32';
      if (i.imm === op.ATOMIC_XCHG)
        return `${r}${i.src} = xchg${a64}_${w}(${addr(i.dst, i.off)}, ${r}${i.src})`;
      if (i.imm === op.ATOMIC_CMPXCHG)
        return `${r}0 = cmpxchg${a64}_${w}(${addr(i.dst, i.off)}, ${r}0, ${r}${i.src})`;
      const base = i.imm & ~op.ATOMIC_FETCH;
      if (ATOMIC_SYM[base] === undefined) break;
      if (i.imm & op.ATOMIC_FETCH)
        return `${r}${i.src} = atomic_fetch_${ATOMIC_NAME[base]}(${m}, ${r}${i.src})`;
      return `lock *${m} ${ATOMIC_SYM[base]} ${r}${i.src}`;
    }
    case op.CLASS_LD: {
      const md = op.mode(code);
      if (md === op.MODE_ABS) return `r0 = *(u${bits} *)skb[${i.imm}]`;
      if (md === op.MODE_IND)
        return `r0 = *(u${bits} *)skb[r${i.src}${i.imm ? ` ${i.imm < 0 ? '-' : '+'} ${Math.abs(i.imm)}` : ''}]`;
      if (code !== op.OP_LDDW) break;
      const hi = i.imm64Hi ?? insns[idx + 1]?.imm ?? 0;
      const more = hi ? `, ${hi}` : '';
      switch (i.src) {
        case 0:
          return `r${i.dst} = ${hex64(lddwValue({ ...i, imm64Hi: hi }))} ll`;
        case op.PSEUDO_MAP_FD:
          return `r${i.dst} = map_fd(${i.imm}${more}) ll`;
        case op.PSEUDO_MAP_VALUE:
          return `r${i.dst} = map_value(${i.imm}, ${hi}) ll`;
        case op.PSEUDO_BTF_ID:
          return `r${i.dst} = btf_id(${i.imm}${more}) ll`;
        case op.PSEUDO_FUNC:
          return `r${i.dst} = func(${target(idx, i.imm)}${more}) ll`;
        case op.PSEUDO_MAP_IDX:
          return `r${i.dst} = map_idx(${i.imm}${more}) ll`;
        case op.PSEUDO_MAP_IDX_VALUE:
          return `r${i.dst} = map_idx_value(${i.imm}, ${hi}) ll`;
      }
      break;
    }
  }
  return `<invalid opcode 0x${code.toString(16).padStart(2, '0')}>`;
}

/** Label name used for a slot in label mode. */
export const labelFor = (slot: number): string => `L${slot}`;

/**
 * The whole program, one line per instruction (lddw's second slot has no line).
 * In label mode a `Lnn:` line precedes each jump target.
 */
export function disassemble(insns: readonly Insn[], opts: DisasmOptions = {}): string {
  const n = insns.length;
  const targets = new Set<number>();
  // Labels only go on slots that start an instruction (never inside an lddw).
  const starts = new Uint8Array(n);
  for (let idx = 0; idx < n; idx++) {
    starts[idx] = 1;
    if (insns[idx]!.code === op.OP_LDDW) idx++;
  }
  const inRange = (t: number): boolean => t >= 0 && t < n && starts[t] === 1;
  if (opts.labels) {
    for (let idx = 0; idx < n; idx++) {
      const t = branchTarget(insns, idx);
      if (t !== undefined && inRange(t)) targets.add(t);
      if (insns[idx]!.code === op.OP_LDDW) idx++;
    }
  }
  const fmt: TargetFmt = (idx, rel) => {
    const t = idx + 1 + rel;
    return opts.labels && inRange(t) ? labelFor(t) : signed(rel);
  };
  const lines: string[] = [];
  for (let idx = 0; idx < n; idx++) {
    if (targets.has(idx)) lines.push(`${labelFor(idx)}:`);
    const text = formatLlvm(insns, idx, opts, fmt);
    lines.push(opts.slotNumbers ? `${idx}: ${text}` : text);
    if (insns[idx]!.code === op.OP_LDDW) idx++;
  }
  return lines.join('\n');
}
