// The level-2 log's "Live regs before insn:" table (kernel: print_insn_live_regs() after
// compute_live_registers()) against the kernel's: a helper call reads only the registers of its
// prototype's parameters (get_call_summary()), a bpf-to-bpf call R1-R5.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleAuto, encodeProgram } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { buildKbpf } from './kbpf.ts';

const programs: Record<string, string[]> = {
  // no parameters
  ktime: ['call 5', 'r1 = r0', 'r0 = 0', 'exit'],
  // bpf_get_prandom_u32 after setting registers it does not read
  prandom_after_args: ['r1 = 1', 'r2 = 2', 'r3 = 3', 'call 7', 'r0 = r3', 'exit'],
  // bpf_probe_read_kernel(dst, size, src): three parameters
  probe_read: ['r1 = r10', 'r1 += -8', 'r2 = 8', 'r3 = 0', 'r4 = 4', 'call 113', 'r0 = r4', 'exit'],
  // a bpf-to-bpf call reads R1-R5
  subprog: ['r1 = 1', 'call pc+1', 'exit', 'r0 = r1', 'exit'],
};

const table = (log: readonly string[]): string[] => {
  const at = log.indexOf('Live regs before insn:');
  assert.ok(at >= 0, log.join('\n'));
  const rows: string[] = [];
  for (let i = at + 1; i < log.length && /^\s+\d+: [0-9.]{10} /.test(log[i]!); i++) rows.push(log[i]!);
  return rows;
};

for (const [name, lines] of Object.entries(programs)) {
  test(`tsbpf: ${name}'s live registers`, () => {
    const r = verify(
      { insns: assembleAuto(lines.join('\n'), `${name}.s`), progType: 'kprobe' },
      { logLevel: 2 },
    );
    const rows = table(r.log);
    assert.equal(rows.length, lines.length);
    if (name === 'ktime') assert.match(rows[0]!, /^\s+0: \.{10} \(85\) call bpf_ktime_get_ns#5$/);
    if (name === 'subprog') assert.match(rows[1]!, /^\s+1: \.12345\.{4} /);
  });
}

const kbpf = buildKbpf();
test('kernel: the same live-register tables', {
  skip: kbpf ? false : 'bpf() unavailable (needs root and gcc)',
}, () => {
  try {
    for (const [name, lines] of Object.entries(programs)) {
      const insns = assembleAuto(lines.join('\n'), `${name}.s`);
      const k = kbpf!.load(encodeProgram(insns), 'kprobe', [], 2);
      const r = verify({ insns, progType: 'kprobe' }, { logLevel: 2 });
      assert.deepEqual(table(r.log), table(k.log), name);
    }
  } finally {
    kbpf!.close();
  }
});
