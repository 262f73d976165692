// Assembly entry points: the conformance `%r` dialect and the LLVM C-like syntax, picked automatically.
import type { Insn } from '../insn.ts';
import { assembleConformance, parseConformanceFile } from './conformance.ts';
import { assemble } from './llvm.ts';
import { stripComment } from './lex.ts';

export { AsmError } from '../../errors.ts';
export { type ConformanceTest, assembleConformance, parseConformanceFile } from './conformance.ts';
export { assemble } from './llvm.ts';

export type AsmDialect = 'conformance-file' | 'conformance' | 'llvm';

// First words that only the conformance dialect uses (exit, call and lock exist in both).
const CONFORMANCE_WORD =
  /^\s*(add|sub|mul|div|sdiv|or|and|lsh|rsh|mod|smod|xor|mov|arsh|neg|movsx\d+|le\d+|be\d+|swap\d+|bswap\d+|j[a-z]+|ldx\w*|st[bhw]|stdw|stx\w+|lddw)(32|64)?\s/;

/** Which dialect a text is written in. */
export function detectDialect(text: string): AsmDialect {
  if (/^--\s*asm\s*$/m.test(text)) return 'conformance-file';
  for (const raw of text.split('\n')) {
    const line = stripComment(raw);
    if (/%r\d/.test(line)) return 'conformance';
    if (CONFORMANCE_WORD.test(`${line} `) && !/=/.test(line)) return 'conformance';
  }
  return 'llvm';
}

/** Assembles text in either dialect (a whole conformance `.data` file is accepted too). */
export function assembleAuto(text: string, file?: string): Insn[] {
  const where = file === undefined ? {} : { file };
  switch (detectDialect(text)) {
    case 'conformance-file':
      return assembleConformance(parseConformanceFile(text, file ?? '<input>').asm, where);
    case 'conformance':
      return assembleConformance(text, where);
    default:
      return assemble(text, where);
  }
}
