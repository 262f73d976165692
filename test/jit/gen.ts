// Random eBPF programs that terminate, for differential tests of the JIT against the
// interpreter: forward jumps inside straight segments, counted loops (r8, up to 8 rounds),
// bpf-to-bpf calls to later functions only, helper calls with deterministic results, and
// memory accesses on r9 (a 64-byte buffer) and r10 (the stack).
import type { Insn } from '../../src/isa/insn.ts';

export { mulberry32 as prng } from '../../src/prng.ts';

export const BUF_SIZE = 64;

interface Item {
  insn: Insn;
  /** Jump or call target label. */
  target?: number;
  /** For lddw: the second slot follows. */
  wide?: boolean;
}

export interface GenOptions {
  /** Allow memory accesses through arbitrary registers (faults in checked mode). */
  wildMemory: boolean;
  /** Allow LD_ABS/LD_IND (the run needs a packet). */
  ldAbs: boolean;
}

const EDGE = [0, 1, -1, 2, 7, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xffff, 0x8000, 255, -2];

export class ProgramGen {
  private items: Item[] = [];
  private labels = new Map<number, number>();
  private nextLabel = 0;

  constructor(
    private readonly rnd: () => number,
    private readonly opts: GenOptions,
  ) {}

  private int(n: number): number {
    return this.rnd() % n;
  }
  private chance(p: number): boolean {
    return this.rnd() / 4294967296 < p;
  }
  private imm(): number {
    return this.chance(0.4) ? EDGE[this.int(EDGE.length)]! : this.rnd() | 0;
  }
  /** A writable register: r0..r7. */
  private wreg(): number {
    return this.int(8);
  }
  /** Any readable register. */
  private rreg(): number {
    return this.int(11);
  }
  private label(): number {
    return this.nextLabel++;
  }
  private place(l: number): void {
    this.labels.set(l, this.items.length);
  }
  private emit(code: number, dst = 0, src = 0, off = 0, imm = 0, target?: number): void {
    this.items.push({ insn: { code, dst, src, off, imm }, target });
  }

  /** Whole program: main function, then up to two callees (calls only go forward: no recursion). */
  program(): Insn[] {
    const nFuncs = 1 + this.int(3);
    const funcLabels = Array.from({ length: nFuncs }, () => this.label());
    for (let f = 0; f < nFuncs; f++) {
      this.place(funcLabels[f]!);
      if (f === 0) {
        this.emit(0xbf, 9, 1); // r9 = r1 (the buffer)
        // Random values everywhere: zero registers hide wrong results.
        for (let r = 0; r <= 8; r++) this.lddwTo(r, this.imm(), this.chance(0.5) ? 0 : this.imm());
      }
      const later = funcLabels.slice(f + 1);
      const segments = 1 + this.int(4);
      for (let s = 0; s < segments; s++) {
        const k = this.int(100);
        if (k < 30) this.loop(later);
        else if (k < 45) this.tangled();
        else this.straight(4 + this.int(12), later);
      }
      if (f === 0)
        // Fold every register into r0, so a wrong value anywhere shows in the result.
        for (let r = 1; r <= 8; r++) {
          this.emit(0x27, 0, 0, 0, 31); // r0 *= 31
          this.emit(0x0f, 0, r); // r0 += rN
        }
      this.emit(0x95);
    }
    return this.resolve();
  }

  private loop(callees: number[]): void {
    const head = this.label();
    this.emit(0xb7, 8, 0, 0, 1 + this.int(8)); // r8 = rounds
    this.place(head);
    this.straight(2 + this.int(10), callees);
    if (this.chance(0.5)) {
      this.emit(0x07, 8, 0, 0, -1); // r8 -= 1
      this.emit(this.chance(0.5) ? 0x55 : 0x56, 8, 0, 0, 0, head); // jne / jne32 r8, 0
    } else {
      this.emit(0x17, 8, 0, 0, 1);
      this.emit(0x25, 8, 0, 0, 0, head); // jgt r8, 0
    }
  }

