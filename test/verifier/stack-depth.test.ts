// check_max_stack_depth()'s call-graph walk (src/verifier/check/stack-depth.ts) where a case file
// cannot show it: a callback that exploration never enters still counts as a frame in the walk.
// Verdict and message against the running kernel (kbpf); the whole log is not compared, since the
// kernel marks the dead branch's register precise before the walk and tsbpf's statistics differ.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleAuto, encodeProgram } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { caseBtf, functionStarts } from './case-btf.ts';
import { buildKbpf } from './kbpf.ts';

// main -> f1 ... f6 (frame 6); f6 loads cb's address behind a branch that is never taken, cb
// (frame 7) calls g: frame 8 in the walk, though exploration stops at frame 6
const chain = [
  'call f1',
  'r0 = 2',
  'exit',
  ...[1, 2, 3, 4, 5].flatMap((i) => [`f${i}:`, `call f${i + 1}`, 'r0 = 0', 'exit']),
  'f6:',
  'r1 = 0',
  'if r1 != 0 goto dead',
  'r0 = 0',
  'exit',
  'dead:',
  'r1 = 1',
  'r2 = func(cb) ll',
  'r3 = 0',
  'r4 = 0',
  'call 181',
  'r0 = 0',
  'exit',
  'cb:',
  'call g',
  'r0 = 0',
  'exit',
  'g:',
  'r0 = 0',
  'exit',
];
// the same without g: frames 0..7 fit
const shorterChain = chain.slice(0, -3).filter((l) => l !== 'call g');

function program(lines: string[]) {
  const insns = assembleAuto(lines.join('\n'), 'stack-depth.test');
  const btf = caseBtf(insns, new Map());
  return { insns, btf, funcInfo: btf.funcInfo };
}

test('a callback behind a dead branch still counts in the walk: frame 8 is too deep', () => {
  const p = program(chain);
  assert.equal(functionStarts(p.insns).length, 9);
  const r = verify({ insns: p.insns, progType: 'xdp', funcInfo: p.funcInfo }, { logLevel: 1 });
  assert.equal(r.verdict, 'reject');
  assert.equal(r.error?.message, 'the call stack of 8 frames is too deep !');
  const shorter = program(shorterChain);
  const ok = verify({ insns: shorter.insns, progType: 'xdp', funcInfo: shorter.funcInfo });
  assert.equal(ok.verdict, 'accept', ok.error?.message);
});

test('private stacks are a 6.13 rule: on 6.12 a kprobe chain of 512 + 512 bytes is too large', () => {
  const insns = assembleAuto(
    [
      'r1 = 0',
      '*(u64 *)(r10 - 512) = r1',
      'call sub',
      'r0 = 0',
      'exit',
      'sub:',
      'r1 = 0',
      '*(u64 *)(r10 - 512) = r1',
      'r0 = 0',
      'exit',
    ].join('\n'),
    'priv',
  );
  assert.equal(verify({ insns, progType: 'kprobe' }).verdict, 'accept');
  assert.equal(
    verify({ insns, progType: 'kprobe' }, { kernel: '6.12' }).error?.message,
    'combined stack size of 2 calls is 1024. Too large',
  );
  assert.equal(verify({ insns, progType: 'kprobe' }, { kernel: '6.13' }).verdict, 'accept');
  // fentry-like tracing programs too, but not iterators (no recursion check for them)
  assert.equal(verify({ insns, progType: 'tracing', attachType: 'trace_fentry' }).verdict, 'accept');
  assert.equal(verify({ insns, progType: 'tracing', attachType: 'trace_iter' }).verdict, 'reject');
});

const kbpf = buildKbpf();

test('the kernel agrees on the dead-branch callback chain', {
  skip: kbpf ? false : 'bpf() unavailable (needs root and gcc)',
}, () => {
  for (const [lines, want] of [
    [chain, 'the call stack of 8 frames is too deep !'],
    [shorterChain, undefined],
  ] as const) {
    const p = program([...lines]);
    const k = kbpf!.load(encodeProgram(p.insns), 'xdp', [], 1, {
      btf: p.btf.btf,
      funcInfoBytes: p.btf.funcInfoBytes,
      mapTypeIds: p.btf.mapTypeIds,
    });
    const t = verify({ insns: p.insns, progType: 'xdp', funcInfo: p.funcInfo });
    assert.equal(k.accepted, want === undefined, k.log.join('\n'));
    assert.equal(t.verdict, k.accepted ? 'accept' : 'reject');
    if (want) assert.ok(k.log.includes(want) && t.error?.message === want, k.log.join('\n'));
  }
  kbpf!.close();
});
