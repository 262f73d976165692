// The verifier's helper prototypes (src/verifier/protos.ts) and the runtime's helper table
// (src/vm, src/runtime/helpers) describe the same kernel bpf_func_protos: wherever both know a
// helper, return type and argument types with their flags must be the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';
import type { ArgSpec } from '../../src/vm/helpers.ts';
import { HELPER_PROTOS, isReleaseHelper } from '../../src/verifier/protos.ts';

const arg = (a: ArgSpec): string => [a.type, ...[...(a.flags ?? [])].sort()].join('|');

test('runtime and verifier agree on every helper prototype both define', () => {
  const obj = new URL('../../examples/maps/maps.bpf.o', import.meta.url).pathname;
  const coll = newCollection(loadCollectionSpec(readFileSync(obj), { file: obj }), { verify: false });
  const table = coll.vm.helpers;
  let shared = 0;
  for (const id of table.ids()) {
    const v = HELPER_PROTOS.get(id);
    if (!v) continue;
    const rt = table.get(id)!.proto;
    shared++;
    assert.equal(rt.ret, v.ret, `helper ${id} return type`);
    assert.deepEqual(rt.args.map(arg), v.args.map(arg), `helper ${id} (${table.get(id)!.name}) arguments`);
  }
  assert.ok(shared >= 40, `only ${shared} helpers in both tables`);
});

test('release helpers come from the OBJ_RELEASE flag', () => {
  assert.equal(isReleaseHelper(132), true); // bpf_ringbuf_submit
  assert.equal(isReleaseHelper(133), true); // bpf_ringbuf_discard
  assert.equal(isReleaseHelper(131), false); // bpf_ringbuf_reserve acquires
  assert.equal(isReleaseHelper(1), false);
});
