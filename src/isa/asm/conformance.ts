// The bpf_conformance corpus: its `.data` file format and its `%rN` assembly dialect.
// Both are specified in /work/shared/conformance/README.md; this follows that text.
import { AsmError, DecodeError, type Where } from '../../errors.ts';
import type { Insn } from '../insn.ts';
import * as op from '../opcode.ts';
import { findProgramProblem } from '../valid.ts';

export interface ConformanceTest {
  /** The `-- asm` section, comments and blank lines removed, one instruction or label per line. */
  asm: string;
  /** Expected full 64-bit r0 at exit. */
  result: bigint;
  /** Input bytes (`-- mem`), empty when absent. */
  mem: Uint8Array;
  /** Pre-encoded slots (`-- raw`), each a little-endian u64. */
  raw?: bigint[];
  /** `-- error`: the test passes when execution fails with exactly this message (unused in the corpus). */
  error?: string;
}

/** Parses one `.data` file. Sections keep their original line numbers for error messages. */
export function parseConformanceFile(text: string, file: string): ConformanceTest {
  const sections = new Map<string, { line: number; text: string }[]>();
  let current: { line: number; text: string }[] | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith('--')) {
      const name = line.slice(2).trim();
      if (sections.has(name))
        throw new AsmError(`section "-- ${name}" appears twice`, { where: { file, line: n + 1 } });
      current = [];
      sections.set(name, current);
      continue;
    }
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === '' || current === undefined) continue;
    current.push({ line: n + 1, text: line });
  }
  const asm = sections.get('asm');
  if (!asm) throw new AsmError('missing "-- asm" section', { where: { file } });
  const result = sections.get('result');
  if (!result || result.length === 0) throw new AsmError('missing "-- result" section', { where: { file } });
  // Upstream uses the last line when a result has several.
  const last = result[result.length - 1]!;
  const value = parseU64(last.text);
  if (value === undefined)
    throw new AsmError(`bad result "${last.text}"`, { where: { file, line: last.line } });

  const memBytes: number[] = [];
  for (const l of sections.get('mem') ?? []) {
    for (const tok of l.text.split(/\s+/)) {
      if (!/^[0-9a-fA-F]{2}$/.test(tok))
        throw new AsmError(`bad mem byte "${tok}"`, { where: { file, line: l.line } });
      memBytes.push(Number.parseInt(tok, 16));
    }
  }
  // Keep the original line numbers: pad the asm text with empty lines.
  const asmLines: string[] = [];
  for (const l of asm) {
    while (asmLines.length < l.line - 1) asmLines.push('');
    asmLines.push(l.text);
  }
  const out: ConformanceTest = { asm: asmLines.join('\n'), result: value, mem: Uint8Array.from(memBytes) };
  const error = sections.get('error');
  if (error?.length) out.error = error.map((l) => l.text).join('\n');
  const raw = sections.get('raw');
  if (raw) {
    out.raw = raw.map((l) => {
      const w = parseU64(l.text);
      if (w === undefined) throw new AsmError(`bad raw word "${l.text}"`, { where: { file, line: l.line } });
      return w;
    });
  }
  return out;
}

