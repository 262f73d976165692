// Every verifier case through the running kernel (kbpf): the kernel's verdict must be the case's
// expectation, so cases cannot drift from Linux; tsbpf must agree, with the same error line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeProgram } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { caseBtf } from './case-btf.ts';
import { caseProgram, loadCases, timerMaps } from './cases.ts';
import { buildKbpf } from './kbpf.ts';

const kbpf = buildKbpf();

/** `4: (18) r1 = 0xffff888137307a00       ; R1=...` -> `4: (18) r1 = <map>; R1=...` */
/** peak_states counts the kernel's free list and back-edge bookkeeping, which tsbpf only approximates. */
const hidePeak = (line: string): string => line.replace(/ peak_states \d+ /, ' peak_states - ');

const hideMapAddress = (line: string): string =>
  line.replace(/^(\d+: \(18\) r\d+ = )0x[0-9a-f]+\s*;/, '$1<map>;');
const cases = loadCases();

test('verifier cases against the kernel', {
  skip: kbpf ? false : 'bpf() unavailable (needs root and gcc)',
}, async (t) => {
  for (const c of cases) {
    await t.test(c.name, () => {
      const btf = c.btf ? caseBtf(c.insns, timerMaps(c)) : undefined;
      const k = kbpf!.load(encodeProgram(c.insns), c.progType, c.maps, 1, btf);
      assert.equal(
        k.accepted ? 'accept' : 'reject',
        c.expect,
        `kernel disagrees with ${c.name}:\n${k.log.join('\n')}`,
      );
      const r = verify(caseProgram(c), { logLevel: 1 });
      assert.equal(r.verdict, c.expect, `tsbpf: ${r.error?.message ?? 'accepted'}`);
      // the whole level-1 log is the kernel's, but for map addresses (lddw prints the kernel pointer)
      assert.deepEqual(
        r.log
          .filter((l) => !l.startsWith('tsbpf: '))
          .map(hideMapAddress)
          .map(hidePeak),
        k.log
          .flatMap((l) => l.replace(/(.)(processed \d+ insns)/, '$1\n$2').split('\n'))
          .map(hideMapAddress)
          .map(hidePeak),
      );
      if (!k.accepted) {
        // tsbpf's first error line is one of the kernel's lines
        assert.ok(
          // a few kernel messages lack their newline and run into the next line
          k.log.some((l) => l.startsWith(r.error!.message)),
          `kernel log lacks "${r.error!.message}":\n${k.log.join('\n')}`,
        );
      }
    });
  }
  kbpf!.close();
});
