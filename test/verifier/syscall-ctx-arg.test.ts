// A syscall program's ctx handed to a global function (test/verifier/objects/syscall_ctx_arg.bpf.c):
// Linux 6.18 checks it as the function's memory argument and records how far into the ctx the
// program reaches (max_ctx_offset); a test run with a shorter ctx_in is EINVAL. The verdicts and
// messages below were read from the kernel's log (kobj --log 1) and the kernel test re-checks
// them, with the test runs, wherever bpf() is available.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/index.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
import { verify } from '../../src/verifier/index.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';

const object = 'test/verifier/objects/syscall_ctx_arg.bpf.o';
const bytes = (): Uint8Array => new Uint8Array(readFileSync(join(repoRoot, object)));
const CALLER = "Caller passes invalid args into func#1 ('sum_args')";

/** Program → undefined (accepted) or the kernel's two closing lines. */
const expected: Record<string, string[] | undefined> = {
  ctx_to_struct: undefined,
  // a void pointee has no size, whatever the caller passes
  ctx_to_void: [
    "arg#0 reference type('UNKNOWN ') size cannot be determined: -22",
    "Caller passes invalid args into func#1 ('is_set')",
  ],
  ctx_plus_4_to_struct: ['dereference of modified ctx ptr R1 off=4 disallowed', CALLER],
  // only syscall programs' ctx is plain memory
  xdp_ctx_to_struct: ['R1 type=ctx expected=fp', CALLER],
};

function tsbpfVerify(name: string) {
  const spec = loadCollectionSpec(bytes(), { file: object });
  const linked = linkProgram(spec, name, { mapIndex: 'used' });
  return verify(linkedVerifyProgram(spec, linked));
}

for (const [name, lines] of Object.entries(expected)) {
  test(`tsbpf: ${name} ${lines ? `is refused: ${lines[0]}` : 'is accepted'}`, () => {
    const r = tsbpfVerify(name);
    if (!lines) {
      assert.equal(r.verdict, 'accept', r.error?.message);
      return;
    }
    assert.equal(r.verdict, 'reject');
    assert.equal(r.error?.message, lines[0]);
    assert.ok(r.log.includes(lines[1]!), r.log.join('\n'));
  });
}

test('the accepted program reaches 8 ctx bytes (sizeof(struct args))', () => {
  assert.equal(tsbpfVerify('ctx_to_struct').maxCtxOffset, 8);
});

const args = (a: number, b?: number): Uint8Array => {
  const v = new DataView(new ArrayBuffer(b === undefined ? 4 : 8));
  v.setInt32(0, a, true);
  if (b !== undefined) v.setInt32(4, b, true);
  return new Uint8Array(v.buffer);
};

for (const engine of ['interp', 'jit'] as const) {
  test(`${engine}: the global function reads the ctx; a shorter ctx is EINVAL before the run`, () => {
    const coll = newCollection(loadCollectionSpec(bytes(), { file: object }), {
      engine,
      programs: ['ctx_to_struct'],
    });
    try {
      const p = coll.program('ctx_to_struct');
      assert.equal(p.run({ ctx: args(3, 4) }).retval, 7);
      assert.equal(p.run({ ctx: args(-10, 4) }).retval | 0, -6);
      assert.throws(() => p.run({ ctx: args(3) }), /EINVAL/);
      assert.throws(() => p.run({}), /EINVAL/);
    } finally {
      coll.close();
    }
  });
}

const skip = prepareKobj();
test('kernel: the same verdicts, messages and test runs', { skip }, () => {
  for (const [name, lines] of Object.entries(expected)) {
    const r = runKobj(['--prog', name, '--log', '1', object]);
    assert.equal(r.programs[0]?.verdict, lines ? 'reject' : 'accept', name);
    if (lines) assert.deepEqual(closingMessage(logOf(r.stdout)).slice(0, 2), lines, name);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-ctxarg-'));
  const run = (ctx?: Uint8Array) => {
    const extra: string[] = [];
    if (ctx) {
      writeFileSync(join(dir, 'ctx'), ctx);
      extra.push('--ctx', join(dir, 'ctx'));
    }
    return runKobj(['--run', 'ctx_to_struct', ...extra, object]);
  };
  assert.equal(run(args(3, 4)).retval, 7);
  assert.match(run(args(3)).runError ?? '', /Invalid argument/);
  assert.match(run().runError ?? '', /Invalid argument/);
});
