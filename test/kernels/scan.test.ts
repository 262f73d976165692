// programRequirements() on hand-made linked programs: each case builds the instructions a
// compiler would emit for one feature and checks the requirement and the release it names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import type { LinkedProgram } from '../../src/elf/index.ts';
import type { Insn } from '../../src/isa/insn.ts';
import {
  externRequirements,
  kernelProfile,
  programRequirements,
  scanObject,
  verdictsFor,
} from '../../src/kernels/index.ts';

const insn = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });
const EXIT = insn(0x95);
const MOV0 = insn(0xb7, 0, 0, 0, 2); // r0 = XDP_PASS
const call = (helper: number) => insn(0x85, 0, 0, 0, helper);

function linked(progType: LinkedProgram['progType'], insns: Insn[], functions = [0]): LinkedProgram {
  return {
    name: 'p',
    section: progType,
    progType,
    sleepable: false,
    xdpFrags: false,
    license: 'GPL',
    kernelVersion: 0,
    insns,
    maps: [],
    objectMapIndex: [],
    mapIndex: 'object',
    functions: functions.map((insnOff, i) => ({ name: i === 0 ? 'p' : `f${i}`, section: '.text', insnOff })),
    funcInfo: [],
    lineInfo: [],
    coreRelos: [],
  };
}
const features = (p: LinkedProgram) => programRequirements(p).map((r) => `${r.feature}@${r.needs}`);

test("a program longer than 4096 insns needs 5.2, and says so in the brief's words", () => {
  const insns = [...Array.from({ length: 130_000 }, () => MOV0), EXIT];
  const reqs = programRequirements(linked('xdp', insns));
  const size = reqs.find((r) => r.feature === 'program size');
  assert.ok(size);
  assert.equal(size.needs, '5.2');
  assert.match(size.text, /program of 130,001 insns exceeds the 4,096-insn limit before 5\.2/);
  assert.equal(
    programRequirements(linked('xdp', [MOV0, EXIT])).find((r) => r.feature === 'program size'),
    undefined,
  );
});

test('bpf_tail_call in a program with bpf-to-bpf calls needs 5.10; either alone does not', () => {
  // r0 = 0; call f1 (pc+2); r0 = 2; exit; f1: call bpf_tail_call; r0 = 0; exit
  const body = [insn(0xb7), insn(0x85, 0, 1, 0, 2), MOV0, EXIT, call(12), insn(0xb7), EXIT];
  const both = features(linked('xdp', body, [0, 4]));
  assert.ok(both.includes('tail calls with bpf-to-bpf calls@5.10'), both.join());
  assert.ok(both.includes('bpf-to-bpf call@4.16'));
  const tailOnly = features(linked('xdp', [call(12), MOV0, EXIT]));
  assert.ok(!tailOnly.some((f) => f.startsWith('tail calls with')));
});

test('context fields read through r1 or a copy of it', () => {
  // r6 = r1; r2 = *(u32 *)(r6 + 20)  (xdp_md.egress_ifindex); exit
  const xdp = features(linked('xdp', [insn(0xbf, 6, 1), insn(0x61, 2, 6, 20), MOV0, EXIT]));
  assert.ok(xdp.includes('xdp_md.egress_ifindex@5.8'), xdp.join());
  // r1 overwritten first: the load is not from the context any more.
  const lost = features(linked('xdp', [insn(0xb7, 1, 0, 0, 0), insn(0x61, 2, 1, 20), MOV0, EXIT]));
  assert.ok(!lost.some((f) => f.startsWith('xdp_md.')));
  // __sk_buff.tstamp (off 152, u64) written by a tc program.
  const tc = features(linked('sched_cls', [insn(0x7b, 1, 2, 152), MOV0, EXIT]));
  assert.ok(tc.includes('__sk_buff.tstamp@5.0'), tc.join());
});

test('a helper a program type is never offered blocks every release', () => {
  // bpf_xdp_adjust_head (44) from a tc program.
  const reqs = programRequirements(linked('sched_cls', [call(44), MOV0, EXIT]));
  const r = reqs.find((x) => x.feature.startsWith('bpf_xdp_adjust_head'));
  assert.ok(r);
  assert.match(r.text, /in a sched_cls program/);
  const v = verdictsFor(reqs, ['4.19', '6.18']);
  assert.equal(v['6.18']?.verdict, 'blocked');
});

test('each feature is reported once per program, at its first instruction', () => {
  const jeq32 = insn(0x16, 1, 0, 0, 0); // if w1 == 0 goto +0
  const reqs = programRequirements(linked('xdp', [MOV0, jeq32, jeq32, jeq32, EXIT]));
  const j = reqs.filter((r) => r.feature === 'jmp32');
  assert.equal(j.length, 1);
  assert.equal(j[0]?.insnIdx, 1);
  assert.equal(j[0]?.needs, '5.1');
});

test('__ksym externs: kfuncs by the release that added them, weak ones optional', () => {
  const ext = (name: string, weak = false) => ({
    name,
    kind: 'ksym' as const,
    weak,
    typeId: 0,
    size: 0,
    offset: 0,
  });
  const kinds = (e: { name: string }) => (e.name === 'bpf_prog_active' ? 'var' : 'func');
  const reqs = externRequirements(
    [ext('bpf_iter_num_new'), ext('bpf_rcu_read_lock', true), ext('bpf_prog_active'), ext('no_such_kfunc')],
    kinds,
  );
  assert.deepEqual(
    reqs.map((r) => `${r.feature}@${r.needs}`),
    ['kfunc bpf_iter_num_new@6.4', 'ksym bpf_prog_active@5.10'], // open-coded iterators 06accc8779c1
  );
  assert.equal(kernelProfile('6.3').kfuncMissing('bpf_iter_num_new')?.since, '6.4');
  assert.equal(kernelProfile('6.4').kfuncMissing('bpf_iter_num_new'), null);
  assert.equal(kernelProfile('4.19').kfuncMissing('no_such_kfunc'), null);
});

test('an open-coded iterator object (fixtures/iter.bpf.o) needs 6.4 for its bpf_iter_num kfuncs', () => {
  // The running 6.18 kernel loads this object (checked with `bpftool prog load`); tsbpf cannot link
  // __ksym calls, so the scan reads the unlinked program, with the calls marked as kfunc calls.
  const bytes = readFileSync(new URL('./fixtures/iter.bpf.o', import.meta.url));
  const r = scanObject(loadCollectionSpec(bytes, { file: 'iter.bpf.o' }));
  assert.equal(r.minVersion, '6.4');
  assert.equal(r.verdicts['6.1']?.verdict, 'blocked');
  assert.match(r.verdicts['6.1']?.reasons[0]?.text ?? '', /^kfunc bpf_iter_num_new needs 6\.4$/);
  assert.equal(r.verdicts['6.6']?.verdict, 'ok');
  const features = r.requirements.map((q) => q.feature);
  assert.ok(features.includes('kfunc call'));
  assert.ok(!features.includes('bpf-to-bpf call'), 'kfunc calls are not bpf-to-bpf calls');
  assert.ok(!features.includes('link'));
});
