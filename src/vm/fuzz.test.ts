// Random programs in checked mode: every outcome is a result, an InputError at load or a
// RuntimeFault at run time. Nothing else may escape, nothing may hang (small budget).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, RuntimeFault } from '../errors.ts';
import { type Insn, insn } from '../isa/insn.ts';
import { Vm } from './vm.ts';

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

// Every opcode byte the loader accepts in some form, plus a few it rejects.
const OPCODES = [
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97,
  0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7, 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c,
  0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xcc, 0xd4, 0xdc, 0x05,
  0x06, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0x7d, 0xa5, 0xad, 0xb5,
  0xbd, 0xc5, 0xcd, 0xd5, 0xdd, 0x16, 0x1e, 0x26, 0x2e, 0x56, 0x5e, 0x66, 0xa6, 0xd6, 0xde, 0x61, 0x69, 0x71,
  0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x18, 0x20, 0x28, 0x30,
  0x40, 0x48, 0x50, 0x85, 0x8d, 0x95, 0x95, 0x95, 0x00, 0xff, 0x8f, 0xe1,
];
const IMMS = [0, 1, -1, 8, 16, 32, 64, 0x41, 0xe1, 0xf1, 0x7fffffff, -0x80000000, 5, 7, 2];

test('random programs never escape as anything but InputError or RuntimeFault', () => {
  const r = rng(2024);
  const vm = new Vm({ budget: 20_000, seed: 3 });
  const pkt = vm.arena.alloc(64, 8, { kind: 'packet', writable: true });
  const outcomes = { ok: 0, load: 0, fault: 0 };
  for (let iter = 0; iter < 5000; iter++) {
    const len = 1 + r(24);
    const insns: Insn[] = [];
    for (let i = 0; i < len; i++) {
      const code = OPCODES[r(OPCODES.length)]!;
      // Mostly valid registers and in-range targets, so most programs load and then run.
      const dst = r(40) === 0 ? 11 : r(11);
      const src = r(11);
      const isJump = (code & 0x07) === 0x05 || (code & 0x07) === 0x06;
      const target = r(len + 1) - i - 1; // lands anywhere in the program, sometimes one past it
      let off = isJump ? target : r(3) === 0 ? -8 * (1 + r(8)) : r(9) - 4;
      let imm = r(2) === 0 ? IMMS[r(IMMS.length)]! : (r(0x10000) << 16) | r(0x10000);
      let srcReg = src;
      if (code === 0x85) {
        srcReg = r(3) === 0 ? 1 : 0;
        imm = srcReg === 1 ? target : [5, 6, 7, 8, 125, 160, 99][r(7)]!;
      }
      if (code === 0x06) imm = target;
      const isAlu = (code & 0x07) === 0x04 || (code & 0x07) === 0x07;
      if (isAlu) off = r(4) === 0 ? [1, 8, 16, 32][r(4)]! : 0;
      if ((code & 0xf0) === 0xd0 && isAlu) imm = [16, 32, 64][r(3)]!;
      if ((code & 0xe0) === 0xc0 && (code & 0x07) === 0x03)
        imm = [0, 1, 0x40, 0x41, 0x50, 0xa1, 0xe1, 0xf1][r(8)]!;
      const writesDst = isAlu || (code & 0x07) === 0x01;
      if (code === 0x8d) off = 0;
      const ins = insn(code, writesDst && dst === 10 && r(8) ? r(10) : dst, srcReg, off, imm);
      insns.push(ins);
      if (code === 0x18) {
        ins.src = 0;
        ins.imm64Hi = r(2) ? 0 : -1;
        insns.push(insn(0, 0, 0, 0, ins.imm64Hi));
        i++;
      }
    }
    if (r(2)) insns.push(insn(0x95));
    let prog: ReturnType<Vm['load']>;
    try {
      prog = vm.load(insns);
    } catch (e) {
      assert.ok(e instanceof InputError, `load threw ${String(e)}`);
      assert.equal(typeof e.where.insnIdx, 'number');
      outcomes.load++;
      continue;
    }
    try {
      vm.run(prog, { args: [pkt, 64], packet: { start: pkt, len: 64 } });
      outcomes.ok++;
    } catch (e) {
      assert.ok(e instanceof RuntimeFault, `run threw ${e instanceof Error ? e.stack : String(e)}`);
      assert.equal(typeof e.where.insnIdx, 'number');
      outcomes.fault++;
    }
  }
  // The generator must reach all three outcomes, or the test proves little.
  console.log(`fuzz outcomes: ${JSON.stringify(outcomes)}`);
  assert.ok(outcomes.ok > 100 && outcomes.load > 100 && outcomes.fault > 100, JSON.stringify(outcomes));
});