  /**
   * Blocks jumping anywhere in the segment, backwards too (so loops may have several entries:
   * irreducible flow). Every backward jump first spends one unit of r8, so the segment ends.
   */
  private tangled(): void {
    const m = 2 + this.int(6);
    const blocks = Array.from({ length: m + 1 }, () => this.label());
    this.emit(0xb7, 8, 0, 0, 1 + this.int(12)); // r8 = backward-jump allowance
    for (let b = 0; b < m; b++) {
      this.place(blocks[b]!);
      for (let n = 1 + this.int(4); n > 0; n--) {
        const k = this.int(10);
        if (k < 6) this.alu();
        else if (k < 9) this.mem();
        else this.helper();
      }
      const t = this.int(m + 1);
      if (t > b) this.jump(blocks[t]!);
      else {
        this.emit(0x07, 8, 0, 0, -1); // r8 -= 1
        this.emit(0x65, 8, 0, 0, 0, blocks[t]); // if r8 s> 0 goto back
      }
    }
    this.place(blocks[m]!);
  }

  /** n random instructions with forward jumps that stay inside the segment. */
  private straight(n: number, callees: number[]): void {
    const end = this.label();
    const pending: { at: number; label: number }[] = [];
    for (let i = 0; i < n; i++) {
      for (const p of pending.filter((q) => q.at === i)) this.place(p.label);
      const k = this.int(100);
      if (k < 40) this.alu();
      else if (k < 58) this.mem();
      else if (k < 72) {
        // forward conditional jump to a later point of this segment (or its end)
        const at = i + 1 + this.int(n - i);
        const l = at >= n ? end : this.label();
        if (at < n) pending.push({ at, label: l });
        this.jump(l);
      } else if (k < 76) this.atomic();
      else if (k < 80) this.lddw();
      else if (k < 85) this.helper();
      else if (k < 89 && callees.length > 0) {
        this.emit(0x85, 0, 1, 0, 0, callees[this.int(callees.length)]!);
      } else if (k < 91 && this.opts.ldAbs) this.ldAbs();
      else if (k < 93) {
        const at = i + 1 + this.int(n - i);
        const l = at >= n ? end : this.label();
        if (at < n) pending.push({ at, label: l });
        this.emit(0xe5, 0, 0, 0, 0, l); // may_goto
      } else this.alu();
    }
    for (const p of pending.filter((q) => q.at >= n)) this.place(p.label);
    this.place(end);
  }

