// verify(prog, { kernel }) on hand-written programs: each release's verifier rule, its message and
// the instruction it names. Releases and wording are the kernel's, cited in src/kernels/features.ts
// and src/verifier/profile.ts; each test checks both sides of the release that changed the rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemble } from '../../src/isa/asm/index.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { kernelProfile } from '../../src/kernels/index.ts';
import { type MapInfo, type VerifyResult, verify } from '../../src/verifier/index.ts';
import { loadExampleProgram } from '../verifier/objects.ts';

const root = new URL('../../', import.meta.url).pathname;

const prog = (asm: string): Insn[] => assemble(asm.trim());
const run = (insns: readonly Insn[], kernel: string, progType = 'socket_filter', maps: MapInfo[] = []) =>
  verify({ insns, progType, maps }, { logLevel: 1, kernel });
const rejected = (r: VerifyResult): string => {
  assert.equal(r.verdict, 'reject', 'expected a rejection');
  return r.error!.message;
};

// r1 counts 10 down to 0: a back-edge from insn 3 to insn 1
const LOOP = prog(`
r1 = 10
r1 += -1
if r1 == 0 goto +1
goto -3
r0 = 0
exit
`);

test('bounded loops: a back-edge is rejected by check_cfg() before 5.3, verified from 5.3', () => {
  const r = run(LOOP, '5.2');
  assert.equal(rejected(r), 'back-edge from insn 3 to 1');
  assert.equal(r.error!.insnIdx, 3);
  assert.equal(r.insnsProcessed, 0, 'check_cfg() runs before any instruction is explored');
  assert.equal(run(LOOP, '5.3').verdict, 'accept');
  assert.equal(run(LOOP, '6.18').verdict, 'accept');
});

