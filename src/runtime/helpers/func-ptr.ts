// Function pointers (lddw src=BPF_PSEUDO_FUNC): what bpf_loop, bpf_for_each_map_elem and
// bpf_timer_set_callback receive. The kernel loads a kernel text address; tsbpf loads a token
// shaped like one (upper half 0xffffffff) that names a loaded program and a slot in it, so a
// callback pointer stays valid whichever program passes it on.
import { InputError } from '../../errors.ts';
import type { HelperCtx } from '../../vm/helpers.ts';
import type { LoadedProgram } from '../../vm/program.ts';

const TOKEN_HI = -1;
const TOKEN_BIT = 0x80000000;
const PC_BITS = 20;
const MAX_SLOTS = 1 << 11;

export interface FuncTarget {
  prog: LoadedProgram;
  pc: number;
}

export class FuncRegistry {
  private readonly progs: (LoadedProgram | undefined)[] = [];

  /** A slot for a program about to be loaded (its tokens are made before it exists). */
  reserve(): number {
    if (this.progs.length >= MAX_SLOTS)
      throw new InputError('PROG', `more than ${MAX_SLOTS} programs take function addresses`);
    return this.progs.push(undefined) - 1;
  }

  set(slot: number, prog: LoadedProgram): void {
    this.progs[slot] = prog;
  }

  /** The lddw value for `pc` of the program in `slot`. */
  token(slot: number, pc: number, insnIdx: number): { lo: number; hi: number } {
    if (pc < 0 || pc >= 1 << PC_BITS)
      throw new InputError('PROG', `function address of slot ${pc} out of range`, { where: { insnIdx } });
    return { lo: TOKEN_BIT | (slot << PC_BITS) | pc | 0, hi: TOKEN_HI };
  }

  /** Decodes argument `n` as a function pointer, faulting (as a bad pointer would) otherwise. */
  arg(ctx: HelperCtx, n: number): FuncTarget {
    const lo = ctx.argLo(n) >>> 0;
    const hi = ctx.argHi(n);
    const slot = (lo >>> PC_BITS) & (MAX_SLOTS - 1);
    const pc = lo & ((1 << PC_BITS) - 1);
    const prog = hi === TOKEN_HI && (lo & TOKEN_BIT) !== 0 ? this.progs[slot] : undefined;
    if (!prog || pc >= prog.len)
      return ctx.fault(
        'helper',
        `r${n} (0x${(hi >>> 0).toString(16)}${lo.toString(16).padStart(8, '0')}) is not a function address`,
      );
    return { prog, pc };
  }
}
