// Assembler for the LLVM/kernel C-like BPF syntax: everything disasm.ts prints (offsets or
// labels, pseudo lddw forms, `call bpf_name#id`) plus what `clang -S` emits around the code
// (directives are ignored, labels like `LBB0_2:` / `.LBB0_2:` and `func:` are jump targets).
import { AsmError, DecodeError, type Where } from '../../errors.ts';
import { helperId } from '../helper-names.ts';
import type { Insn } from '../insn.ts';
import * as op from '../opcode.ts';
import { findProgramProblem, type ValidateOptions } from '../valid.ts';
import { stripComment, type Tok, tokenize } from './lex.ts';
import { LineParser, type Reg } from './llvm-line.ts';

const ALU_OPS: Record<string, [number, number]> = {
  '+=': [op.ALU_ADD, 0],
  '-=': [op.ALU_SUB, 0],
  '*=': [op.ALU_MUL, 0],
  '/=': [op.ALU_DIV, 0],
  's/=': [op.ALU_DIV, 1],
  '|=': [op.ALU_OR, 0],
  '&=': [op.ALU_AND, 0],
  '<<=': [op.ALU_LSH, 0],
  '>>=': [op.ALU_RSH, 0],
  '%=': [op.ALU_MOD, 0],
  's%=': [op.ALU_MOD, 1],
  '^=': [op.ALU_XOR, 0],
  's>>=': [op.ALU_ARSH, 0],
};
const JMP_OPS: Record<string, number> = {
  '==': op.JMP_JEQ,
  '>': op.JMP_JGT,
  '>=': op.JMP_JGE,
  '&': op.JMP_JSET,
  '!=': op.JMP_JNE,
  's>': op.JMP_JSGT,
  's>=': op.JMP_JSGE,
  '<': op.JMP_JLT,
  '<=': op.JMP_JLE,
  's<': op.JMP_JSLT,
  's<=': op.JMP_JSLE,
};
const LOCK_OPS: Record<string, number> = {
  '+=': op.ATOMIC_ADD,
  '|=': op.ATOMIC_OR,
  '&=': op.ATOMIC_AND,
  '^=': op.ATOMIC_XOR,
};
const FETCH_OPS: Record<string, number> = {
  atomic_fetch_add: op.ATOMIC_ADD,
  atomic_fetch_or: op.ATOMIC_OR,
  atomic_fetch_and: op.ATOMIC_AND,
  atomic_fetch_xor: op.ATOMIC_XOR,
};
const LDDW_PSEUDO: Record<string, number> = {
  map_fd: op.PSEUDO_MAP_FD,
  map_value: op.PSEUDO_MAP_VALUE,
  btf_id: op.PSEUDO_BTF_ID,
  func: op.PSEUDO_FUNC,
  map_idx: op.PSEUDO_MAP_IDX,
  map_idx_value: op.PSEUDO_MAP_IDX_VALUE,
};

interface Fixup {
  slot: number;
  label: string;
  field: 'off' | 'imm';
  where: Where;
  /** `call NAME`: a helper name is the fallback when NAME is not a label. */
  helperFallback?: number;
}

