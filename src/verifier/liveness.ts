// Registers live before each instruction (kernel: compute_live_registers()): a backward
// data-flow over each function's control flow. Pruning ignores registers that are dead.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import { successorTable } from './cfg.ts';
import { WorkArray } from './work-array.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

const R0_R5 = 0x3f;
const R1_R5 = 0x3e;

/**
 * How many argument registers a call reads, when its prototype is known (kernel:
 * get_call_summary(): a helper's arguments up to the first ARG_DONTCARE, a kfunc's BTF
 * parameters); undefined for bpf-to-bpf calls and unknown callees, which read R1-R5.
 */
export type CallParams = (insn: Insn) => number | undefined;

/** Writes the use and def bit masks of one instruction (kernel: compute_insn_live_regs()). */
function useDef(insn: Insn, use: Uint16Array, def: Uint16Array, i: number, callParams?: CallParams): void {
  const code = insn.code;
  const c = op.cls(code);
  const dst = 1 << insn.dst;
  const src = 1 << insn.src;
  let u = 0;
  let d = 0;
  switch (c) {
    case op.CLASS_ALU:
    case op.CLASS_ALU64: {
      const o = op.aluOp(code);
      const x = op.srcBit(code) === op.SRC_X && o !== op.ALU_END && o !== op.ALU_NEG;
      u = (o === op.ALU_MOV ? 0 : dst) | (x ? src : 0);
      d = dst;
      break;
    }
    case op.CLASS_LDX:
      u = src;
      d = dst;
      break;
    case op.CLASS_ST:
      u = dst;
      break;
    case op.CLASS_STX:
      u = dst | src;
      if (op.mode(code) === op.MODE_ATOMIC) {
        if (insn.imm === op.ATOMIC_CMPXCHG) {
          u |= 1;
          d = 1;
        } else if (insn.imm & op.ATOMIC_FETCH) d = src;
      }
      break;
    case op.CLASS_LD:
      if (code === op.OP_LDDW) d = dst;
      else {
        // LD_ABS / LD_IND read the skb from r6
        u = (1 << 6) | (op.mode(code) === op.MODE_IND ? src : 0);
        d = R0_R5;
      }
      break;
    default: {
      const o = op.jmpOp(code);
      if (o === op.JMP_EXIT) u = 1;
      else if (o === op.JMP_CALL) {
        const n = callParams?.(insn);
        // kernel: GENMASK(num_params, 1)
        u = n === undefined ? R1_R5 : ((1 << (n + 1)) - 1) & ~1;
        d = R0_R5;
      } else if (o !== op.JMP_JA) u = dst | (op.srcBit(code) === op.SRC_X ? src : 0);
    }
  }
  use[i] = u;
  def[i] = d;
}

// the passes' temporaries, reused between calls
const useWork = new WorkArray((n) => new Uint16Array(n));
const defWork = new WorkArray((n) => new Uint16Array(n));

/** `succ` is successorTable(insns), computed here when not given. */
export function computeLiveRegs(
  insns: readonly Insn[],
  succ: Int32Array = successorTable(insns),
  callParams?: CallParams,
): Uint16Array {
  const n = insns.length;
  const live = new Uint16Array(n);
  const use = useWork.get(n);
  const def = defWork.get(n);
  for (let i = 0; i < n; i++) useDef(insns[i]!, use, def, i, callParams);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      const t0 = succ[2 * i]!;
      const t1 = succ[2 * i + 1]!;
      const out = (t0 >= 0 ? live[t0]! : 0) | (t1 >= 0 ? live[t1]! : 0);
      const inn = (use[i]! | (out & ~def[i]!)) & 0x7ff;
      if (inn !== live[i]) {
        live[i] = inn;
        changed = true;
      }
    }
  }
  return live;
}
