// Random straight-line BPF programs over four unknown scalars (r6..r9), and a simulation of what
// the kernel verifier logs for them, built only from src/verifier/domain. Used by kernel-diff.ts
// (live kernel oracle) and by kernel-replay.test.ts (recorded kernel logs).
//
// Shape: r6..r9 = bpf_get_prandom_u32() each, then random ALU ops and conditional jumps, then
// `r0 = 0; exit`. Every jump goes to that exit, so the first path the kernel walks (the
// fall-through of every jump) is the main path; taken sides are checked at their "from A to B:".

import { alu, branch, coerce, print, scalar, tnum, u64 } from '../../../src/verifier/domain/index.ts';
import type { Scalar } from '../../../src/verifier/domain/index.ts';

export interface RawInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export { mulberry32Float as prng } from '../../../src/prng.ts';

const CLS_ALU = 0x04;
const CLS_JMP = 0x05;
const CLS_JMP32 = 0x06;
const CLS_ALU64 = 0x07;
const SRC_X = 0x08;

const ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xc0, 0xd0, 0xb0];
const JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randImm(rnd: () => number): number {
  const r = rnd();
  if (r < 0.35) return Math.floor(rnd() * 17);
  if (r < 0.5) return 1 << Math.floor(rnd() * 31);
  if (r < 0.65) return pick(rnd, [-1, -2, 0x7fffffff, -0x80000000, 0xff, 0xffff, 0xfff0, -16, 0x7ff, 0x80]);
  if (r < 0.8) return -Math.floor(rnd() * 300);
  return (Math.floor(rnd() * 4294967296) | 0) >> Math.floor(rnd() * 24);
}

/** A random program of about `len` body instructions. */
export function genProgram(rnd: () => number, len: number): RawInsn[] {
  const p: RawInsn[] = [];
  const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0) => p.push({ code, dst, src, off, imm });
  for (let r = 6; r <= 9; r++) {
    ins(0x85, 0, 0, 0, 7); // call bpf_get_prandom_u32
    ins(0xbf, r, 0); // rN = r0
  }
  const body: { insn: RawInsn; jumpsToExit: boolean }[] = [];
  const push = (code: number, dst: number, src: number, off: number, imm: number, jumpsToExit = false) =>
    body.push({ insn: { code, dst, src, off, imm }, jumpsToExit });
  // a few shaping ops first so that the operands have interesting bounds
  for (let r = 6; r <= 9; r++) {
    const k = rnd();
    if (k < 0.3)
      push(CLS_ALU64 | 0x50, r, 0, 0, randImm(rnd)); // and
    else if (k < 0.45) push(CLS_ALU | 0x50, r, 0, 0, randImm(rnd));
    else if (k < 0.6)
      push(CLS_ALU64 | 0x40, r, 0, 0, randImm(rnd)); // or
    else if (k < 0.75) push(CLS_JMP | pick(rnd, JMP_OPS), r, 0, 0, randImm(rnd), true);
  }
  while (body.length < len) {
    const dst = 6 + Math.floor(rnd() * 4);
    const src = 6 + Math.floor(rnd() * 4);
    const useX = rnd() < 0.4;
    if (rnd() < 0.06) {
      // spill src to the stack and fill dst back with a narrow (or sign-extending) load: the
      // kernel copies the spilled state and truncates it (coerce_reg_to_size{,_sx}())
      push(0x7b, 10, src, -8, 0); // *(u64 *)(r10 - 8) = src
      push(pick(rnd, [0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91]), dst, 10, -8, 0);
      push(CLS_ALU64 | 0x20, dst, 0, 0, 1); // drop the id shared with the slot
      continue;
    }
    if (rnd() < 0.3) {
      const cls = rnd() < 0.5 ? CLS_JMP : CLS_JMP32;
      const op = pick(rnd, JMP_OPS);
      if (useX) push(cls | op | SRC_X, dst, src, 0, 0, true);
      else push(cls | op, dst, 0, 0, randImm(rnd), true);
      continue;
    }
    const is64 = rnd() < 0.55;
    const cls = is64 ? CLS_ALU64 : CLS_ALU;
    const op = pick(rnd, ALU_OPS);
    if (op === 0x80) {
      push(cls | op, dst, 0, 0, 0);
    } else if (op === 0xd0) {
      // byte swaps: to_le (ALU only) or bswap (ALU64), widths 16/32/64
      push(cls | op, dst, 0, 0, pick(rnd, [16, 32, 64]));
    } else if (op === 0xb0) {
      if (useX) {
        const off = is64 ? pick(rnd, [0, 8, 16, 32]) : pick(rnd, [0, 8, 16]);
        push(cls | op | SRC_X, dst, src, off, 0);
        // `dst *= 1` drops the scalar id the copy shares with src (6.18 keeps ids through
        // add/sub of constants), so the kernel's linked-register syncing stays out of the picture
        push(CLS_ALU64 | 0x20, dst, 0, 0, 1);
      } else {
        push(cls | op, dst, 0, 0, randImm(rnd));
      }
    } else if (op === 0x60 || op === 0x70 || op === 0xc0) {
      if (useX) push(cls | op | SRC_X, dst, src, 0, 0);
      else push(cls | op, dst, 0, 0, Math.floor(rnd() * (is64 ? 64 : 32)));
    } else if (op === 0x30 || op === 0x90) {
      const off = rnd() < 0.3 ? 1 : 0; // sdiv/smod
      if (useX) push(cls | op | SRC_X, dst, src, off, 0);
      else push(cls | op, dst, 0, off, randImm(rnd) || 3);
    } else if (useX) {
      push(cls | op | SRC_X, dst, src, 0, 0);
    } else {
      push(cls | op, dst, 0, 0, randImm(rnd));
    }
  }
  const exitIdx = p.length + body.length;
  for (const b of body) {
    if (b.jumpsToExit) b.insn.off = exitIdx - (p.length + 1);
    p.push(b.insn);
  }
  ins(0xb7, 0, 0, 0, 0); // r0 = 0
  ins(0x95); // exit
  return p;
}

