// One program per rule a loader without CAP_PERFMON meets (kernel 6.18 verifier.c:
// allow_ptr_leaks, allow_uninit_stack, bypass_spec_v1 off). The expectations come from the kernel
// source; tsbpf with `perfmon: false` must give them, root must accept every program that the
// rule alone rejects, and where capsh and bpf() are there the kernel under capsh must agree
// (verdict, the message, processed instructions).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { assembleAuto, encodeProgram } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { prepareKbpf, runKbpfSync, TempDir } from '../oracles.ts';
import { mapInfo } from './cases.ts';

interface Rule {
  name: string;
  type?: string;
  maps?: string[];
  asm: string;
  /** The first line of tsbpf's error, a line of the kernel's log; undefined: accepted. */
  message?: string;
  /** Root rejects it too (the rule is not the only reason). */
  rootRejects?: boolean;
}

const LOOKUP = `*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map_fd(0) ll
call 1`;

const RULES: Rule[] = [
  {
    name: 'pointer stored into a map value',
    maps: ['array:4:8:1'],
    asm: `${LOOKUP}\nif r0 == 0 goto +1\n*(u64 *)(r0 + 0) = r0\nr0 = 0\nexit`,
    message: 'R0 leaks addr into map',
  },
  {
    name: 'pointer stored into the ctx',
    asm: '*(u32 *)(r1 + 48) = r10\nr0 = 0\nexit',
    message: 'R10 leaks addr into ctx',
  },
  {
    name: 'pointer stored into the packet',
    type: 'sched_cls',
    asm: `r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 8
if r4 > r3 goto +1
*(u64 *)(r2 + 0) = r2
r0 = 0
exit`,
    message: 'R2 leaks addr into packet',
  },
  {
    name: 'pointer as a helper flags argument',
    maps: ['array:4:8:1'],
    asm: `*(u32 *)(r10 - 4) = 0
*(u64 *)(r10 - 16) = 0
r1 = map_fd(0) ll
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = r10
call 2
r0 = 0
exit`,
    message: 'R4 leaks addr into helper function',
  },
  {
    name: 'pointer added atomically to memory',
    asm: '*(u64 *)(r10 - 8) = 0\nr1 = r10\nlock *(u64 *)(r10 - 8) += r1\nr0 = 0\nexit',
    message: 'R1 leaks addr into mem',
  },
  {
    name: 'half of a spilled pointer overwritten',
    asm: '*(u64 *)(r10 - 8) = r1\n*(u32 *)(r10 - 8) = 0\nr0 = 0\nexit',
    message: 'attempt to corrupt spilled pointer on stack',
  },
  {
    name: 'sign extension of a pointer',
    asm: 'r2 = (s8)r10\nr0 = 0\nexit',
    message: 'R10 sign-extension part of pointer',
  },
  {
    name: 'pointer compared with a constant',
    asm: 'r0 = 0\nif r1 > 5 goto +1\nr0 = 1\nexit',
    message: 'R1 pointer comparison prohibited',
  },
  {
    name: '32-bit subtraction on a pointer',
    asm: 'w1 -= 1\nr0 = 0\nexit',
    message: 'R1 32-bit pointer arithmetic prohibited',
  },
  {
    name: 'stack pointer moved above the frame',
    asm: 'r2 = r10\nr2 += 8\nr0 = 0\nexit',
    message: 'R2 stack pointer arithmetic goes out of range, prohibited for !root; off=8',
  },
  {
    name: 'map value pointer moved past the value by a constant',
    maps: ['array:4:8:1'],
    asm: `${LOOKUP}\nif r0 == 0 goto +1\nr0 += 8\nr0 = 0\nexit`,
    message: 'invalid access to map value, value_size=8 off=8 size=1',
  },
  {
    name: 'map value pointer plus a scalar of mixed sign',
    maps: ['array:4:8:1'],
    asm: `${LOOKUP}\nif r0 == 0 goto +3\nr1 = *(u8 *)(r0 + 0)\nr1 -= 5\nr0 += r1\nr0 = 0\nexit`,
    message:
      'R1 has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited for !root',
  },
  {
    name: 'packet pointer plus a register',
    type: 'xdp',
    asm: 'r2 = *(u32 *)(r1 + 0)\nr3 = 4\nr2 += r3\nr0 = 2\nexit',
    message: 'R2 has pointer with unsupported alu operation, pointer arithmetic with it prohibited for !root',
  },
  {
    name: 'one instruction moves the pointer by different amounts on two paths',
    maps: ['array:4:8:1'],
    asm: `r6 = *(u32 *)(r1 + 0)
${LOOKUP}
if r0 == 0 goto L3
r1 = *(u8 *)(r0 + 0)
if r6 > 10 goto L1
r1 &= 1
goto L2
L1:
r1 &= 3
L2:
r0 += r1
r0 = *(u8 *)(r0 + 0)
L3:
r0 = 0
exit`,
    message:
      'R0 tried to add from different maps, paths or scalars, pointer arithmetic with it prohibited for !root',
  },
  {
    name: 'a variable offset in bounds (the masked path explored as well)',
    maps: ['array:4:8:1'],
    asm: `${LOOKUP}\nif r0 == 0 goto +4\nr1 = *(u8 *)(r0 + 0)\nr1 &= 7\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nr0 = 0\nexit`,
  },
  {
    name: 'a known branch whose other side would fault (a barrier instead, 6.17+)',
    asm: 'r0 = 0\nr1 = 0\nif r1 == 0 goto +1\nr0 = *(u64 *)(r1 + 0)\nexit',
  },
  {
    name: 'a map key with unwritten bytes',
    maps: ['hash:4:8:4'],
    asm: `*(u8 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nr1 = map_fd(0) ll\ncall 1\nr0 = 0\nexit`,
    message: 'invalid read from stack R2 off -4+1 size 4',
  },
  {
    name: 'a load over half-written stack',
    asm: '*(u32 *)(r10 - 8) = 0\nr0 = *(u64 *)(r10 - 8)\nr0 = 0\nexit',
    message: 'invalid read from stack off -8+4 size 8',
  },
  {
    name: 'a copy of a released reference read after the release',
    maps: ['ringbuf:0:0:4096'],
    asm: `r1 = map_fd(0) ll
r2 = 8
r3 = 0
call 131
if r0 == 0 goto +5
r6 = r0
r1 = r0
r2 = 0
call 132
r0 = r6
r0 = 0
exit`,
    message: 'R6 !read_ok',
  },
];

