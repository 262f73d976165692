// The text a family writes: LLVM-syntax lines, fresh labels, and the program's type and maps.
import type { Insn } from '../../../../src/isa/insn.ts';
import type { Rng } from './rng.ts';

export type DiffType = 'socket_filter' | 'xdp' | 'sched_cls' | 'syscall';
export const PKT_TYPES: readonly DiffType[] = ['socket_filter', 'xdp', 'sched_cls'];
export const ALL_TYPES: readonly DiffType[] = ['socket_filter', 'xdp', 'sched_cls', 'syscall'];

export class Asm {
  readonly lines: string[] = [];
  /** kbatch map specs, TYPE:KEY:VALUE:MAX; lddw map_fd(i) names the i-th. */
  readonly maps: string[] = [];
  /** What the program exercises, e.g. 'pkt:off-by-one'; the family name comes first. */
  readonly tags: string[] = [];
  /** Mutations applied to the assembled slots (jumps out of range, broken lddw, ...). */
  readonly patches: ((insns: Insn[]) => void)[] = [];
  private n = 0;
  constructor(
    readonly r: Rng,
    public type: DiffType,
  ) {}
  label(): string {
    return `L${this.n++}`;
  }
  emit(...lines: string[]): void {
    this.lines.push(...lines);
  }
  tag(t: string): void {
    this.tags.push(t);
  }
  map(spec: string): number {
    this.maps.push(spec);
    return this.maps.length - 1;
  }
}

/** The packet pointers into r2 (data) and r3 (data_end), from the ctx in r1. */
export function loadPkt(a: Asm, data = 'r2', end = 'r3'): void {
  const [d, e] = a.type === 'xdp' ? [0, 4] : [76, 80];
  a.emit(`${data} = *(u32 *)(r1 + ${d})`, `${end} = *(u32 *)(r1 + ${e})`);
}

/** An unknown scalar in `reg`: a helper result (clobbers r1-r5) or a ctx field (r6 holds the ctx). */
export function unknownScalar(a: Asm, reg: string): void {
  if (a.type !== 'syscall' && a.r.chance(0.5)) {
    a.emit(`${reg} = *(u32 *)(r6 + ${a.type === 'xdp' ? 12 : 0})`);
  } else {
    a.emit('call 7', `${reg} = r0`);
  }
}

export const SIZES = ['u8', 'u16', 'u32', 'u64'] as const;
export const sizeBytes = (s: string): number => ({ u8: 1, u16: 2, u32: 4, u64: 8 })[s] ?? 8;