export function encode(p: readonly RawInsn[]): Uint8Array {
  const out = new Uint8Array(p.length * 8);
  const v = new DataView(out.buffer);
  p.forEach((i, k) => {
    v.setUint8(k * 8, i.code);
    v.setUint8(k * 8 + 1, (i.src << 4) | i.dst);
    v.setInt16(k * 8 + 2, i.off, true);
    v.setInt32(k * 8 + 4, i.imm, true);
  });
  return out;
}

/** Register states by register number, printed the kernel's way and normalised. */
export type Printed = Record<number, string>;

export interface Expectation {
  /** Main path: for each instruction index, the state of every tracked register after it. */
  main: { idx: number; regs: Printed }[];
  /** Index of the exit that ends the main path. */
  endIdx: number;
  /** For pushes from the main path: "A->B" to the registers' states there. */
  pushed: Record<string, Printed>;
  /** "verifier bug: REG INVARIANTS VIOLATION ..." texts on the main path, in order. */
  violations: string[];
}

/** Drops what the domain does not model: precision marks and scalar ids. */
export function normalise(text: string): string {
  let t = text.startsWith('P') ? text.slice(1) : text;
  t = t.replace(/id=\d+(?:[+-]\d+)?,?/g, '').replace(/,\)/g, ')');
  return t;
}

function snapshot(regs: Scalar[]): Printed {
  const out: Printed = {};
  for (let r = 6; r <= 9; r++) out[r] = normalise(print.scalarState(regs[r]!));
  return out;
}

