// Differential check of valid.ts against the running kernel: single mutated instructions in a
// socket filter. decodeProgram must never reject what the kernel accepts, and must reject
// whatever the kernel rejects for a structural reason (callx excepted: RFC 9669 has it,
// Linux does not).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { decodeProgram } from '../../src/isa/decode.ts';
import { formatKernelInsn } from '../../src/isa/disasm-kernel.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { OP_CALLX } from '../../src/isa/opcode.ts';
import { prng, randomProgram } from './gen.ts';
import { buildKbpf } from './kbpf.ts';

const kbpf = buildKbpf();
after(() => kbpf?.close());

// Kernel messages that come from checks of the encoding itself, not from program state.
const STRUCTURAL =
  /unknown opcode|uses reserved fields|R\d+ is invalid|frame pointer is read only|invalid bpf_ld_imm64|unrecognized bpf_ld_imm64|invalid BPF_LD_IMM|jump out of range|invalid atomic opcode|jump into the middle/;

test('decodeProgram agrees with the kernel on 400 mutated instructions', {
  skip: kbpf ? false : 'needs root, gcc and the kbpf oracle',
}, () => {
  const rand = prng(2024);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const I = (code: number, dst: number, src = 0): Insn => ({ code, dst, src, off: 0, imm: 0 });
  // r6 = ctx (for ld_abs); every other register initialised so reads are legal.
  const prefix = [I(0xbf, 6, 1), ...[0, 1, 2, 3, 4, 5, 7, 8, 9].map((r) => I(0xb7, r))];
  const suffix = [I(0xb7, 0), I(0x95, 0)];
  const counts = { accept: 0, reject: 0, structural: 0 };
  for (let k = 0; k < 400; k++) {
    let mid = randomProgram(rand, 1).map((i) => ({ ...i }));
    const m = mid[0]!;
    const r = rand();
    if (r < 0.15) m.code = int(0, 255);
    else if (r < 0.3) m.dst = int(0, 15);
    else if (r < 0.45) m.src = int(0, 15);
    else if (r < 0.6) m.off = int(-3, 40);
    else if (r < 0.75) m.imm = [0, 1, 8, 16, 32, 64, 0xe1, 0xf1, 0x100, 0x110, 0x41, -1][int(0, 11)]!;
    if (mid.length === 2 && m.code !== 0x18) mid = [m]; // an lddw mutated into something else
    const insns = [...prefix, ...mid, ...suffix];
    const bytes = encodeProgram(insns);
    let ours: string | undefined;
    try {
      decodeProgram(bytes);
    } catch (e) {
      ours = (e as Error).message;
    }
    const kernel = kbpf!.load(bytes, 1);
    const lastLine =
      kernel.log
        .split('\n')
        .filter((l) => l.trim() && !/^(processed|verification time|\d+: |func#)/.test(l))
        .pop() ?? '';
    const text = formatKernelInsn(insns, prefix.length);
    if (kernel.accepted) {
      assert.equal(ours, undefined, `kernel accepts ${text}; we said: ${ours}`);
      counts.accept++;
    } else {
      counts.reject++;
      if (STRUCTURAL.test(lastLine) && m.code !== OP_CALLX) {
        counts.structural++;
        assert.notEqual(ours, undefined, `kernel rejects ${text} with "${lastLine}"; we accepted`);
      }
    }
  }
  // The sample must exercise all three outcomes.
  assert.ok(counts.accept > 50 && counts.reject > 50 && counts.structural > 20, JSON.stringify(counts));
});
