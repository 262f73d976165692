// Special fields of map values seen from user space (kernel: check_and_init_map_value() on the
// copy bpf() returns, copy_map_value() + bpf_obj_free_fields() on updates): a live struct
// bpf_timer reads as zeros through lookups, dumps and formatted dumps, and an update from user
// space frees the element's timer. test/runtime/helpers-kernel.test.ts compares a whole timer
// value with the kernel's bytes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dumpMap } from '../../src/cli/map-spec.ts';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { formatMapDump } from '../../src/maps/index.ts';
import { newCollection } from '../../src/runtime/index.ts';

const file = 'examples/timer/timer.bpf.o';
const key0 = new Uint8Array(4);
const u64At = (v: Uint8Array, off: number): bigint =>
  new DataView(v.buffer, v.byteOffset).getBigUint64(off, true);

// struct ticker { struct bpf_timer timer; __u64 ticks, first_ns, last_ns; }
function armedTicker() {
  const c = newCollection(loadCollectionSpec(readFileSync(file), { file }), {
    verify: false,
    rodata: { max_ticks: 1000, period_ns: 1000 },
  });
  assert.equal(c.program('timer_arm').run().retval, 0);
  c.loop.runSteps(3);
  return c;
}

test("a live timer reads as 16 zero bytes; the fields after it are the program's", () => {
  const c = armedTicker();
  try {
    const v = c.map('tickers').lookup(key0);
    assert.ok(v instanceof Uint8Array);
    assert.deepEqual([...v.subarray(0, 16)], new Array(16).fill(0));
    assert.equal(u64At(v, 16), 3n, 'three ticks ran');
    assert.ok(c.loop.pending > 0, 'the timer is still armed');
    // the same through the kbpf-style dump and the BTF-formatted dump
    assert.match(dumpMap(c.map('tickers'))[0]!.value, /^0{32}03/);
    const timer = (formatMapDump(c.map('tickers'))[0] as { value: { timer: unknown } }).value.timer;
    assert.doesNotMatch(JSON.stringify(timer), /[1-9]/);
  } finally {
    c.close();
  }
});

test("an update from user space frees the element's timer, whatever bytes it brings", () => {
  const c = armedTicker();
  try {
    const v = c.map('tickers').lookup(key0)!;
    const ticks = u64At(v, 16);
    // write back the value with garbage where the timer is: the kernel ignores those bytes
    v.fill(0xab, 0, 16);
    c.map('tickers').update(key0, v);
    c.loop.runSteps(10);
    const after = c.map('tickers').lookup(key0)!;
    assert.equal(u64At(after, 16), ticks, 'no tick after the update');
    assert.deepEqual([...after.subarray(0, 16)], new Array(16).fill(0));
  } finally {
    c.close();
  }
});