test('program length: over 4096 instructions fails before 5.2, loads from 5.2', () => {
  const insns = prog(`${'r0 = 0\n'.repeat(4096)}exit`);
  assert.equal(insns.length, 4097);
  assert.match(rejected(run(insns, '4.19')), /^program of 4097 insns is too large \(limit 4096 on 4\.19/);
  assert.equal(run(insns, '5.2').verdict, 'accept');
});

test('processed-insn limit: the release limit replaces 1M unless insnLimit is given', () => {
  assert.equal(kernelProfile('5.1').maxProcessedInsns, 131_072);
  // 2,000 trips of a 4-insn loop under the 1M limit; a 5.3 profile keeps 1M
  const loop = prog(`
r1 = 2000
r1 += -1
if r1 == 0 goto +1
goto -3
r0 = 0
exit
`);
  assert.equal(run(loop, '5.3').verdict, 'accept');
  const small = verify({ insns: loop, progType: 'socket_filter' }, { kernel: '5.3', insnLimit: 100 });
  assert.match(rejected(small), /^BPF program is too large\. Processed 101 insn/);
});

test('jmp32 is an unknown opcode before 5.1', () => {
  const insns = prog(`
r0 = 0
if w1 > 3 goto +1
r0 = 1
exit
`);
  const r = run(insns, '5.0');
  assert.equal(rejected(r), 'unknown opcode 26'); // BPF_JMP32 | BPF_JGT | BPF_K
  assert.equal(r.error!.insnIdx, 1);
  assert.equal(run(insns, '5.1').verdict, 'accept');
});

test('cpu v4: sdiv uses reserved fields before 6.6, may_goto is unknown before 6.9', () => {
  const sdiv = prog(`
r0 = 7
r0 s/= 3
exit
`);
  assert.equal(rejected(run(sdiv, '6.5')), 'BPF_ALU uses reserved fields');
  assert.equal(run(sdiv, '6.6').verdict, 'accept');
  const mayGoto = prog(`
r0 = 0
may_goto +0
exit
`);
  assert.equal(rejected(run(mayGoto, '6.8')), 'unknown opcode e5');
  assert.equal(run(mayGoto, '6.9').verdict, 'accept');
});

test('helpers: an id past the release is "invalid func unknown#N", only where exploration reaches it', () => {
  // bpf_ktime_get_coarse_ns (160) arrived in 5.11
  const call = prog(`
call 160
r0 = 0
exit
`);
  const r = run(call, '5.10');
  assert.equal(rejected(r), 'invalid func unknown#160');
  assert.equal(r.error!.insnIdx, 0);
  assert.equal(run(call, '5.11').verdict, 'accept');
  // behind a branch the verifier proves dead, as CO-RE feature checks compile, it never matters
  const dead = prog(`
r0 = 0
if r0 == 0 goto +1
call 160
exit
`);
  assert.equal(run(dead, '5.10').verdict, 'accept');
});

test('a helper the program type lacks: "unknown func" before 6.10, reworded since', () => {
  // bpf_skb_load_bytes (26) is not an XDP helper on any release
  const insns = prog(`
r2 = 0
r3 = r10
r3 += -8
r4 = 4
call 26
r0 = 0
exit
`);
  assert.equal(rejected(run(insns, '6.9', 'xdp')), 'unknown func bpf_skb_load_bytes#26');
  assert.equal(
    rejected(run(insns, '6.10', 'xdp')),
    'program of this type cannot use helper bpf_skb_load_bytes#26',
  );
});

test('callbacks: BPF_PSEUDO_FUNC is unrecognized before 5.13, bpf_loop unknown before 5.17', () => {
  const loop = prog(`
r1 = 4
r2 = cb ll
r3 = 0
r4 = 0
call 181
r0 = 0
exit
cb:
r0 = 0
exit
`);
  const funcInfo = [
    { insnIdx: 0, typeId: 1 },
    { insnIdx: 8, typeId: 2 },
  ];
  const v = (kernel: string) =>
    verify({ insns: loop, progType: 'socket_filter', funcInfo }, { logLevel: 1, kernel });
  const old = v('5.10');
  assert.equal(rejected(old), 'unrecognized bpf_ld_imm64 insn');
  assert.equal(old.error!.insnIdx, 1);
  const r = v('5.15');
  assert.equal(rejected(r), 'invalid func unknown#181');
  assert.equal(r.error!.insnIdx, 5);
  assert.equal(v('5.17').verdict, v('6.18').verdict);
});

const PROG_ARRAY: MapInfo = { type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 4, name: 'jmp' };
// main keeps `depth` bytes of stack, then calls a subprogram that tail-calls
const tailFromSubprog = (depth: number) =>
  prog(`
r2 = 42
*(u64 *)(r10 - ${depth}) = r2
call pc+2
r0 = 0
exit
r2 = map_fd(0) ll
r3 = 0
call 12
r0 = 0
exit
`);

test('tail calls with bpf-to-bpf calls: rejected before 5.10; from 5.10 under 256 bytes of caller stack', () => {
  const r = run(tailFromSubprog(8), '5.9', 'sched_cls', [PROG_ARRAY]);
  assert.equal(rejected(r), 'tail_calls are not allowed in programs with bpf-to-bpf calls');
  assert.equal(r.error!.insnIdx, 8);
  // a subprogram may tail-call only with BTF func_info (check_abnormal_return, also from 5.10)
  assert.equal(
    rejected(run(tailFromSubprog(240), '5.10', 'sched_cls', [PROG_ARRAY])),
    'tail_call is not allowed in subprogs without BTF',
  );
  const withFuncInfo = (insns: Insn[], kernel: string) =>
    verify(
      {
        insns,
        progType: 'sched_cls',
        maps: [PROG_ARRAY],
        funcInfo: [0, 5].map((insnIdx, k) => ({ insnIdx, typeId: k + 1 })),
      },
      { logLevel: 1, kernel },
    );
  assert.equal(withFuncInfo(tailFromSubprog(240), '5.10').verdict, 'accept');
  // the kernel selftest's pair (verifier_tailcall... "256 bytes of caller stack")
  assert.equal(
    rejected(withFuncInfo(tailFromSubprog(256), '6.18')),
    'tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large',
  );
});

test('global data (BPF_PSEUDO_MAP_VALUE) is an unrecognized ld_imm64 before 5.2; ringbuf maps fail to create before 5.8', () => {
  const data: MapInfo = { type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, name: '.data' };
  const insns = prog(`
r1 = map_value(0, 0) ll
r0 = *(u32 *)(r1 + 0)
exit
`);
  assert.equal(rejected(run(insns, '5.1', 'socket_filter', [data])), 'unrecognized bpf_ld_imm64 insn');
  assert.equal(run(insns, '5.2', 'socket_filter', [data]).verdict, 'accept');
  const rb: MapInfo = { type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096, name: 'events' };
  const ret0 = prog('r0 = 0\nexit');
  assert.match(rejected(run(ret0, '5.7', 'socket_filter', [rb])), /^map events: .*ringbuf needs 5\.8/);
  assert.equal(run(ret0, '5.8', 'socket_filter', [rb]).verdict, 'accept');
});

test('the 6.18 profile and the default agree on these programs', () => {
  for (const insns of [LOOP, tailFromSubprog(8)]) {
    const a = verify({ insns, progType: 'sched_cls', maps: [PROG_ARRAY] }, { logLevel: 1 });
    const b = verify({ insns, progType: 'sched_cls', maps: [PROG_ARRAY] }, { logLevel: 1, kernel: '6.18' });
    assert.deepEqual(b, a);
  }
});

test('the explanation line names what the release lacks and the release that has it', () => {
  const r = run(LOOP, '5.2');
  assert.equal(r.error!.principle, 'uses only what the kernel release has');
  assert.match(r.error!.hint, /arrived in Linux 5\.3; 5\.2 lacks it/);
  const call = prog('call 160\nr0 = 0\nexit');
  assert.match(
    run(call, '5.10').error!.hint,
    /^bpf_ktime_get_coarse_ns \(helper 160\) arrived in Linux 5\.11/,
  );
  // a rejection 6.18 gives too keeps the verifier's own explanation
  const bad = prog('r0 = *(u32 *)(r2 + 0)\nexit');
  assert.notEqual(run(bad, '5.10').error!.principle, 'uses only what the kernel release has');
});

test('global functions: verified separately from 5.6; before, libbpf makes them static and each call is verified inline', () => {
  const ex = loadExampleProgram(`${root}examples/subprogs/subprogs.bpf.o`, 'subprogs_xdp');
  const at = (kernel: string) => verify(ex.input, { logLevel: 0, kernel });
  const separate = at('5.6');
  const inline = at('5.5');
  assert.equal(separate.verdict, 'accept');
  assert.equal(inline.verdict, 'accept');
  assert.equal(separate.insnsProcessed, verify(ex.input, { logLevel: 0 }).insnsProcessed);
  assert.notEqual(inline.insnsProcessed, separate.insnsProcessed, 'the two ways walk different paths');
});