function parseU64(s: string): bigint | undefined {
  if (!/^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < 1n << 64n ? v : undefined;
}

const ALU_OPS: Record<string, number> = {
  add: op.ALU_ADD,
  sub: op.ALU_SUB,
  mul: op.ALU_MUL,
  div: op.ALU_DIV,
  or: op.ALU_OR,
  and: op.ALU_AND,
  lsh: op.ALU_LSH,
  rsh: op.ALU_RSH,
  mod: op.ALU_MOD,
  xor: op.ALU_XOR,
  mov: op.ALU_MOV,
  arsh: op.ALU_ARSH,
  sdiv: op.ALU_DIV,
  smod: op.ALU_MOD,
};
const JMP_OPS: Record<string, number> = {
  jeq: op.JMP_JEQ,
  jgt: op.JMP_JGT,
  jge: op.JMP_JGE,
  jset: op.JMP_JSET,
  jne: op.JMP_JNE,
  jsgt: op.JMP_JSGT,
  jsge: op.JMP_JSGE,
  jlt: op.JMP_JLT,
  jle: op.JMP_JLE,
  jslt: op.JMP_JSLT,
  jsle: op.JMP_JSLE,
};
const MOVSX: Record<string, [number, number]> = {
  movsx864: [op.CLASS_ALU64, 8],
  movsx1664: [op.CLASS_ALU64, 16],
  movsx3264: [op.CLASS_ALU64, 32],
  movsx832: [op.CLASS_ALU, 8],
  movsx1632: [op.CLASS_ALU, 16],
};
const SIZES: Record<string, number> = { b: op.SIZE_B, h: op.SIZE_H, w: op.SIZE_W, dw: op.SIZE_DW };
const ATOMIC_OPS: Record<string, number> = {
  add: op.ATOMIC_ADD,
  or: op.ATOMIC_OR,
  and: op.ATOMIC_AND,
  xor: op.ATOMIC_XOR,
  xchg: op.ATOMIC_XCHG,
  cmpxchg: op.ATOMIC_CMPXCHG,
};

/** A jump or local call whose target is resolved once all labels are known. */
interface Fixup {
  slot: number;
  target: string;
  /** Where the displacement goes: jumps use off, ja32 and local calls use imm. */
  field: 'off' | 'imm';
  where: Where;
}

/**
 * Assembles the conformance dialect (`mov %r0, 1`, `jne32 %r1, 0, fail`, `lock fetch add [%r10-8], %r1`).
 * The result passes validateProgram; a structural problem is reported as an AsmError at its line.
 */
export function assembleConformance(asm: string, where: { file?: string } = {}): Insn[] {
  const insns: Insn[] = [];
  const labels = new Map<string, number>();
  const fixups: Fixup[] = [];
  let firstExit: number | undefined;
  const lineOf: number[] = [];
  const lines = asm.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let text = lines[n]!;
    const hash = text.indexOf('#');
    if (hash >= 0) text = text.slice(0, hash);
    text = text.trim();
    if (text === '') continue;
    const at: Where = { ...where, line: n + 1 };
    const fail = (msg: string): never => {
      throw new AsmError(msg, { where: at });
    };
    if (text.endsWith(':') && !/\s/.test(text)) {
      const name = text.slice(0, -1);
      if (!/^[A-Za-z_.$][\w.$]*$/.test(name)) fail(`bad label name "${name}"`);
      if (labels.has(name)) fail(`label "${name}" defined twice`);
      labels.set(name, insns.length);
      continue;
    }
    const toks = text.split(/\s+/).map((t, k) => (k > 0 && t.endsWith(',') ? t.slice(0, -1) : t));
    const mn = toks[0]!.toLowerCase();
    const args = toks.slice(1);
    const want = (count: number): void => {
      if (args.length !== count)
        fail(`${mn} takes ${count} operand${count === 1 ? '' : 's'}, got ${args.length}`);
    };
    const reg = (s: string): number => {
      const m = /^%r(\d+)$/.exec(s);
      if (!m) return fail(`expected a register %r0..%r10, got "${s}"`);
      const r = Number(m[1]);
      if (r > 10) fail(`unknown register ${s}`);
      return r;
    };
    const imm32 = (s: string): number => {
      const v = parseInteger(s);
      if (v === undefined) return fail(`expected an immediate, got "${s}"`);
      if (/^[+-]?0x/i.test(s)) {
        if (v < -(1n << 31n) || v > 0xffffffffn) fail(`immediate ${s} does not fit in 32 bits`);
      } else if (v < -(1n << 31n) || v >= 1n << 31n) fail(`immediate ${s} does not fit in int32`);
      return Number(BigInt.asIntN(32, v));
    };
    const mem = (s: string): [number, number] => {
      const m = /^\[(%r\d+)(?:([+-])((?:0x)?[0-9a-fA-F]+))?\]$/i.exec(s);
      if (!m) return fail(`expected a memory operand [%rN+off], got "${s}"`);
      let off = 0;
      if (m[3] !== undefined) {
        const v = parseInteger(m[3]);
        if (v === undefined) return fail(`bad offset in "${s}"`);
        off = Number(m[2] === '-' ? -v : v);
        if (off < -32768 || off > 32767) fail(`offset ${m[2]}${m[3]} does not fit in 16 bits`);
      }
      return [reg(m[1]!), off];
    };
    const target = (s: string, field: 'off' | 'imm'): number => {
      if (/^[+-]/.test(s)) {
        const v = parseInteger(s);
        if (v === undefined) return fail(`bad jump offset "${s}"`);
        const lim = field === 'off' ? 1n << 15n : 1n << 31n;
        if (v < -lim || v >= lim) fail(`jump offset ${s} out of range`);
        return Number(v);
      }
      if (!/^[A-Za-z_.$][\w.$]*$/.test(s)) fail(`bad jump target "${s}"`);
      fixups.push({ slot: insns.length, target: s, field, where: at });
      return 0;
    };
    const emit = (code: number, dst = 0, src = 0, off = 0, imm = 0): void => {
      lineOf[insns.length] = n + 1;
      insns.push({ code, dst, src, off, imm });
    };

    // Width suffix: `32` selects the 32-bit form; `64` or none the 64-bit form.
    let base = mn;
    let is32 = false;
    if (
      !(mn in MOVSX) &&
      /^(?:[a-z]+)(32|64)$/.test(mn) &&
      !/^(le|be|swap|bswap)/.test(mn) &&
      mn !== 'ja32'
    ) {
      is32 = mn.endsWith('32');
      base = mn.slice(0, -2);
    }

    if (base in ALU_OPS) {
      want(2);
      const dst = reg(args[0]!);
      const cls = is32 ? op.CLASS_ALU : op.CLASS_ALU64;
      const signed = base === 'sdiv' || base === 'smod' ? 1 : 0;
      if (args[1]!.startsWith('%')) emit(cls | ALU_OPS[base]! | op.SRC_X, dst, reg(args[1]!), signed);
      else emit(cls | ALU_OPS[base]! | op.SRC_K, dst, 0, signed, imm32(args[1]!));
    } else if (base === 'neg') {
      want(1);
      emit((is32 ? op.CLASS_ALU : op.CLASS_ALU64) | op.ALU_NEG, reg(args[0]!));
    } else if (mn in MOVSX) {
      want(2);
      const [cls, bits] = MOVSX[mn]!;
      emit(cls | op.ALU_MOV | op.SRC_X, reg(args[0]!), reg(args[1]!), bits);
    } else if (/^(le|be|swap|bswap)(16|32|64)$/.test(mn)) {
      want(1);
      const m = /^(le|be|swap|bswap)(16|32|64)$/.exec(mn)!;
      const code =
        m[1] === 'le'
          ? op.CLASS_ALU | op.ALU_END | op.SRC_K
          : m[1] === 'be'
            ? op.CLASS_ALU | op.ALU_END | op.SRC_X
            : op.CLASS_ALU64 | op.ALU_END;
      emit(code, reg(args[0]!), 0, 0, Number(m[2]));
    } else if (base in JMP_OPS) {
      want(3);
      const cls = is32 ? op.CLASS_JMP32 : op.CLASS_JMP;
      const dst = reg(args[0]!);
      const off = target(args[2]!, 'off');
      if (args[1]!.startsWith('%')) emit(cls | JMP_OPS[base]! | op.SRC_X, dst, reg(args[1]!), off);
      else emit(cls | JMP_OPS[base]! | op.SRC_K, dst, 0, off, imm32(args[1]!));
    } else if (mn === 'ja') {
      want(1);
      emit(op.OP_JA, 0, 0, target(args[0]!, 'off'));
    } else if (mn === 'ja32') {
      want(1);
      emit(op.OP_JA32, 0, 0, 0, target(args[0]!, 'imm'));
    } else if (mn === 'exit') {
      want(0);
      firstExit ??= insns.length;
      emit(op.OP_EXIT);
    } else if (mn === 'call') {
      if (args.length === 2 && args[0] === 'local')
        emit(op.OP_CALL, 0, op.PSEUDO_CALL, 0, target(args[1]!, 'imm'));
      else if (args.length === 2 && (args[0] === 'helper' || args[0] === 'runtime'))
        emit(op.OP_CALL, 0, args[0] === 'helper' ? 0 : op.PSEUDO_KFUNC_CALL, 0, imm32(args[1]!));
      else if (args.length === 1 && args[0]!.startsWith('%')) emit(op.OP_CALLX, reg(args[0]!));
      else if (args.length === 1) emit(op.OP_CALL, 0, 0, 0, imm32(args[0]!));
      else fail('call takes N, %rX, "local LABEL", "helper N" or "runtime N"');
    } else if (mn === 'lddw') {
      want(2);
      const dst = reg(args[0]!);
      const v = parseInteger(args[1]!);
      if (v === undefined || v < -(1n << 63n) || v >= 1n << 64n) fail(`bad 64-bit immediate "${args[1]}"`);
      const u = BigInt.asUintN(64, v!);
      const hi = Number(BigInt.asIntN(32, u >> 32n));
      lineOf[insns.length] = n + 1;
      insns.push({ code: op.OP_LDDW, dst, src: 0, off: 0, imm: Number(BigInt.asIntN(32, u)), imm64Hi: hi });
      emit(0, 0, 0, 0, hi);
    } else if (/^ldxs?(b|h|w|dw)$/.test(mn)) {
      want(2);
      const m = /^ldx(s?)(b|h|w|dw)$/.exec(mn)!;
      if (m[1] === 's' && m[2] === 'dw') fail('ldxsdw does not exist');
      const [src, off] = mem(args[1]!);
      const md = m[1] === 's' ? op.MODE_MEMSX : op.MODE_MEM;
      emit(op.CLASS_LDX | md | SIZES[m[2]!]!, reg(args[0]!), src, off);
    } else if (/^st(b|h|w|dw)$/.test(mn)) {
      want(2);
      const [dst, off] = mem(args[0]!);
      emit(op.CLASS_ST | op.MODE_MEM | SIZES[mn.slice(2)]!, dst, 0, off, imm32(args[1]!));
    } else if (/^stx(b|h|w|dw)$/.test(mn)) {
      want(2);
      const [dst, off] = mem(args[0]!);
      emit(op.CLASS_STX | op.MODE_MEM | SIZES[mn.slice(3)]!, dst, reg(args[1]!), off);
    } else if (mn === 'lock') {
      let k = 0;
      const fetch = args[k] === 'fetch';
      if (fetch) k++;
      const am = /^(add|or|and|xor|xchg|cmpxchg)(32|64)?$/.exec(args[k] ?? '');
      if (!am) return fail(`unknown atomic operation "${args[k] ?? ''}"`);
      if (args.length !== k + 3) fail(`lock ${args[k]} takes 2 operands`);
      const [dst, off] = mem(args[k + 1]!);
      let imm = ATOMIC_OPS[am[1]!]!;
      if (fetch) imm |= op.ATOMIC_FETCH;
      const sz = am[2] === '32' ? op.SIZE_W : op.SIZE_DW;
      emit(op.CLASS_STX | op.MODE_ATOMIC | sz, dst, reg(args[k + 2]!), off, imm);
    } else {
      fail(`unknown mnemonic "${toks[0]}"`);
    }
  }
  if (firstExit !== undefined && !labels.has('exit')) labels.set('exit', firstExit);
  for (const f of fixups) {
    const to = labels.get(f.target);
    if (to === undefined) throw new AsmError(`jump target ${f.target} is not defined`, { where: f.where });
    const disp = to - f.slot - 1;
    if (f.field === 'off' && (disp < -32768 || disp > 32767))
      throw new AsmError(`jump to ${f.target} is too far for a 16-bit offset`, { where: f.where });
    insns[f.slot]![f.field] = disp;
  }
  const problem = findProgramProblem(insns);
  if (problem) {
    const cause = new DecodeError(problem.message, { where: { insnIdx: problem.insnIdx } });
    throw new AsmError(problem.message, {
      where: { ...where, line: lineOf[problem.insnIdx], insnIdx: problem.insnIdx },
      cause,
    });
  }
  return insns;
}

/** Signed decimal or (optionally signed) 0x hex, as a BigInt; undefined if malformed. */
export function parseInteger(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[2]!);
  return m[1] === '-' ? -v : v;
}
