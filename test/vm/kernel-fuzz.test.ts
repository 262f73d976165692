// Random loop-free ALU/JMP/stack programs through the interpreter and the live kernel (kbpf):
// every register is folded into the 32-bit retval, so any difference in any register shows.
// The kernel is the reference; skipped when the oracle is unavailable.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Insn, insn } from '../../src/isa/insn.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { KbpfOracle } from './kbpf-oracle.ts';

const kernel = new KbpfOracle();
after(() => kernel.close());
const problem = kernel.problem();

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

const EDGE = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x8000, 63, 64, 31, 32];

/**
 * One random program: constants in r0..r9, a zeroed stack area, `body` random ALU ops, stack
 * accesses and forward branches, then all registers folded into r0.
 */
function randomProgram(r: (n: number) => number, body: number): Insn[] {
  const out: Insn[] = [];
  const imm32 = () => (r(3) === 0 ? EDGE[r(EDGE.length)]! : (r(0x10000) << 16) | r(0x10000));
  for (let reg = 0; reg <= 9; reg++) {
    const hi = r(4) === 0 ? EDGE[r(EDGE.length)]! : imm32();
    out.push({ ...insn(0x18, reg, 0, 0, imm32()), imm64Hi: hi }, insn(0, 0, 0, 0, hi));
  }
  // Zero the 64 stack bytes the memory ops use: the kernel's stack holds garbage, ours zeros.
  for (let k = 1; k <= 8; k++) out.push(insn(0x7a, 10, 0, -8 * k, 0));
  const FOLD_LEN = 9 * 2 + 4;
  for (let k = 0; k < body; k++) {
    const d = r(10);
    const s = r(10);
    const is64 = r(2) === 0;
    const cls = is64 ? 0x07 : 0x04;
    const kind = r(11);
    if (kind < 6) {
      const ops = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0];
      const aop = ops[r(ops.length)]!;
      const useReg = aop !== 0x80 && r(2) === 0;
      let imm = imm32();
      let off = 0;
      if (aop === 0x30 || aop === 0x90) {
        off = r(3) === 0 ? 1 : 0; // sdiv / smod
        if (!useReg && imm === 0) imm = 7; // the verifier rejects a constant zero divisor
      }
      if (aop === 0x60 || aop === 0x70 || aop === 0xc0) imm = r(is64 ? 64 : 32);
      // Reserved fields stay zero (the kernel rejects e.g. neg with an imm).
      out.push(
        insn(cls | aop | (useReg ? 0x08 : 0), d, useReg ? s : 0, off, useReg || aop === 0x80 ? 0 : imm),
      );
    } else if (kind === 6) {
      // movsx (cpu v4)
      const off = is64 ? [8, 16, 32][r(3)]! : [8, 16][r(2)]!;
      out.push(insn(is64 ? 0xbf : 0xbc, d, s, off));
    } else if (kind === 7) {
      // le / be / bswap
      const code = [0xd4, 0xdc, 0xd7][r(3)]!;
      out.push(insn(code, d, 0, 0, [16, 32, 64][r(3)]!));
    } else if (kind === 8) {
      // Stack access: store, (sign-extending) load or atomic, aligned, within [r10-64, r10).
      const sizes = [0x10, 0x08, 0x00, 0x18]; // b, h, w, dw
      const sz = sizes[r(4)]!;
      const bytes = sz === 0x10 ? 1 : sz === 0x08 ? 2 : sz === 0x00 ? 4 : 8;
      const off = -64 + bytes * r(64 / bytes);
      const m = r(3);
      if (m === 0)
        out.push(insn(0x63 | sz, 10, s, off)); // stx
      else if (m === 1)
        out.push(insn((r(2) && sz !== 0x18 ? 0x81 : 0x61) | sz, d, 10, off)); // ldx / ldxs
      else {
        const wide = r(2) === 0;
        const aoff = -64 + (wide ? 8 : 4) * r(wide ? 8 : 16);
        const imm = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1][r(10)]!;
        out.push(insn(wide ? 0xdb : 0xc3, 10, s, aoff, imm));
      }
    } else {
      // Conditional forward branch, never past the fold.
      const jops = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
      const jop = jops[r(jops.length)]!;
      const useReg = r(2) === 0;
      const left = body - k - 1;
      const code = (is64 ? 0x05 : 0x06) | jop | (useReg ? 0x08 : 0);
      out.push(insn(code, d, useReg ? s : 0, r(left + 1), useReg ? 0 : imm32()));
    }
  }
  // r0 = fold(r0..r9), then high half into low half.
  for (let reg = 1; reg <= 9; reg++) out.push(insn(0x27, 0, 0, 0, 0x01000193), insn(0xaf, 0, reg));
  out.push(insn(0xbf, 1, 0), insn(0x77, 1, 0, 0, 32), insn(0xaf, 0, 1), insn(0x95));
  assert.equal(out.length, 28 + body + FOLD_LEN);
  return out;
}

test('random ALU/branch/stack programs agree with the kernel', {
  skip: problem ? `oracle unavailable: ${problem}` : false,
}, () => {
  const r = rng(0x5eed);
  const data = new Uint8Array(40);
  let compared = 0;
  for (let iter = 0; iter < 150; iter++) {
    const insns = randomProgram(r, 30);
    const k = kernel.run('socket_filter', insns, data);
    if (k.verdict !== 'accept') continue; // e.g. a constant-folded division the verifier dislikes
    const ours = testRun(insns, { type: 'socket_filter', data });
    const dump = insns.map((i) => `${i.code.toString(16)}:${i.dst}:${i.src}:${i.off}:${i.imm}`).join(' ');
    assert.equal(ours.retval, k.retval, `program ${iter}: ${dump}`);
    compared++;
  }
  console.log(`kernel-fuzz: ${compared}/150 random programs compared with the kernel`);
  assert.ok(compared >= 120, `only ${compared} programs were accepted by the kernel`);
});
