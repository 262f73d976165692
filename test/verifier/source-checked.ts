// Expectations read from the kernel's source for program types this machine's kernel refuses to
// load (fentry/fexit/fmod_ret/lsm: EPERM before the verifier): checked against the kernel
// wherever it does verify them, and counted where it refuses.
import assert from 'node:assert/strict';
import { runKobj } from '../examples/kobj.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';

/** Program → 'accept' or the kernel's closing message. Returns how many the kernel refused to verify. */
export function checkSourceExpectations(object: string, expected: Readonly<Record<string, string>>): number {
  let refused = 0;
  for (const [name, want] of Object.entries(expected)) {
    const r = runKobj(['--prog', name, '--log', '1', object]);
    const p = r.programs[0]!;
    const log = logOf(r.stdout);
    // EPERM with an empty log: refused before verification (this machine's policy)
    if (p.errno.startsWith('1 ') && log.trim() === '') {
      refused++;
      continue;
    }
    if (want === 'accept') assert.equal(p.verdict, 'accept', name);
    else assert.equal(closingMessage(log)[0], want, name);
  }
  return refused;
}
