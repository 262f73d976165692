// Each program of test/examples/reject/reject.bpf.o, loaded alone, still gets the
// verdict, errno and verifier message recorded in test/examples/reject/expected.json
// (the kernel is the reference tsbpf's verifier is compared with).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareKobj, repoRoot, runKobj } from './kobj.ts';
import { closingMessage, logOf, type RejectExpectation, rejectObject } from './reject-expected.ts';

const expected = (
  JSON.parse(readFileSync(join(repoRoot, 'test/examples/reject/expected.json'), 'utf8')) as {
    programs: RejectExpectation[];
  }
).programs;
const skip = prepareKobj();

test('closingMessage takes the lines after the last instruction, without statistics', () => {
  const log = [
    '0: R1=ctx() R10=fp0',
    '; return *v; @ x.c:3',
    '3: (79) r0 = *(u64 *)(r0 +0)',
    "R0 invalid mem access 'map_value_or_null'",
    'verification time 7 usec',
    'stack depth 8',
    'processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
  ].join('\n');
  assert.deepEqual(closingMessage(log), ["R0 invalid mem access 'map_value_or_null'"]);
});

test('the reject corpus covers at least a dozen distinct refusals', () => {
  const refused = expected.filter((p) => p.verdict === 'reject');
  assert.ok(refused.length >= 12, `${refused.length}`);
  assert.equal(new Set(refused.map((p) => p.message[0])).size, refused.length);
});

test('kernel: every program of the reject corpus gets its recorded verdict', { skip }, () => {
  const r = runKobj([rejectObject]);
  assert.deepEqual(
    r.programs.map((p) => [p.program, p.verdict, p.errno.trim()]),
    expected.map((p) => [p.name, p.verdict, p.errno]),
  );
});

for (const p of expected.filter((e) => e.verdict === 'reject' && (e.insnsProcessed ?? 0) < 100000)) {
  test(`kernel: ${p.name} is refused with "${p.message[0]}"`, { skip }, () => {
    const r = runKobj(['--prog', p.name, '--log', '1', rejectObject]);
    assert.deepEqual(closingMessage(logOf(r.stdout)), p.message);
  });
}
