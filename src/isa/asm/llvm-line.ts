// One line of LLVM-syntax assembly as a token cursor: registers, immediates, memory operands
// and jump targets, each with a column-precise AsmError when malformed.
import { AsmError, type Where } from '../../errors.ts';
import * as op from '../opcode.ts';
import type { Tok } from './lex.ts';

const SIZE_BY_BITS: Record<string, number> = {
  '8': op.SIZE_B,
  '16': op.SIZE_H,
  '32': op.SIZE_W,
  '64': op.SIZE_DW,
};

export interface Reg {
  n: number;
  wide: boolean;
}

/** Reads one instruction from a line's tokens. */
export class LineParser {
  private k = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly where: Where,
    private readonly lineText: string,
  ) {}

  fail(msg: string, tok: Tok | undefined = this.toks[this.k]): never {
    const col = tok ? tok.col : this.lineText.trimEnd().length + 1;
    throw new AsmError(msg, { where: { ...this.where, col } });
  }
  peek(off = 0): Tok | undefined {
    return this.toks[this.k + off];
  }
  back(): void {
    this.k--;
  }
  next(what: string): Tok {
    const t = this.toks[this.k];
    if (!t) return this.fail(`expected ${what} at end of line`);
    this.k++;
    return t;
  }
  is(text: string, off = 0): boolean {
    return this.toks[this.k + off]?.text === text;
  }
  eat(text: string): boolean {
    if (this.is(text)) {
      this.k++;
      return true;
    }
    return false;
  }
  expect(text: string): void {
    const t = this.peek();
    if (t?.text !== text)
      this.fail(t ? `expected "${text}", got "${t.text}"` : `expected "${text}" at end of line`);
    this.k++;
  }
  end(): void {
    const t = this.peek();
    if (t) this.fail(`unexpected "${t.text}" after the instruction`);
  }

  isReg(off = 0): boolean {
    const t = this.peek(off);
    return t?.kind === 'ident' && /^[rw]\d+$/.test(t.text);
  }
  reg(): Reg {
    const t = this.next('a register');
    const m = /^([rw])(\d+)$/.exec(t.text);
    if (t.kind !== 'ident' || !m) return this.fail(`expected a register, got "${t.text}"`, t);
    const n = Number(m[2]);
    if (n > 10) this.fail(`unknown register ${t.text}`, t);
    return { n, wide: m[1] === 'r' };
  }
  /** Signed integer literal (decimal or 0x hex, optional sign) as a BigInt. */
  int(what = 'a number'): bigint {
    let neg = false;
    const first = this.peek();
    if (this.eat('-')) neg = true;
    else this.eat('+');
    const t = this.next(what);
    if (t.kind !== 'num') return this.fail(`expected ${what}, got "${t.text}"`, first ?? t);
    const v = BigInt(t.text);
    return neg ? -v : v;
  }
  /** 32-bit immediate: LLVM accepts -2^31 .. 2^32-1 and keeps the low 32 bits. */
  imm32(): number {
    const t = this.peek();
    const v = this.int('an immediate');
    if (v < -(1n << 31n) || v > 0xffffffffn) this.fail(`immediate ${v} does not fit in 32 bits`, t);
    return Number(BigInt.asIntN(32, v));
  }
  /** `+ 4` / `- 4` / nothing, inside a memory operand. */
  offset(): number {
    if (!this.is('+') && !this.is('-')) return 0;
    const t = this.peek();
    const v = this.int('an offset');
    if (v < -32768n || v > 32767n) this.fail(`offset ${v} does not fit in 16 bits`, t);
    return Number(v);
  }
  /** `(r1 + 4)` — returns [reg, off]. */
  memRef(): [number, number] {
    this.expect('(');
    const r = this.reg64('an address');
    const off = this.offset();
    this.expect(')');
    return [r, off];
  }
  /** A register that must be 64-bit (addresses, callx). */
  reg64(what: string): number {
    const t = this.peek();
    const r = this.reg();
    if (!r.wide) this.fail(`${what} must be an rN register`, t);
    return r.n;
  }
  /** The value register of a store or atomic: wN is allowed only below 64 bits. */
  valueReg(size: number): Reg {
    const t = this.peek();
    const r = this.reg();
    if (!r.wide && size === op.SIZE_DW) this.fail('a 64-bit access needs an rN register', t);
    return r;
  }
  /** `(u32 *)` or `(s16 *)`. */
  sizeCast(): { size: number; signed: boolean; bits: string } {
    this.expect('(');
    const t = this.next('a size (u8, u16, u32, u64)');
    const m = /^([us])(8|16|32|64)$/.exec(t.text);
    if (!m) return this.fail(`expected a size like u32, got "${t.text}"`, t);
    this.expect('*');
    this.expect(')');
    return { size: SIZE_BY_BITS[m[2]!]!, signed: m[1] === 's', bits: m[2]! };
  }
  /** Jump target: `+3`, `-2`, or a label (resolved later). */
  target(): { rel: number } | { label: string; tok: Tok } {
    const t = this.peek();
    if (this.is('+') || this.is('-')) {
      const v = this.int('a jump offset');
      if (v < -(1n << 31n) || v >= 1n << 31n) this.fail(`jump offset ${v} out of range`, t);
      this.skipObjdumpComment();
      return { rel: Number(v) };
    }
    const l = this.next('a jump target');
    if (l.kind !== 'ident')
      return this.fail(`expected a jump target (+N, -N or a label), got "${l.text}"`, l);
    this.skipObjdumpComment();
    return { label: l.text, tok: l };
  }
  /** llvm-objdump appends `<.text+0x50>` to jumps. */
  private skipObjdumpComment(): void {
    if (this.is('<')) this.k = this.toks.length;
  }
}
