// The verifier log's instruction text, as kernel/bpf/disasm.c print_bpf_insn() writes it:
// `(bf) r6 = r1`, `(85) call bpf_map_lookup_elem#1`, `(18) r1 = 0x0`, `(15) if r0 == 0x0 goto pc+1`.
// The verifier prefixes `12: ` itself. Same words and spacing as the kernel (`%+d` offsets,
// `0x%x` compare immediates, u64 lddw in hex).
import { HELPER_NAMES } from './helper-names.ts';
import type { Insn } from './insn.ts';
import { ALU_SYM, ATOMIC_NAME, JMP_SYM } from './mnemonics.ts';
import * as op from './opcode.ts';

export interface KernelFormatOptions {
  /** kernel: allow_ptr_leaks. Without it lddw of map_fd / map_value prints 0. Default true. */
  allowPtrLeaks?: boolean;
  /** kernel: cbs->cb_call, for kfunc names (`call bpf_obj_new_impl#12345`) and local call names. */
  callName?: (insn: Insn) => string | undefined;
  /** kernel: cbs->cb_imm, to print a resolved lddw (e.g. a map address) differently. */
  immName?: (insn: Insn, value: bigint) => string | undefined;
}

const LDST: Record<number, string> = {
  [op.SIZE_W]: 'u32',
  [op.SIZE_H]: 'u16',
  [op.SIZE_B]: 'u8',
  [op.SIZE_DW]: 'u64',
};
const LDSX: Record<number, string> = { [op.SIZE_W]: 's32', [op.SIZE_H]: 's16', [op.SIZE_B]: 's8' };
const CLASS = ['ld', 'ldx', 'st', 'stx', 'alu', 'jmp', 'jmp32', 'alu64'];

/** C's `%+d`. */
const pd = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

