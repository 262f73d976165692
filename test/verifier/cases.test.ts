// Every case file through tsbpf's verifier: the verdict the case expects (which
// kernel-diff.test.ts checks against the running kernel) and its error lines in the log.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verify } from '../../src/verifier/index.ts';
import { caseProgram, loadCases } from './cases.ts';

for (const c of loadCases()) {
  test(`verifier case ${c.name}`, () => {
    const r = verify(caseProgram(c), { logLevel: 1 });
    assert.equal(r.verdict, c.expect, `${c.name}: ${r.error?.message ?? 'accepted'}`);
    for (const m of c.messages) {
      assert.ok(
        r.log.some((line) => line.includes(m)),
        `${c.name}: no log line contains "${m}"\n${r.log.join('\n')}`,
      );
    }
    // the statistics line closes every log
    assert.match(r.log.at(-1) ?? '', /^processed \d+ insns \(limit 1000000\) max_states_per_insn/);
    if (c.expect === 'reject') assert.ok(r.error && r.error.insnIdx >= 0 && r.error.insnIdx < c.insns.length);
  });
}