function kernelSkip(): string | false {
  const tool = prepareKbpf();
  if (tool.skip) return `bpf() unavailable: ${tool.skip}`;
  if (process.getuid?.() !== 0) return 'capsh --drop needs root';
  const capsh = spawnSync('capsh', ['--drop=cap_sys_admin,cap_perfmon', '--', '-c', 'exit 0']);
  return capsh.error || capsh.status !== 0 ? 'capsh (libcap2-bin) cannot drop capabilities here' : false;
}

const kSkip = kernelSkip();
const dir = new TempDir('tsbpf-noperfmon-rules-');

for (const rule of RULES) {
  const insns = assembleAuto(rule.asm, rule.name);
  const prog = { insns, progType: rule.type ?? 'socket_filter', maps: (rule.maps ?? []).map(mapInfo) };
  test(`without CAP_PERFMON: ${rule.name}`, () => {
    const r = verify(prog, { perfmon: false });
    if (rule.message === undefined) assert.equal(r.verdict, 'accept', r.error?.message);
    else {
      assert.equal(r.verdict, 'reject');
      assert.equal(r.error?.message, rule.message);
    }
    if (!rule.rootRejects) assert.equal(verify(prog).verdict, 'accept', 'root accepts it');
    // --unprivileged implies the same rules
    if (prog.progType === 'socket_filter')
      assert.equal(verify(prog, { unprivileged: true }).verdict, r.verdict);
  });
  test(`without CAP_PERFMON, the kernel under capsh: ${rule.name}`, { skip: kSkip }, () => {
    const maps = (rule.maps ?? []).flatMap((m) => ['--map', m]);
    const bin = dir.file('p.bin', encodeProgram(insns));
    const args = ['--type', prog.progType, '--log', '1', ...maps, bin];
    const k = runKbpfSync('capsh', [
      '--drop=cap_sys_admin,cap_perfmon',
      '--',
      '-c',
      'exec "$0" "$@"',
      prepareKbpf().path,
      ...args,
    ]);
    const r = verify(prog, { perfmon: false });
    assert.equal(k.verdict, r.verdict, k.log);
    if (rule.message !== undefined)
      assert.ok(
        k.log.split('\n').some((l) => l.startsWith(rule.message!)),
        k.log,
      );
    assert.equal(r.insnsProcessed, k.insnsProcessed, 'processed instructions');
  });
}

test('no-perfmon rule programs: temp files removed', () => dir.close());
