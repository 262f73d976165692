// The harness's own parts: deterministic generation, the classifier's outcomes and the
// checked-mode runner catching a fault, on hand-written programs whose answers are known.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleAuto } from '../../../src/isa/asm/index.ts';
import { classify, messageClass } from './classify.ts';
import { type GenCase, generate } from './gen/index.ts';
import { mulberry32 } from './gen/rng.ts';
import { type KernelVerdict, messageLines } from './kernel.ts';
import { runChecked } from './soundness.ts';

const handCase = (asm: string, type: GenCase['type'] = 'xdp'): GenCase => ({
  id: 'hand',
  family: 'hand',
  tags: [],
  type,
  maps: [],
  insns: assembleAuto(asm),
  asm,
  hash: 'hand',
});

test('generation is deterministic per (seed, index) and varies across indices', () => {
  const a = generate(3, 17);
  const b = generate(3, 17);
  assert.equal(a.hash, b.hash);
  assert.equal(a.asm, b.asm);
  const hashes = new Set(Array.from({ length: 50 }, (_, i) => generate(3, i).hash));
  assert.ok(hashes.size > 40, `only ${hashes.size} distinct programs in 50`);
});

test('classifier: accept/reject pairs map to the five outcomes', () => {
  const ok = handCase('r0 = 2\nexit');
  const bad = handCase('exit'); // R0 !read_ok
  const acc: KernelVerdict = { verdict: 'accept', errno: 0, processed: 2, msg: [] };
  const rej: KernelVerdict = {
    verdict: 'reject',
    errno: 13,
    processed: 1,
    msg: ['0: (95) exit', 'R0 !read_ok'],
  };
  assert.equal(classify(ok, acc).outcome, 'agree-accept');
  assert.equal(classify(ok, rej).outcome, 'unsound');
  assert.equal(classify(bad, acc).outcome, 'overstrict');
  const r = classify(bad, rej);
  assert.equal(r.outcome, 'agree-reject');
  assert.ok(r.sameMessage);
});

test('message lines drop the insn trace and statistics; classes fold numbers and registers', () => {
  const log = ['0: R1=ctx() R10=fp0', '0: (95) exit', 'R0 !read_ok', 'processed 1 insns (limit 1000000)'];
  assert.deepEqual(messageLines(log), ['R0 !read_ok']);
  assert.equal(messageClass('R3 invalid mem access off=12 size=4'), 'R# invalid mem access off=# size=#');
});

test('checked runs: an out-of-frame stack read faults, a safe program does not', () => {
  const r = mulberry32(1);
  const unsafe = runChecked(handCase('r0 = *(u64 *)(r10 + 8)\nexit'), r, 1);
  assert.equal(unsafe.kind, 'fault');
  const safe = runChecked(handCase('*(u64 *)(r10 - 8) = 1\nr0 = *(u64 *)(r10 - 8)\nexit', 'sched_cls'), r, 2);
  assert.equal(safe.kind, 'ok');
});
