// Near-miss programs against the kernel: small seeded mutations of example programs (a memory
// offset, a compared constant, a jump condition, an ALU immediate) must get the kernel's verdict.
// Many mutants stay valid and many break a safety rule, so both directions are exercised.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Insn } from '../../src/isa/index.ts';
import { encodeProgram } from '../../src/isa/index.ts';
import type { MapInfo } from '../../src/verifier/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { buildKbpf } from './kbpf.ts';
import { loadExampleProgram } from './objects.ts';

const root = new URL('../../', import.meta.url).pathname;
// programs whose maps kbpf can create and that need no BTF (no callbacks)
const PROGRAMS: [string, string][] = [
  ['examples/xdp-parse/xdp_parse.bpf.o', 'xdp_parse'],
  ['examples/xdp-firewall/xdp_firewall.bpf.o', 'xdp_firewall'],
  ['examples/tc-classifier/tc_classifier.bpf.o', 'tc_classify'],
  ['examples/loops/loops.bpf.o', 'checksum_loop'],
  ['examples/loops/loops.bpf.o', 'while_loop'],
  ['examples/socket-filter/socket_filter.bpf.o', 'udp_port_filter'],
];
// TSBPF_MUTANTS / TSBPF_SEED widen the search when hunting disagreements by hand
const PER_PROGRAM = Number(process.env.TSBPF_MUTANTS ?? 8);
const SEED = Number(process.env.TSBPF_SEED ?? 20261126);

/** A small LCG: the same mutants on every run. */
function prng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}

const JCC = [0x10, 0x20, 0x30, 0x50, 0xa0, 0xb0, 0x60, 0x70, 0xc0, 0xd0];

/** Mutates one instruction in place; returns what changed. */
function mutate(insns: Insn[], rnd: (n: number) => number): string {
  for (;;) {
    const idx = rnd(insns.length);
    const i = insns[idx]!;
    const c = i.code & 7;
    const kind = rnd(4);
    if (kind === 0 && (c === 1 || c === 2 || c === 3)) {
      const d = rnd(33) - 16 || 1;
      i.off += d;
      return `insn ${idx} off${d > 0 ? '+' : ''}${d}`;
    }
    const isJcc = (c === 5 || c === 6) && JCC.includes(i.code & 0xf0);
    if (kind === 1 && isJcc && (i.code & 8) === 0) {
      const d = rnd(17) - 8 || 1;
      i.imm += d;
      return `insn ${idx} imm${d > 0 ? '+' : ''}${d}`;
    }
    if (kind === 2 && isJcc) {
      i.code = (i.code & 0x0f) | JCC[rnd(JCC.length)]!;
      return `insn ${idx} op ${i.code.toString(16)}`;
    }
    if (kind === 3 && (c === 4 || c === 7) && (i.code & 8) === 0 && (i.code & 0xf0) !== 0xd0) {
      const d = rnd(9) - 4 || 1;
      i.imm += d;
      return `insn ${idx} alu imm${d > 0 ? '+' : ''}${d}`;
    }
  }
}

const kbpf = buildKbpf();

test('mutants of example programs get the kernel verdict', {
  skip: kbpf ? false : 'bpf() unavailable',
}, async (t) => {
  const rnd = prng(SEED);
  for (const [obj, name] of PROGRAMS) {
    const ex = loadExampleProgram(`${root}${obj}`, name);
    // kbpf's maps are plain: no frozen .rodata contents, no flags
    const maps: MapInfo[] = (ex.input.maps ?? []).map((m) => ({
      type: m.type,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
    }));
    const kmaps = maps.map((m) => `${m.type}:${m.keySize}:${m.valueSize}:${m.maxEntries}`);
    for (let n = 0; n < PER_PROGRAM; n++) {
      const insns = ex.input.insns.map((i) => ({ ...i }));
      const what = mutate(insns, rnd);
      await t.test(`${name} ${what}`, () => {
        const k = kbpf!.load(encodeProgram(insns), ex.linked.progType, kmaps, 1);
        const r = verify({ insns, progType: ex.linked.progType, maps }, { logLevel: 1 });
        const kernelError = k.log.at(-2) ?? '';
        assert.equal(
          r.verdict,
          k.accepted ? 'accept' : 'reject',
          `kernel: ${kernelError}; tsbpf: ${r.error?.message}`,
        );
      });
    }
  }
  kbpf!.close();
});