/** What the domain predicts the kernel logs for program p. */
export function simulate(p: readonly RawInsn[]): Expectation {
  const regs: Scalar[] = [];
  for (let r = 0; r <= 9; r++) regs.push(scalar.unknown());
  const exp: Expectation = { main: [], endIdx: -1, pushed: {}, violations: [] };
  for (let idx = 8; idx < p.length; idx++) {
    const i = p[idx]!;
    const cls = i.code & 0x07;
    const op = i.code & 0xf0;
    const isX = (i.code & SRC_X) !== 0;
    if (i.code === 0x95) {
      exp.main.push({ idx, regs: snapshot(regs) });
      exp.endIdx = idx;
      return exp;
    }
    if (i.code === 0xb7 && i.dst === 0) {
      exp.main.push({ idx, regs: snapshot(regs) });
      continue;
    }
    if (cls === CLS_JMP || cls === CLS_JMP32) {
      const is32 = cls === CLS_JMP32;
      const a = regs[i.dst]!;
      const b = isX ? regs[i.src]! : scalar.known(u64.fromS32(i.imm));
      const target = idx + 1 + i.off;
      const pred = branch.isBranchTaken(op, a, b, is32);
      if (pred === 1) {
        exp.main.push({ idx, regs: snapshot(regs) });
        idx = target - 1; // the kernel follows only the jump
        continue;
      }
      if (pred === -1) {
        const res = branch.regSetMinMax(op, a, b, is32);
        exp.violations.push(...res.violations);
        const takenRegs = regs.map((r) => scalar.copy(r));
        takenRegs[i.dst] = res.taken[0];
        if (isX) takenRegs[i.src] = res.taken[1];
        exp.pushed[`${idx}->${target}`] = snapshot(takenRegs);
        regs[i.dst] = res.fallthrough[0];
        if (isX) regs[i.src] = res.fallthrough[1];
      }
      exp.main.push({ idx, regs: snapshot(regs) });
      continue;
    }
    if (i.code === 0x7b) {
      exp.main.push({ idx, regs: snapshot(regs) });
      continue;
    }
    if (cls === 0x01) {
      // fill from the slot the previous instruction spilled (sizes: W=0x00, H=0x08, B=0x10, DW=0x18)
      const spilled = regs[p[idx - 1]!.src]!;
      const size = [4, 2, 1, 8][(i.code >> 3) & 3]!;
      const r = scalar.copy(spilled);
      if (size < 8) {
        if ((i.code & 0xe0) === 0x80) coerce.coerceRegToSizeSx(r, size);
        else coerce.coerceRegToSize(r, size);
      }
      regs[i.dst] = r;
      exp.main.push({ idx, regs: snapshot(regs) });
      continue;
    }
    const alu32 = cls === CLS_ALU;
    const dst = regs[i.dst]!;
    if (op === 0xb0) {
      if (!isX) regs[i.dst] = scalar.known(alu32 ? u64.fromU32(i.imm) : u64.fromS32(i.imm));
      else if (!alu32)
        regs[i.dst] = i.off === 0 ? scalar.copy(regs[i.src]!) : coerce.movSx64(regs[i.src]!, i.off);
      else regs[i.dst] = i.off === 0 ? coerce.mov32(regs[i.src]!) : coerce.movSx32(regs[i.src]!, i.off);
    } else if (op === 0xd0) {
      alu.adjustScalarMinMaxVals(op, dst, dst, alu32, { toLe: !isX, imm: i.imm });
    } else {
      const src = op === 0x80 ? dst : isX ? regs[i.src]! : scalar.known(u64.fromS32(i.imm));
      if ((op === 0x50 || op === 0x40) && tnum.isConst(src.varOff)) {
        const zero = alu.maybeForkScalars(dst);
        if (zero) {
          const forkRegs = regs.map((r) => scalar.copy(r));
          forkRegs[i.dst] = zero;
          exp.pushed[`${idx}->${idx}`] = snapshot(forkRegs);
        }
      }
      alu.adjustScalarMinMaxVals(op, dst, src, alu32);
    }
    exp.main.push({ idx, regs: snapshot(regs) });
  }
  return exp;
}

/** What the kernel's level-2 log says, in the same shape as Expectation. */
export interface Observed {
  main: { idx: number; regs: Printed }[];
  pushed: Record<string, Printed>;
  violations: string[];
}

/** Register assignments `R6_w=scalar(...)` in a log line (values may contain spaces in parens). */
export function parseRegs(text: string): Printed {
  const out: Printed = {};
  const re = /R(\d+)(?:_\w+)?=/g;
  let m: RegExpExecArray | null = re.exec(text);
  while (m !== null) {
    let j = re.lastIndex;
    let depth = 0;
    while (j < text.length && (depth > 0 || text[j] !== ' ')) {
      if (text[j] === '(') depth++;
      else if (text[j] === ')') depth--;
      j++;
    }
    const reg = Number(m[1]);
    if (reg >= 6 && reg <= 9) out[reg] = normalise(text.slice(re.lastIndex, j));
    re.lastIndex = j;
    m = re.exec(text);
  }
  return out;
}

export function parseLog(log: string): Observed {
  const obs: Observed = { main: [], pushed: {}, violations: [] };
  let inMain = true;
  for (const line of log.split('\n')) {
    const from = /^from (\d+) to (\d+): (.*)$/.exec(line);
    if (from) {
      inMain = false;
      const key = `${from[1]}->${from[2]}`;
      if (!(key in obs.pushed)) obs.pushed[key] = parseRegs(from[3]!);
      continue;
    }
    if (!inMain) continue;
    if (line.startsWith('verifier bug: ')) obs.violations.push(line.slice('verifier bug: '.length));
    const m = /^(\d+): \([0-9a-f]{2}\) [^;]*(?:; (.*))?$/.exec(line);
    if (!m) continue;
    const idx = Number(m[1]);
    if (idx < 8) continue;
    obs.main.push({ idx, regs: m[2] ? parseRegs(m[2]) : {} });
    if (line.includes('(95) exit')) inMain = false;
  }
  return obs;
}

