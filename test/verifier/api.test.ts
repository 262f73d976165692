// verify()'s result beyond the verdict: where it failed, the principle and hint, the C source
// line from BTF line info, log levels, and determinism.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleAuto } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { loadExampleProgram } from './objects.ts';

const root = new URL('../../', import.meta.url).pathname;

const PKT_PAST_RANGE = `
r0 = 0
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto +1
r0 = *(u8 *)(r2 + 14)
exit`;

test('a packet access past the checked range names the insn, the principle and the bound to add', () => {
  const r = verify({ insns: assembleAuto(PKT_PAST_RANGE), progType: 'xdp' });
  assert.equal(r.verdict, 'reject');
  assert.equal(r.error?.insnIdx, 6);
  assert.equal(r.error?.principle, 'reads only where permitted');
  // the access reads byte 14, so 15 bytes must be known to be there
  assert.match(r.error!.hint, /data \+ 15 > data_end/);
  assert.ok(r.log.some((l) => l.startsWith('tsbpf: reads only where permitted')));
});

test('an unreachable instruction is reported at that instruction', () => {
  const insns = [
    { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
    { code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  const r = verify({ insns, progType: 'socket_filter' });
  assert.equal(r.error?.message, 'unreachable insn 2');
  assert.equal(r.error?.insnIdx, 2);
  assert.equal(r.error?.principle, 'control flow well formed');
});

test('a ring buffer record never submitted breaks "references released"', () => {
  const insns = assembleAuto('r1 = map_fd(0) ll\nr2 = 8\nr3 = 0\ncall 131\nr0 = 2\nexit');
  const maps = [{ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 }];
  const r = verify({ insns, progType: 'xdp', maps });
  assert.equal(r.error?.principle, 'references released');
  // lddw takes slots 0-1: the exit is slot 6
  assert.equal(r.error?.insnIdx, 6);
});

test('log levels: 0 logs nothing, 1 keeps only the statistics of an accepted program', () => {
  const insns = assembleAuto('r0 = 2\nexit');
  assert.deepEqual(verify({ insns, progType: 'xdp' }, { logLevel: 0 }).log, []);
  const r1 = verify({ insns, progType: 'xdp' }, { logLevel: 1 });
  assert.equal(r1.log.length, 1);
  const r2 = verify({ insns, progType: 'xdp' }, { logLevel: 2 });
  assert.ok(r2.log.includes('0: (b7) r0 = 2                        ; R0=2'));
});

test('a rejection in an object carries its C source line from BTF line info', () => {
  const ex = loadExampleProgram(`${root}examples/xdp-parse/xdp_parse.bpf.o`, 'xdp_parse');
  // read one byte further than the bounds check allows: find the first packet byte load and push it out
  const insns = ex.input.insns.map((i) => ({ ...i }));
  const r0 = verify(ex.input);
  assert.equal(r0.verdict, 'accept');
  let rejected = null;
  for (let k = 0; k < insns.length && !rejected; k++) {
    const i = insns[k]!;
    if ((i.code & 0x07) !== 0x01) continue;
    const saved = i.off;
    i.off += 64;
    const r = verify({ ...ex.input, insns });
    if (r.verdict === 'reject' && r.error?.message.startsWith('invalid access to packet')) rejected = r;
    i.off = saved;
  }
  assert.ok(rejected, 'some pushed-out load is rejected');
  assert.match(rejected.error!.line!.file, /xdp_parse\.bpf\.c$/);
  assert.ok(rejected.error!.line!.line > 0 && rejected.error!.line!.text.length > 0);
  assert.ok(rejected.log.some((l) => /^; .* @ xdp_parse\.bpf\.c:\d+$/.test(l)));
});

test('verification is deterministic', () => {
  const ex = loadExampleProgram(`${root}examples/tc-classifier/tc_classifier.bpf.o`, 'tc_classify');
  const a = verify(ex.input, { logLevel: 2 });
  const b = verify(ex.input, { logLevel: 2 });
  assert.deepEqual(a.log, b.log);
  assert.deepEqual(a.stats, b.stats);
});
