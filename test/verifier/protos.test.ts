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
  assert.ok(shared >= 56, `only ${shared} helpers in both tables`);
});

/**
 * Runtime helpers the verifier has no prototype for, each with the reason. Every other helper
 * the runtime registers must be known to the verifier, so a program the runtime can run is never
 * refused as calling an unknown helper (and the gap cannot grow back unnoticed).
 */
const NOT_IN_VERIFIER = new Map<number, string>([
  [0xbad2310, "bpf_core_poison: libbpf's marker for a failed CO-RE relocation, not a kernel helper"],
]);

test('every helper the runtime implements has a verifier prototype', () => {
  const obj = new URL('../../examples/maps/maps.bpf.o', import.meta.url).pathname;
  const coll = newCollection(loadCollectionSpec(readFileSync(obj), { file: obj }), { verify: false });
  const table = coll.vm.helpers;
  const missing = table
    .ids()
    .filter((id) => !HELPER_PROTOS.has(id) && !NOT_IN_VERIFIER.has(id))
    .map((id) => `${table.get(id)!.name}#${id}`);
  assert.deepEqual(missing, []);
  // an exception whose helper gained a prototype must leave the list
  for (const id of NOT_IN_VERIFIER.keys()) assert.equal(HELPER_PROTOS.has(id), false, `helper ${id}`);
  for (const id of NOT_IN_VERIFIER.keys()) assert.ok(table.get(id), `helper ${id} not in the runtime`);
});

test('release helpers come from the OBJ_RELEASE flag', () => {
  assert.equal(isReleaseHelper(132), true); // bpf_ringbuf_submit
  assert.equal(isReleaseHelper(133), true); // bpf_ringbuf_discard
  assert.equal(isReleaseHelper(131), false); // bpf_ringbuf_reserve acquires
  assert.equal(isReleaseHelper(1), false);
});
