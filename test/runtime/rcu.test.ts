// bpf_rcu_read_lock()/bpf_rcu_read_unlock() at run time: no-ops with a depth (rcu.ts). Programs
// from test/verifier/objects/sleep_rules.bpf.o that the verifier accepts load, run on both
// engines, and leave every section closed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { KFUNC_IDS } from '../../src/runtime/helpers/kfuncs.ts';
import { rcuKfuncs } from '../../src/runtime/helpers/rcu.ts';
import { type Engine, newCollection } from '../../src/runtime/index.ts';
import { HelperTable } from '../../src/vm/helpers.ts';

const object = 'test/verifier/objects/sleep_rules.bpf.o';
const spec = loadCollectionSpec(readFileSync(object), { file: object });

function args(len: number): Uint8Array {
  const c = new Uint8Array(16);
  new DataView(c.buffer).setUint32(8, len, true);
  return c;
}

for (const engine of ['interp', 'jit'] as Engine[]) {
  test(`${engine}: programs with RCU sections run as if the calls were not there`, () => {
    const coll = newCollection(spec, {
      engine,
      programs: ['accept_rcu', 'accept_rcu_across_static_subprog', 'accept_global_call_in_rcu'],
    });
    try {
      const a = coll.program('accept_rcu').run({ ctx: args(0) });
      assert.equal(a.retval, 0);
      // a->out = 1 inside the section
      assert.equal(new DataView(a.ctxOut!.buffer, a.ctxOut!.byteOffset).getUint32(12, true), 1);
      // the static function returns a->len with the section still open; main closes it
      assert.equal(coll.program('accept_rcu_across_static_subprog').run({ ctx: args(41) }).retval, 41);
      // global_balanced(x) = x + 1
      assert.equal(coll.program('accept_global_call_in_rcu').run({ ctx: args(9) }).retval, 10);
    } finally {
      coll.close();
    }
  });
}

test('the RCU kfuncs keep the depth of open sections and never go below zero', () => {
  const t = new HelperTable();
  const state = { depth: 0 };
  for (const k of rcuKfuncs(
    { lock: KFUNC_IDS.bpf_rcu_read_lock!, unlock: KFUNC_IDS.bpf_rcu_read_unlock! },
    state,
  ))
    t.register(k);
  const call = (id: number) => t.get(id)!.impl(undefined as never, 0, 0, 0, 0, 0);
  call(KFUNC_IDS.bpf_rcu_read_lock!);
  call(KFUNC_IDS.bpf_rcu_read_lock!);
  assert.equal(state.depth, 2);
  call(KFUNC_IDS.bpf_rcu_read_unlock!);
  call(KFUNC_IDS.bpf_rcu_read_unlock!);
  call(KFUNC_IDS.bpf_rcu_read_unlock!);
  assert.equal(state.depth, 0);
});
