// check_max_stack_depth()'s tail-call rule: a function that tail-calls must sit under less than
// 256 bytes of its callers' frames. Verdict and message checked against the running kernel; not
// case files, because tsbpf's processed count after a tail call in a subprogram differs from the
// kernel's (12 vs 10 insns here), which kernel-diff.test.ts would compare.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeProgram } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { caseBtf } from './case-btf.ts';
import { caseProgram, parseCase, timerMaps } from './cases.ts';
import { buildKbpf } from './kbpf.ts';

const program = (callerStack: number, expect: string): string => `-- type xdp
-- maps prog_array:4:4:4
-- btf
-- expect ${expect}
-- asm
r2 = 0
*(u64 *)(r10 - ${callerStack}) = r2
call sub
r0 = 2
exit
sub:
r2 = map_fd(0) ll
r3 = 0
call 12
r0 = 2
exit
`;

const TOO_LARGE = 'tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large';
const cases = [
  {
    name: '256 bytes above a tail call',
    c: parseCase(program(256, 'reject'), 'deep.case'),
    message: TOO_LARGE,
  },
  // 248 bytes round up to 256 (the x86-64 JIT's 16-byte frames)
  {
    name: '248 bytes above a tail call',
    c: parseCase(program(248, 'reject'), 'deep248.case'),
    message: TOO_LARGE,
  },
  { name: '240 bytes above a tail call', c: parseCase(program(240, 'accept'), 'under.case'), message: '' },
];

for (const { name, c, message } of cases) {
  test(`tsbpf: ${name} is ${c.expect}ed`, () => {
    const r = verify(caseProgram(c), { logLevel: 1 });
    assert.equal(r.verdict, c.expect, r.error?.message);
    if (message) assert.equal(r.error?.message, message);
  });
}

const kbpf = buildKbpf();
test('kernel: the same verdicts and messages', {
  skip: kbpf ? false : 'bpf() unavailable (needs root and gcc)',
}, () => {
  for (const { name, c, message } of cases) {
    const k = kbpf!.load(encodeProgram(c.insns), c.progType, c.maps, 1, caseBtf(c.insns, timerMaps(c)));
    assert.equal(k.accepted ? 'accept' : 'reject', c.expect, `${name}:\n${k.log.join('\n')}`);
    if (message) assert.ok(k.log.includes(message), `${name}:\n${k.log.join('\n')}`);
  }
  kbpf!.close();
});
