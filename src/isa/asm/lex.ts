// Tokens of the LLVM BPF assembly syntax, with 1-based columns for error messages.
import { AsmError, type Where } from '../../errors.ts';

export type TokKind = 'ident' | 'num' | 'op';
export interface Tok {
  kind: TokKind;
  text: string;
  col: number;
}

// Longest operators first; signed operators (s>>=, s<) start with a letter, so they are tried before identifiers.
const OPERATORS = [
  's>>=',
  's<=',
  's>=',
  's/=',
  's%=',
  's<',
  's>',
  '<<=',
  '>>=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '|=',
  '&=',
  '^=',
  '==',
  '!=',
  '<=',
  '>=',
  '<',
  '>',
  '=',
  '&',
  '(',
  ')',
  '*',
  '[',
  ']',
  ',',
  '+',
  '-',
  '#',
  ':',
];

// Sticky: match exactly at lastIndex, so long lines stay linear.
const NUM = /(0[xX][0-9a-fA-F]+|[0-9]+)(?![\w$])/y;
const IDENT = /[A-Za-z_.$][\w.$]*/y;

/** Splits one line (comments already removed) into tokens. */
export function tokenize(text: string, where: Where): Tok[] {
  const out: Tok[] = [];
  let k = 0;
  outer: while (k < text.length) {
    const ch = text[k]!;
    if (ch === ' ' || ch === '\t') {
      k++;
      continue;
    }
    for (const o of OPERATORS) {
      if (text.startsWith(o, k)) {
        // `s<` must not swallow the start of an identifier like `skb` or `s1`.
        if (o[0] === 's' && out.length === 0) break;
        out.push({ kind: 'op', text: o, col: k + 1 });
        k += o.length;
        continue outer;
      }
    }
    NUM.lastIndex = k;
    const num = NUM.exec(text);
    if (num) {
      out.push({ kind: 'num', text: num[0], col: k + 1 });
      k += num[0].length;
      continue;
    }
    IDENT.lastIndex = k;
    const id = IDENT.exec(text);
    if (id) {
      out.push({ kind: 'ident', text: id[0], col: k + 1 });
      k += id[0].length;
      continue;
    }
    throw new AsmError(`unexpected character "${ch}"`, { where: { ...where, col: k + 1 } });
  }
  return out;
}

/** Removes `#`, `;` and `//` comments, keeping `name#id` in `call bpf_foo#1`. */
export function stripComment(line: string): string {
  for (let k = 0; k < line.length; k++) {
    const ch = line[k]!;
    if (ch === ';') return line.slice(0, k);
    if (ch === '/' && line[k + 1] === '/') return line.slice(0, k);
    if (ch === '#' && !(k > 0 && /\w/.test(line[k - 1]!) && /\d/.test(line[k + 1] ?? '')))
      return line.slice(0, k);
  }
  return line;
}