/** Assembles LLVM-syntax text into slots. Throws AsmError with line and column. */
export function assemble(text: string, where: { file?: string } = {}, opts: ValidateOptions = {}): Insn[] {
  const insns: Insn[] = [];
  const lineOf: number[] = [];
  const labels = new Map<string, number>();
  const fixups: Fixup[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.replace(/\r$/, '');
    const body = stripComment(raw);
    const at: Where = { ...where, line: n + 1 };
    // Directives (.text, .globl, .section, .p2align, .type, .size, .file, .loc, ...) carry no code.
    if (/^\s*\.[\w.$]+(?!:)(\s|$)/.test(body) && !/^\s*\.[\w.$]+:/.test(body)) continue;
    let toks = tokenize(body, at);
    // `12: r0 = 1` — slot numbers as disassemble({ slotNumbers: true }) prints them are ignored.
    if (toks.length >= 2 && toks[0]!.kind === 'num' && toks[1]!.text === ':') toks = toks.slice(2);
    // Labels: `name:` at the start, possibly followed by an instruction.
    while (toks.length >= 2 && toks[0]!.kind === 'ident' && toks[1]!.text === ':') {
      const name = toks[0]!.text;
      if (labels.has(name))
        throw new AsmError(`label ${name} defined twice`, { where: { ...at, col: toks[0]!.col } });
      labels.set(name, insns.length);
      toks = toks.slice(2);
    }
    if (toks.length === 0) continue;
    const before = insns.length;
    parseInsn(new LineParser(toks, at, body), insns, fixups, at);
    for (let k = before; k < insns.length; k++) lineOf[k] = n + 1;
  }
  for (const f of fixups) {
    const to = labels.get(f.label);
    if (to === undefined) {
      if (f.helperFallback !== undefined) {
        insns[f.slot]!.src = op.PSEUDO_CALL_HELPER;
        insns[f.slot]!.imm = f.helperFallback;
        continue;
      }
      const code = insns[f.slot]!.code;
      const msg =
        code === op.OP_CALL
          ? `function ${f.label} is not defined (not a label or a known helper)`
          : code === op.OP_LDDW
            ? `symbol ${f.label} is not defined here (map and global references need an ELF object with relocations)`
            : `jump target ${f.label} is not defined`;
      throw new AsmError(msg, { where: f.where });
    }
    const disp = to - f.slot - 1;
    if (f.field === 'off' && (disp < -32768 || disp > 32767))
      throw new AsmError(`jump to ${f.label} is too far for a 16-bit offset (use gotol)`, { where: f.where });
    insns[f.slot]![f.field] = disp;
  }
  // lddw's first slot mirrors the high half, as decodeProgram does.
  for (let k = 0; k + 1 < insns.length; k++) {
    if (insns[k]!.code === op.OP_LDDW && lineOf[k] === lineOf[k + 1]) {
      insns[k]!.imm64Hi = insns[k + 1]!.imm;
      k++;
    }
  }
  const problem = findProgramProblem(insns, opts);
  if (problem) {
    const cause = new DecodeError(problem.message, { where: { insnIdx: problem.insnIdx } });
    throw new AsmError(problem.message, {
      where: { ...where, line: lineOf[problem.insnIdx], insnIdx: problem.insnIdx },
      cause,
    });
  }
  return insns;
}

function parseInsn(p: LineParser, insns: Insn[], fixups: Fixup[], at: Where): void {
  const emit = (code: number, dst = 0, src = 0, off = 0, imm = 0): void => {
    insns.push({ code, dst, src, off, imm });
  };
  const jumpTo = (
    t: ReturnType<LineParser['target']>,
    field: 'off' | 'imm',
    helperFallback?: number,
  ): number => {
    if ('rel' in t) {
      if (field === 'off' && (t.rel < -32768 || t.rel > 32767))
        p.fail(`jump offset ${t.rel} does not fit in 16 bits (use gotol)`);
      return t.rel;
    }
    const f: Fixup = { slot: insns.length, label: t.label, field, where: { ...at, col: t.tok.col } };
    if (helperFallback !== undefined) f.helperFallback = helperFallback;
    fixups.push(f);
    return 0;
  };
  const first = p.next('an instruction');
  const word = first.text;

  if (word === 'exit') {
    p.end();
    emit(op.OP_EXIT);
    return;
  }
  if (word === 'goto' || word === 'gotol' || word === 'may_goto') {
    const t = p.target();
    p.end();
    if (word === 'gotol') {
      emit(op.OP_JA32, 0, 0, 0, jumpTo(t, 'imm'));
      return;
    }
    emit(word === 'goto' ? op.OP_JA : op.OP_MAY_GOTO, 0, 0, jumpTo(t, 'off'));
    return;
  }
  if (word === 'callx') {
    const r = p.reg64('the callx target');
    p.end();
    emit(op.OP_CALLX, r);
    return;
  }
  if (word === 'call') {
    parseCall(p, emit, jumpTo);
    return;
  }
  if (word === 'if') {
    const a = p.reg();
    const sym = p.next('a comparison');
    const jop = JMP_OPS[sym.text];
    if (jop === undefined) p.fail(`unknown comparison "${sym.text}"`, sym);
    const cls = a.wide ? op.CLASS_JMP : op.CLASS_JMP32;
    let src = 0;
    let imm = 0;
    let x = op.SRC_K;
    if (p.isReg()) {
      const bt = p.peek();
      const b = p.reg();
      if (b.wide !== a.wide) p.fail('both registers of a comparison must be rN or both wN', bt);
      src = b.n;
      x = op.SRC_X;
    } else imm = p.imm32();
    p.expect('goto');
    const off = jumpTo(p.target(), 'off');
    p.end();
    emit(cls | jop! | x, a.n, src, off, imm);
    return;
  }
  if (word === 'lock') {
    p.expect('*');
    const c = p.sizeCast();
    const [dst, off] = p.memRef();
    const sym = p.next('an atomic operator');
    const aop = LOCK_OPS[sym.text];
    if (aop === undefined) p.fail(`unknown atomic operator "${sym.text}"`, sym);
    const src = p.valueReg(c.size);
    p.end();
    emit(op.CLASS_STX | op.MODE_ATOMIC | c.size, dst, src.n, off, aop);
    return;
  }
  if (word === 'store_release') {
    p.expect('(');
    const c = p.sizeCast();
    const [dst, off] = p.memRef();
    p.expect(',');
    const src = p.valueReg(c.size);
    p.expect(')');
    p.end();
    emit(op.CLASS_STX | op.MODE_ATOMIC | c.size, dst, src.n, off, op.ATOMIC_STORE_REL);
    return;
  }
  if (word === '*') {
    const c = p.sizeCast();
    if (c.signed) p.fail('stores take an unsigned size (u8, u16, u32, u64)');
    const [dst, off] = p.memRef();
    p.expect('=');
    if (p.isReg()) {
      const src = p.valueReg(c.size);
      p.end();
      emit(op.CLASS_STX | op.MODE_MEM | c.size, dst, src.n, off);
      return;
    }
    const imm = p.imm32();
    p.end();
    emit(op.CLASS_ST | op.MODE_MEM | c.size, dst, 0, off, imm);
    return;
  }
  if (first.kind !== 'ident' || !/^[rw]\d+$/.test(word)) p.fail(`unknown instruction "${word}"`, first);
  // Everything else starts with a destination register.
  p.back();
  const dt = p.peek();
  const d = p.reg();
  const cls = d.wide ? op.CLASS_ALU64 : op.CLASS_ALU;
  const sym = p.next('an operator');
  const alu = ALU_OPS[sym.text];
  if (alu) {
    const [aop, off] = alu;
    if (p.isReg()) {
      const st = p.peek();
      const s = p.reg();
      if (s.wide !== d.wide) p.fail('both registers must be rN or both wN', st);
      p.end();
      emit(cls | aop | op.SRC_X, d.n, s.n, off);
      return;
    }
    const imm = p.imm32();
    p.end();
    emit(cls | aop | op.SRC_K, d.n, 0, off, imm);
    return;
  }
  if (sym.text !== '=') p.fail(`unknown operator "${sym.text}"`, sym);
  parseAssign(p, d, dt!, emit, jumpTo);
}

