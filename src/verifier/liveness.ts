// Registers live before each instruction (kernel: compute_live_registers()): a backward
// data-flow over each function's control flow. Pruning ignores registers that are dead.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import { successors } from './cfg.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

const R0_R5 = 0x3f;
const R1_R5 = 0x3e;

/** [use, def] bit masks of one instruction (kernel: compute_insn_live_regs()). */
function useDef(insn: Insn): [number, number] {
  const code = insn.code;
  const c = op.cls(code);
  const dst = 1 << insn.dst;
  const src = 1 << insn.src;
  switch (c) {
    case op.CLASS_ALU:
    case op.CLASS_ALU64: {
      const o = op.aluOp(code);
      const x = op.srcBit(code) === op.SRC_X && o !== op.ALU_END && o !== op.ALU_NEG;
      const use = (o === op.ALU_MOV ? 0 : dst) | (x ? src : 0);
      return [use, dst];
    }
    case op.CLASS_LDX:
      return [src, dst];
    case op.CLASS_ST:
      return [dst, 0];
    case op.CLASS_STX:
      if (op.mode(code) === op.MODE_ATOMIC) {
        if (insn.imm === op.ATOMIC_CMPXCHG) return [dst | src | 1, 1];
        return [dst | src, insn.imm & op.ATOMIC_FETCH ? src : 0];
      }
      return [dst | src, 0];
    case op.CLASS_LD:
      if (code === op.OP_LDDW) return [0, dst];
      // LD_ABS / LD_IND read the skb from r6
      return [(1 << 6) | (op.mode(code) === op.MODE_IND ? src : 0), R0_R5];
    default: {
      const o = op.jmpOp(code);
      if (o === op.JMP_JA) return [0, 0];
      if (o === op.JMP_EXIT) return [1, 0];
      if (o === op.JMP_CALL) return [R1_R5, R0_R5];
      return [dst | (op.srcBit(code) === op.SRC_X ? src : 0), 0];
    }
  }
}

export function computeLiveRegs(insns: readonly Insn[]): Uint16Array {
  const n = insns.length;
  const live = new Uint16Array(n);
  const ud = insns.map(useDef);
  const succ = insns.map((_, i) => successors(insns, i).filter((t) => t >= 0 && t < n));
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let out = 0;
      for (const t of succ[i]!) out |= live[t]!;
      const [use, def] = ud[i]!;
      const inn = (use | (out & ~def)) & 0x7ff;
      if (inn !== live[i]) {
        live[i] = inn;
        changed = true;
      }
    }
  }
  return live;
}