  private alu(): void {
    const is64 = this.chance(0.6);
    const cls = is64 ? 0x07 : 0x04;
    const d = this.wreg();
    const k = this.int(20);
    if (k < 13) {
      const ops = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0];
      const op = ops[this.int(ops.length)]!;
      const x = op !== 0x80 && this.chance(0.5);
      const off = (op === 0x30 || op === 0x90) && this.chance(0.4) ? 1 : 0; // sdiv/smod
      const divides = op === 0x30 || op === 0x90;
      // Divisors 0 and -1 and dividend INT_MIN are the edge cases; make them common.
      const special = () => [0, -1, -0x80000000][this.int(3)]!;
      let imm = op === 0x60 || op === 0x70 || op === 0xc0 ? this.int(is64 ? 64 : 32) : this.imm();
      if (divides && this.chance(0.3)) imm = special();
      let src = x ? this.rreg() : 0;
      if (divides && x && this.chance(0.3)) {
        src = this.wreg();
        this.emit(0xb7, src, 0, 0, special());
      }
      if (divides && this.chance(0.2)) {
        if (this.chance(0.5)) this.emit(0xb7, d, 0, 0, -0x80000000);
        else this.lddwTo(d, 0, -0x80000000);
      }
      this.emit(cls | op | (x ? 8 : 0), d, src, off, x ? 0 : imm);
    } else if (k < 16) {
      // movsx
      const offs = is64 ? [8, 16, 32] : [8, 16];
      this.emit(cls | 0xb0 | 8, d, this.rreg(), offs[this.int(offs.length)]!, 0);
    } else if (k < 19) {
      // le/be/bswap
      const width = [16, 32, 64][this.int(3)]!;
      const code = is64 ? 0xd7 : this.chance(0.5) ? 0xd4 : 0xdc;
      this.emit(code, d, 0, 0, width);
    } else {
      this.emit(0xbf, d, this.rreg()); // mov
    }
  }

  private jump(l: number): void {
    const ops = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
    const op = ops[this.int(ops.length)]!;
    const cls = this.chance(0.7) ? 0x05 : 0x06;
    const x = this.chance(0.5);
    if (this.chance(0.08)) {
      this.emit(this.chance(0.5) ? 0x05 : 0x06, 0, 0, 0, 0, l); // ja / gotol
      return;
    }
    this.emit(cls | op | (x ? 8 : 0), this.rreg(), x ? this.rreg() : 0, 0, x ? 0 : this.imm(), l);
  }

  /** Base register and offset of an access of `size` bytes (usually in bounds). */
  private where(size: number): [number, number] {
    if (this.opts.wildMemory && this.chance(0.05)) return [this.rreg(), this.int(64) - 32];
    if (this.chance(0.5)) return [9, this.int(BUF_SIZE - size + 1)];
    return [10, -size - this.int(512 / size) * size];
  }

  private mem(): void {
    const sizes = [0x00, 0x08, 0x10, 0x18];
    const sz = sizes[this.int(4)]!;
    const size = [4, 2, 1, 8][sz >> 3]!;
    const [base, off] = this.where(size);
    const k = this.int(3);
    if (k === 0) {
      const sx = sz !== 0x18 && this.chance(0.3);
      this.emit((sx ? 0x80 : 0x60) | sz | 0x01, this.wreg(), base, off); // ldx / ldsx
    } else if (k === 1)
      this.emit(0x60 | sz | 0x02, base, 0, off, this.imm()); // st
    else this.emit(0x60 | sz | 0x03, base, this.rreg(), off); // stx
  }

  private atomic(): void {
    const is64 = this.chance(0.5);
    const size = is64 ? 8 : 4;
    const [base, off0] = this.where(size);
    const off = off0 - (off0 % size); // keep it aligned where the base is
    const ops = [0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1];
    const src = this.wreg();
    this.emit(0xc3 | (is64 ? 0x18 : 0), base, src, off, ops[this.int(ops.length)]!);
  }

  private lddw(): void {
    this.lddwTo(this.wreg(), this.imm(), this.imm());
  }

  private lddwTo(d: number, lo: number, hi: number): void {
    this.items.push({ insn: { code: 0x18, dst: d, src: 0, off: 0, imm: lo, imm64Hi: hi }, wide: true });
  }

  private helper(): void {
    // Deterministic helpers: ktime (fixed clock), prandom (seeded), smp id.
    const ids = [5, 7, 8, 125, 160];
    const id = ids[this.int(ids.length)]!;
    if (this.chance(0.2)) {
      this.emit(0xb7, 7, 0, 0, id);
      this.emit(0x8d, 7); // callx r7
    } else this.emit(0x85, 0, 0, 0, id);
  }

  private ldAbs(): void {
    const size = [0x00, 0x08, 0x10][this.int(3)]!;
    if (this.chance(0.5)) this.emit(0x20 | size, 0, 0, 0, this.int(BUF_SIZE + 8));
    else this.emit(0x40 | size, 0, this.rreg(), 0, this.int(16));
  }

  private resolve(): Insn[] {
    // Slot of each item (lddw takes two).
    const slot: number[] = [];
    let n = 0;
    for (const it of this.items) {
      slot.push(n);
      n += it.wide ? 2 : 1;
    }
    const slotOfLabel = (l: number): number => {
      const idx = this.labels.get(l)!;
      return idx < slot.length ? slot[idx]! : n;
    };
    const out: Insn[] = [];
    this.items.forEach((it, i) => {
      const ins = { ...it.insn };
      if (it.target !== undefined) {
        const rel = slotOfLabel(it.target) - (slot[i]! + 1);
        if (ins.code === 0x85 || ins.code === 0x06) ins.imm = rel;
        else ins.off = rel;
      }
      out.push(ins);
      if (it.wide) out.push({ code: 0, dst: 0, src: 0, off: 0, imm: ins.imm64Hi ?? 0 });
    });
    return out;
  }
}