type Emit = (code: number, dst?: number, src?: number, off?: number, imm?: number) => void;
type JumpTo = (t: ReturnType<LineParser['target']>, field: 'off' | 'imm', helperFallback?: number) => number;

function parseCall(p: LineParser, emit: Emit, jumpTo: JumpTo): void {
  if (p.is('pc')) {
    p.next('pc');
    const t = p.target();
    p.end();
    emit(op.OP_CALL, 0, op.PSEUDO_CALL, 0, jumpTo(t, 'imm'));
    return;
  }
  if (p.is('kfunc') && p.is('(', 1)) {
    p.next('kfunc');
    p.expect('(');
    const id = p.imm32();
    let off = 0;
    if (p.eat(',')) {
      const t = p.peek();
      const v = p.int('an offset');
      if (v < -32768n || v > 32767n) p.fail(`offset ${v} does not fit in 16 bits`, t);
      off = Number(v);
    }
    p.expect(')');
    p.end();
    emit(op.OP_CALL, 0, op.PSEUDO_KFUNC_CALL, off, id);
    return;
  }
  const t = p.peek();
  if (t?.kind === 'num' || p.is('-') || p.is('+')) {
    const imm = p.imm32();
    p.end();
    emit(op.OP_CALL, 0, 0, 0, imm);
    return;
  }
  const name = p.next('a helper id, helper name or function label');
  if (name.kind !== 'ident') p.fail(`expected a helper or function name, got "${name.text}"`, name);
  if (p.eat('#')) {
    // `bpf_map_lookup_elem#1`: the id is authoritative; the name must agree when we know it.
    const idTok = p.peek();
    const id = p.imm32();
    const known = helperId(name.text);
    if (known !== undefined && known !== id) p.fail(`${name.text} is helper ${known}, not ${id}`, idTok);
    p.end();
    emit(op.OP_CALL, 0, 0, 0, id);
    return;
  }
  p.end();
  // A label wins (bpf-to-bpf call); otherwise a helper name; otherwise undefined.
  const helper = helperId(name.text);
  emit(op.OP_CALL, 0, op.PSEUDO_CALL, 0, jumpTo({ label: name.text, tok: name }, 'imm', helper));
  return;
}

