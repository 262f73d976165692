// test/verifier/snprintf/snprintf.bpf.o: bpf_snprintf's format is a constant string in a frozen
// read-only map, checked at load against the data length (kernel: check_reg_const_str(),
// check_bpf_snprintf_call()). Verdicts, processed counts and errors recorded from Linux 6.18
// (kobj --log 0); the kernel test checks they still hold. Rebuild with snprintf/build.sh.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { verify } from '../../src/verifier/index.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';
import { loadExampleProgram } from './objects.ts';

const object = join(repoRoot, 'test/verifier/snprintf/snprintf.bpf.o');
/** The runtime's helper fixture (strtol, snprintf, for_each_map_elem, ...): the kernel accepts it. */
const helpers = join(repoRoot, 'test/runtime/fixtures/helpers.bpf.o');

const KERNEL: Record<string, { verdict: 'accept' | 'reject'; processed: number; error?: string }> = {
  format_ok: { verdict: 'accept', processed: 18 },
  too_few_args: { verdict: 'reject', processed: 10, error: 'Invalid format string' },
  octal_format: { verdict: 'reject', processed: 10, error: 'Invalid format string' },
  writable_format: { verdict: 'reject', processed: 10, error: "R3 does not point to a readonly map'" },
};
const HELPERS: Record<string, number> = { helpers_rawtp: 383, helpers_tc: 149 };

for (const [name, want] of Object.entries(KERNEL)) {
  test(`tsbpf: ${name} is ${want.verdict}ed after ${want.processed} insns, as by the kernel`, () => {
    const r = verify(loadExampleProgram(object, name).input, {});
    assert.equal(r.verdict, want.verdict, `${r.error?.message}`);
    assert.equal(r.insnsProcessed, want.processed);
    if (want.error) assert.equal(r.error?.message, want.error);
  });
}
for (const [name, processed] of Object.entries(HELPERS)) {
  test(`tsbpf: the runtime's helper fixture ${name} is accepted after ${processed} insns`, () => {
    const r = verify(loadExampleProgram(helpers, name).input, {});
    assert.equal(r.verdict, 'accept', `${r.error?.message}`);
    assert.equal(r.insnsProcessed, processed);
  });
}

const skip = prepareKobj();
test('kernel: the recorded verdicts, processed counts and errors are what Linux says', { skip }, () => {
  const report = runKobj(['--log', '0', object]);
  assert.deepEqual(report.programs.map((p) => p.program).sort(), Object.keys(KERNEL).sort());
  for (const p of report.programs) {
    const want = KERNEL[p.program]!;
    assert.equal(p.verdict, want.verdict, p.program);
    assert.equal(p.insnsProcessed, want.processed, p.program);
    if (want.error) assert.equal(p.error, want.error, p.program);
  }
  for (const p of runKobj(['--log', '0', helpers]).programs) {
    assert.equal(p.verdict, 'accept', p.program);
    assert.equal(p.insnsProcessed, HELPERS[p.program], p.program);
  }
});