/** Differences between expectation and observation, as readable lines (empty when they agree). */
export function compare(exp: Expectation, obs: Observed): string[] {
  const diffs: string[] = [];
  const byIdx = new Map(exp.main.map((e) => [e.idx, e.regs]));
  for (const o of obs.main) {
    const e = byIdx.get(o.idx);
    if (!e) {
      diffs.push(`insn ${o.idx}: the kernel walked it, the domain did not`);
      continue;
    }
    for (const [reg, text] of Object.entries(o.regs)) {
      if (e[Number(reg)] !== text)
        diffs.push(`insn ${o.idx} R${reg}: kernel ${text} domain ${e[Number(reg)]}`);
    }
  }
  const seen = new Set(obs.main.map((o) => o.idx));
  for (const e of exp.main) {
    if (!seen.has(e.idx)) diffs.push(`insn ${e.idx}: the domain walked it, the kernel did not`);
  }
  for (const [key, regs] of Object.entries(obs.pushed)) {
    const e = exp.pushed[key];
    if (!e) continue; // a push from a later path, not from the main one
    for (const [reg, text] of Object.entries(regs)) {
      if (e[Number(reg)] !== text) diffs.push(`from ${key} R${reg}: kernel ${text} domain ${e[Number(reg)]}`);
    }
  }
  if (JSON.stringify(exp.violations) !== JSON.stringify(obs.violations)) {
    diffs.push(
      `violations: kernel ${JSON.stringify(obs.violations)} domain ${JSON.stringify(exp.violations)}`,
    );
  }
  for (const key of Object.keys(exp.pushed)) {
    if (!(key in obs.pushed)) diffs.push(`domain pushed ${key}, the kernel did not`);
  }
  return diffs;
}

/** Where the kernel printed which registers, without the texts (for compact recordings). */
export interface Shape {
  main: [number, number[]][];
  pushed: [string, number[]][];
}

export function shapeOf(obs: Observed): Shape {
  return {
    main: obs.main.map((o) => [o.idx, Object.keys(o.regs).map(Number)]),
    pushed: Object.entries(obs.pushed).map(([k, regs]) => [k, Object.keys(regs).map(Number)]),
  };
}

/** A shape as one line of text: `8:6 9:67 12: | 20->38:6789`. */
export function shapeText(sh: Shape): string {
  const part = (xs: [string | number, number[]][]) =>
    xs.map(([k, regs]) => `${k}:${regs.join('')}`).join(' ');
  return `${part(sh.main)} | ${part(sh.pushed)}`;
}

export function parseShape(text: string): Shape {
  const [main = '', pushed = ''] = text.split(' | ');
  const items = (t: string) =>
    t
      .split(' ')
      .filter((x) => x !== '')
      .map((x): [string, number[]] => {
        const [k = '', regs = ''] = x.split(':');
        return [k, [...regs].map(Number)];
      });
  return {
    main: items(main).map(([k, regs]) => [Number(k), regs]),
    pushed: items(pushed),
  };
}

/**
 * The observation the domain predicts for a given shape: the simulated texts of exactly the
 * registers the kernel printed. Entries the simulation lacks stay empty, so they differ.
 */
export function project(exp: Expectation, shape: Shape): Observed {
  const byIdx = new Map(exp.main.map((e) => [e.idx, e.regs]));
  const pick = (regs: Printed | undefined, which: number[]): Printed => {
    const out: Printed = {};
    for (const r of which) out[r] = regs?.[r] ?? '<missing>';
    return out;
  };
  const pushed: Record<string, Printed> = {};
  for (const [k, which] of shape.pushed) {
    // pushes from later paths are not modelled; the kernel's own text stands in for them
    pushed[k] = exp.pushed[k] ? pick(exp.pushed[k], which) : {};
  }
  return {
    main: shape.main.map(([idx, which]) => ({ idx, regs: pick(byIdx.get(idx), which) })),
    pushed,
    violations: exp.violations,
  };
}

/** Stable text of an observation, for hashing. Pushes not from the main path are left out. */
export function canonical(obs: Observed, exp: Expectation): string {
  const pushed = Object.entries(obs.pushed)
    .filter(([k]) => k in exp.pushed)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({ main: obs.main, pushed, violations: obs.violations });
}
