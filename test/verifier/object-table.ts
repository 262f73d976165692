// Verifier tests of one C object with a program per rule, against a table of what Linux 6.18
// answered for each program (undefined: accepted; else a line of the kernel's refusal, read from
// `kobj --log 1`). tsbpf's verifier must give the same; where bpf() works, the kernel test
// re-checks the table itself: verdicts, messages and processed-instruction counts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { resolveKfuncCalls } from '../../src/runtime/kfunc-calls.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
import { type VerifyResult, verify } from '../../src/verifier/index.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';

/** tsbpf's verifier on one program of an object (repository-relative path), kfunc calls resolved. */
export function verifyObjectProgram(object: string, name: string): VerifyResult {
  const spec = resolveKfuncCalls(
    loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object }),
  );
  const linked = linkProgram(spec, name, { mapIndex: 'used' });
  return verify(linkedVerifyProgram(spec, linked));
}

export interface ObjectTableOptions {
  /**
   * Programs whose processed count may differ from the kernel's by up to 20% (a known, documented
   * gap); every other program's count must be equal.
   */
  countGap?: ReadonlySet<string>;
}

/** Registers the table's tests: one per program, the table's completeness, and the kernel check. */
export function objectTableTests(
  object: string,
  expected: Record<string, string | undefined>,
  opts: ObjectTableOptions = {},
): void {
  for (const [name, message] of Object.entries(expected)) {
    test(`tsbpf: ${name} ${message === undefined ? 'is accepted' : `is refused: ${message}`}`, () => {
      const r = verifyObjectProgram(object, name);
      assert.equal(r.verdict === 'accept' ? undefined : r.error?.message, message);
    });
  }

  test('the table names every program of the object', () => {
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(join(repoRoot, object))), { file: object });
    assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(expected).sort());
  });

  test('kernel: the same verdicts, messages and processed-instruction counts', {
    skip: prepareKobj(),
  }, () => {
    const r = runKobj([object]);
    assert.equal(r.programs.length, Object.keys(expected).length);
    for (const p of r.programs) {
      const want = expected[p.program];
      const ours = verifyObjectProgram(object, p.program).insnsProcessed;
      if (opts.countGap?.has(p.program)) {
        assert.ok(Math.abs(ours - p.insnsProcessed!) <= p.insnsProcessed! * 0.2, `${p.program}: ${ours}`);
      } else {
        assert.equal(ours, p.insnsProcessed, p.program);
      }
      assert.equal(p.verdict, want === undefined ? 'accept' : 'reject', p.program);
      if (want === undefined) continue;
      const log = logOf(runKobj(['--prog', p.program, '--log', '1', object]).stdout);
      assert.ok(closingMessage(log).includes(want), `${p.program}: ${closingMessage(log).join(' | ')}`);
    }
  });
}