function parseAssign(p: LineParser, d: Reg, dt: Tok, emit: Emit, jumpTo: JumpTo): void {
  const cls = d.wide ? op.CLASS_ALU64 : op.CLASS_ALU;
  const t = p.peek();
  if (!t) p.fail('expected a value after "="');
  // r0 = -r0
  if (t.text === '-' && p.isReg(1)) {
    p.next('-');
    const st = p.peek();
    const s = p.reg();
    if (s.n !== d.n || s.wide !== d.wide) p.fail('negation must use the same register on both sides', st);
    p.end();
    emit(cls | op.ALU_NEG, d.n);
    return;
  }
  // r0 = (s8)r1
  if (t.text === '(' && /^s(8|16|32)$/.test(p.peek(1)?.text ?? '') && p.is(')', 2)) {
    p.next('(');
    const bits = Number(p.next('size').text.slice(1));
    p.expect(')');
    const st = p.peek();
    const s = p.reg();
    if (s.wide !== d.wide) p.fail('both registers must be rN or both wN', st);
    p.end();
    emit(cls | op.ALU_MOV | op.SRC_X, d.n, s.n, bits);
    return;
  }
  // Loads: r0 = *(u32 *)(r1 + 4), r0 = *(u8 *)skb[23], r0 = *(u16 *)skb[r1 + 4]
  if (t.text === '*') {
    p.next('*');
    const c = p.sizeCast();
    if (!d.wide && c.size === op.SIZE_DW) p.fail('a 64-bit load needs an rN destination', dt);
    if (p.is('skb')) {
      p.next('skb');
      if (c.signed || c.size === op.SIZE_DW) p.fail('packet loads take u8, u16 or u32');
      if (d.n !== 0) p.fail('packet loads always write r0', dt);
      p.expect('[');
      if (p.isReg()) {
        const s = p.reg();
        const imm = p.is('+') || p.is('-') ? p.imm32() : 0;
        p.expect(']');
        p.end();
        emit(op.CLASS_LD | op.MODE_IND | c.size, 0, s.n, 0, imm);
        return;
      }
      const imm = p.imm32();
      p.expect(']');
      p.end();
      emit(op.CLASS_LD | op.MODE_ABS | c.size, 0, 0, 0, imm);
      return;
    }
    const [src, off] = p.memRef();
    p.end();
    if (c.signed && c.size === op.SIZE_DW) p.fail('there is no sign-extending 64-bit load (use u64)');
    emit(op.CLASS_LDX | (c.signed ? op.MODE_MEMSX : op.MODE_MEM) | c.size, d.n, src, off);
    return;
  }
  if (t.kind === 'ident' && !/^[rw]\d+$/.test(t.text)) {
    const name = t.text;
    const sw = /^(le|be|bswap)(16|32|64)$/.exec(name);
    if (sw) {
      p.next(name);
      const st = p.peek();
      const s = p.reg();
      if (s.n !== d.n) p.fail('byte swaps use the same register on both sides', st);
      p.end();
      const code =
        sw[1] === 'bswap'
          ? op.CLASS_ALU64 | op.ALU_END
          : op.CLASS_ALU | op.ALU_END | (sw[1] === 'be' ? op.SRC_X : op.SRC_K);
      emit(code, d.n, 0, 0, Number(sw[2]));
      return;
    }
    if (name === 'addr_space_cast') {
      p.next(name);
      p.expect('(');
      const s = p.reg();
      p.expect(',');
      const to = p.imm32();
      p.expect(',');
      const from = p.imm32();
      p.expect(')');
      p.end();
      emit(
        op.CLASS_ALU64 | op.ALU_MOV | op.SRC_X,
        d.n,
        s.n,
        op.ADDR_SPACE_CAST,
        ((to & 0xffff) << 16) | (from & 0xffff),
      );
      return;
    }
    if (name in FETCH_OPS) {
      p.next(name);
      p.expect('(');
      const c = p.sizeCast();
      const [dst, off] = p.memRef();
      p.expect(',');
      const st = p.peek();
      const s = p.valueReg(c.size);
      if (s.n !== d.n)
        p.fail(`${name} returns into its source register: write r${s.n} = ${name}(..., r${s.n})`, st);
      if (!d.wide && c.size === op.SIZE_DW) p.fail('a 64-bit access needs an rN register', dt);
      p.expect(')');
      p.end();
      emit(op.CLASS_STX | op.MODE_ATOMIC | c.size, dst, s.n, off, FETCH_OPS[name]! | op.ATOMIC_FETCH);
      return;
    }
    const xm = /^(xchg|cmpxchg)(32)?_(32|64)$/.exec(name);
    if (xm) {
      p.next(name);
      const size = xm[3] === '64' ? op.SIZE_DW : op.SIZE_W;
      p.expect('(');
      if (!d.wide && size === op.SIZE_DW) p.fail('a 64-bit access needs an rN register', dt);
      const a = p.reg64('an address');
      const off = p.offset();
      p.expect(',');
      if (xm[1] === 'xchg') {
        const st = p.peek();
        const s = p.valueReg(size);
        if (s.n !== d.n) p.fail('xchg returns into its source register', st);
        p.expect(')');
        p.end();
        emit(op.CLASS_STX | op.MODE_ATOMIC | size, a, s.n, off, op.ATOMIC_XCHG);
        return;
      }
      const r0t = p.peek();
      const r0 = p.valueReg(size);
      if (r0.n !== 0 || d.n !== 0) p.fail('cmpxchg compares with and returns into r0', r0.n !== 0 ? r0t : dt);
      p.expect(',');
      const s = p.valueReg(size);
      p.expect(')');
      p.end();
      emit(op.CLASS_STX | op.MODE_ATOMIC | size, a, s.n, off, op.ATOMIC_CMPXCHG);
      return;
    }
    if (name === 'load_acquire') {
      p.next(name);
      p.expect('(');
      const c = p.sizeCast();
      if (!d.wide && c.size === op.SIZE_DW) p.fail('a 64-bit access needs an rN register', dt);
      const [src, off] = p.memRef();
      p.expect(')');
      p.end();
      emit(op.CLASS_STX | op.MODE_ATOMIC | c.size, d.n, src, off, op.ATOMIC_LOAD_ACQ);
      return;
    }
    if (name in LDDW_PSEUDO && p.is('(', 1)) {
      p.next(name);
      p.expect('(');
      const src = LDDW_PSEUDO[name]!;
      let lo: number;
      if (src === op.PSEUDO_FUNC) lo = jumpTo(p.target(), 'imm');
      else lo = p.imm32();
      let hi = 0;
      if (p.eat(',')) hi = p.imm32();
      p.expect(')');
      p.expect('ll');
      p.end();
      if (!d.wide) p.fail('lddw needs an rN destination', dt);
      pushLddw(emit, d.n, src, lo, hi);
      return;
    }
    // r1 = some_symbol ll — only a local function label can be resolved here.
    p.next(name);
    if (p.is('ll')) {
      p.next('ll');
      p.end();
      if (!d.wide) p.fail('lddw needs an rN destination', dt);
      const lo = jumpTo({ label: name, tok: t }, 'imm');
      pushLddw(emit, d.n, op.PSEUDO_FUNC, lo, 0);
      return;
    }
    p.fail(`unknown value "${name}"`, t);
  }
  // r0 = r1. clang -S also prints `r1 = w6` (LLVM's MOV_32_64, a zero-extending w1 = w6).
  if (p.isReg()) {
    const st = p.peek();
    const s = p.reg();
    if (!d.wide && s.wide) p.fail('both registers must be rN or both wN', st);
    p.end();
    emit((s.wide ? op.CLASS_ALU64 : op.CLASS_ALU) | op.ALU_MOV | op.SRC_X, d.n, s.n);
    return;
  }
  // r0 = 1 or r1 = 0x1234567890 ll
  const vt = p.peek();
  const v = p.int('a value');
  if (p.eat('ll')) {
    p.end();
    if (!d.wide) p.fail('lddw needs an rN destination', dt);
    if (v < -(1n << 63n) || v >= 1n << 64n) p.fail(`${v} does not fit in 64 bits`, vt);
    const u = BigInt.asUintN(64, v);
    pushLddw(emit, d.n, 0, Number(BigInt.asIntN(32, u)), Number(BigInt.asIntN(32, u >> 32n)));
    return;
  }
  p.end();
  if (v < -(1n << 31n) || v > 0xffffffffn)
    p.fail(`immediate ${v} does not fit in 32 bits (add "ll" for a 64-bit load)`, vt);
  emit(cls | op.ALU_MOV | op.SRC_K, d.n, 0, 0, Number(BigInt.asIntN(32, v)));
  return;
}

function pushLddw(emit: Emit, dst: number, src: number, lo: number, hi: number): void {
  emit(op.OP_LDDW, dst, src, 0, lo);
  emit(0, 0, 0, 0, hi);
}
