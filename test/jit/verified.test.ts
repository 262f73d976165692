// Checked mode on the JIT drops the region checks of the accesses the verifier proved (stack,
// packet, map values), and keeps those through the context (the runtime may pass none).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { isVerified, sharedJitEngine } from '../../src/jit/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';

const file = 'examples/xdp-parse/xdp_parse.bpf.o';
const spec = loadCollectionSpec(readFileSync(file), { file });

test('verified: packet accesses compile without region checks, ctx accesses keep them', () => {
  const results: Record<string, { checked: number; ctxLoads: number; retval: number }> = {};
  for (const verify of [true, false]) {
    const coll = newCollection(spec, { verify, engine: 'jit' });
    try {
      const prog = coll.program('xdp_parse');
      assert.equal(isVerified(prog.loaded), verify);
      const compiled = sharedJitEngine().compile(prog.loaded, true);
      // Loads through r1 at entry (ctx->data, ctx->data_end) before r1 is overwritten.
      const ctxLoads = prog.loaded.insns.filter((i) => (i.code & 7) === 1 && i.src === 1).length;
      const retval = prog.run({ data: new Uint8Array(64) }).retval;
      results[String(verify)] = { checked: compiled.checkedAccesses, ctxLoads, retval };
    } finally {
      coll.close();
    }
  }
  const v = results.true!;
  const u = results.false!;
  assert.ok(v.ctxLoads >= 2);
  // Unverified: every access not at a constant r10 offset is checked, packet reads included.
  assert.ok(u.checked > v.ctxLoads + 2, `unverified ${u.checked} checked accesses`);
  assert.ok(v.checked >= 2 && v.checked <= v.ctxLoads, `verified ${v.checked} checked accesses`);
  assert.equal(v.retval, u.retval);
});

test('verified: a program run without a context still faults at its ctx load, as interpreted', () => {
  const out: string[] = [];
  for (const engine of ['interp', 'jit'] as const) {
    const coll = newCollection(spec, { engine });
    try {
      const prog = coll.program('xdp_parse');
      // A raw VM run with r1 = 0: what a context-less run of a non-packet program gets.
      assert.throws(
        () => coll.vm.run(prog.loaded, { args: [0] }),
        (e: unknown) => {
          out.push(e instanceof Error ? e.message : String(e));
          return /NULL pointer dereference/.test(out[out.length - 1]!);
        },
      );
    } finally {
      coll.close();
    }
  }
  assert.equal(out[0], out[1]);
});