/** One instruction of the verifier log, without the `idx: ` prefix. kernel: print_bpf_insn() */
export function formatKernelInsn(
  insns: readonly Insn[],
  idx: number,
  opts: KernelFormatOptions = {},
): string {
  const i = insns[idx]!;
  const code = i.code;
  const c = op.cls(code);
  const head = `(${code.toString(16).padStart(2, '0')})`;
  const sz = op.size(code);
  const mem = (reg: number): string => `(r${reg} ${pd(i.off)})`;
  if (c === op.CLASS_ALU || c === op.CLASS_ALU64) {
    const r = c === op.CLASS_ALU ? 'w' : 'r';
    const a = op.aluOp(code);
    if (a === op.ALU_END) {
      if (c === op.CLASS_ALU64) return `${head} r${i.dst} = bswap${i.imm} r${i.dst}`;
      return `${head} r${i.dst} = ${op.srcBit(code) === op.SRC_X ? 'be' : 'le'}${i.imm} r${i.dst}`;
    }
    if (a === op.ALU_NEG) return `${head} ${r}${i.dst} = -${r}${i.dst}`;
    if (code === (op.CLASS_ALU64 | op.ALU_MOV | op.SRC_X) && i.off === op.ADDR_SPACE_CAST)
      return `${head} r${i.dst} = addr_space_cast(r${i.src}, ${i.imm >>> 16}, ${i.imm & 0xffff})`;
    const sdiv = (a === op.ALU_DIV || a === op.ALU_MOD) && i.off === 1;
    const sym = sdiv ? `s${ALU_SYM[a]}` : (ALU_SYM[a] ?? '');
    if (op.srcBit(code) === op.SRC_X) {
      const movsx = a === op.ALU_MOV && (i.off === 8 || i.off === 16 || i.off === 32) ? `(s${i.off})` : '';
      return `${head} ${r}${i.dst} ${sym} ${movsx}${r}${i.src}`;
    }
    return `${head} ${r}${i.dst} ${sym} ${i.imm}`;
  }
  if (c === op.CLASS_STX) {
    const size = LDST[sz]!;
    if (op.mode(code) === op.MODE_MEM) return `${head} *(${size} *)${mem(i.dst)} = r${i.src}`;
    if (op.mode(code) !== op.MODE_ATOMIC) return `BUG_${code.toString(16).padStart(2, '0')}`;
    const w64 = sz === op.SIZE_DW ? '64' : '';
    const base = i.imm & ~op.ATOMIC_FETCH;
    if (ATOMIC_NAME[i.imm] !== undefined)
      return `${head} lock *(${size} *)${mem(i.dst)} ${ALU_SYM[i.imm]} r${i.src}`;
    if (i.imm & op.ATOMIC_FETCH && ATOMIC_NAME[base] !== undefined)
      return `${head} r${i.src} = atomic${w64}_fetch_${ATOMIC_NAME[base]}((${size} *)${mem(i.dst)}, r${i.src})`;
    if (i.imm === op.ATOMIC_CMPXCHG)
      return `${head} r0 = atomic${w64}_cmpxchg((${size} *)${mem(i.dst)}, r0, r${i.src})`;
    if (i.imm === op.ATOMIC_XCHG)
      return `${head} r${i.src} = atomic${w64}_xchg((${size} *)${mem(i.dst)}, r${i.src})`;
    if (i.imm === op.ATOMIC_LOAD_ACQ) return `${head} r${i.dst} = load_acquire((${size} *)${mem(i.src)})`;
    if (i.imm === op.ATOMIC_STORE_REL) return `${head} store_release((${size} *)${mem(i.dst)}, r${i.src})`;
    return `BUG_${code.toString(16).padStart(2, '0')}`;
  }
  if (c === op.CLASS_ST) {
    if (op.mode(code) === op.MODE_MEM) return `${head} *(${LDST[sz]} *)${mem(i.dst)} = ${i.imm}`;
    return `BUG_st_${code.toString(16).padStart(2, '0')}`;
  }
  if (c === op.CLASS_LDX) {
    const m = op.mode(code);
    if (m !== op.MODE_MEM && m !== op.MODE_MEMSX) return `BUG_ldx_${code.toString(16).padStart(2, '0')}`;
    const size = m === op.MODE_MEM ? LDST[sz] : LDSX[sz];
    return `${head} r${i.dst} = *(${size} *)${mem(i.src)}`;
  }
  if (c === op.CLASS_LD) {
    const m = op.mode(code);
    if (m === op.MODE_ABS) return `${head} r0 = *(${LDST[sz]} *)skb[${i.imm}]`;
    if (m === op.MODE_IND) return `${head} r0 = *(${LDST[sz]} *)skb[r${i.src} + ${i.imm}]`;
    if (code === op.OP_LDDW) {
      const hi = i.imm64Hi ?? insns[idx + 1]?.imm ?? 0;
      let value = (BigInt(hi >>> 0) << 32n) | BigInt(i.imm >>> 0);
      const isPtr = i.src === op.PSEUDO_MAP_FD || i.src === op.PSEUDO_MAP_VALUE;
      if (isPtr && opts.allowPtrLeaks === false) value = 0n;
      const text = opts.immName?.(i, value) ?? `0x${value.toString(16)}`;
      return `${head} r${i.dst} = ${text}`;
    }
    return `BUG_ld_${code.toString(16).padStart(2, '0')}`;
  }
  // JMP / JMP32
  const j = op.jmpOp(code);
  if (j === op.JMP_CALL) {
    // kernel: __func_get_name()
    if (code === op.OP_CALLX) return `${head} callx r${i.dst}`; // not in the kernel's printer (it rejects callx)
    const known = i.src === 0 && i.imm >= 0 ? HELPER_NAMES[i.imm] : undefined;
    const name = known ?? opts.callName?.(i);
    if (i.src === op.PSEUDO_CALL) return `${head} call pc${name ?? pd(i.imm)}`;
    const fallback = i.src === op.PSEUDO_KFUNC_CALL ? 'kernel-function' : 'unknown';
    return `${head} call ${name ?? fallback}#${i.imm}`;
  }
  if (code === op.OP_JA) return `${head} goto pc${pd(i.off)}`;
  if (code === op.OP_MAY_GOTO) return `${head} may_goto pc${pd(i.off)}`;
  if (code === op.OP_JA32) return `${head} gotol pc${pd(i.imm)}`;
  if (code === op.OP_EXIT) return `${head} exit`;
  const sym = JMP_SYM[j];
  if (sym === undefined) return `${head} ${CLASS[c]}`;
  const r = c === op.CLASS_JMP32 ? 'w' : 'r';
  if (op.srcBit(code) === op.SRC_X) return `${head} if ${r}${i.dst} ${sym} ${r}${i.src} goto pc${pd(i.off)}`;
  return `${head} if ${r}${i.dst} ${sym} 0x${(i.imm >>> 0).toString(16)} goto pc${pd(i.off)}`;
}
