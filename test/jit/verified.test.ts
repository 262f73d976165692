// Checked mode on the JIT drops region checks only for programs the verifier accepted.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { isVerified, sharedJitEngine } from '../../src/jit/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';

const file = 'examples/xdp-parse/xdp_parse.bpf.o';
const spec = loadCollectionSpec(readFileSync(file), { file });

test('a verified program compiles without region checks; the same program unverified keeps them', () => {
  const results: Record<string, { chk: boolean; retval: number }> = {};
  for (const verify of [true, false]) {
    const coll = newCollection(spec, { verify, engine: 'jit' });
    try {
      const prog = coll.program('xdp_parse');
      assert.equal(isVerified(prog.loaded), verify);
      const compiled = sharedJitEngine().compile(prog.loaded, true);
      const retval = prog.run({ data: new Uint8Array(64) }).retval;
      results[String(verify)] = { chk: compiled.imports.has('chk'), retval };
    } finally {
      coll.close();
    }
  }
  assert.equal(results.true!.chk, false);
  assert.equal(results.false!.chk, true);
  assert.equal(results.true!.retval, results.false!.retval);
});
