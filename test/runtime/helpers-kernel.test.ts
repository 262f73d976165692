// Differential: the deterministic helpers (strtol/strtoul, snprintf, bpf_loop,
// for_each_map_elem, probe_read_kernel(_str), pid/comm, csum_diff, skb_store_bytes,
// l3/l4_csum_replace, spin locks, redirect) run by the kernel through kobj and by tsbpf on the
// same fixture (test/runtime/fixtures/helpers.bpf.c) must leave identical bytes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { type Engine, newCollection } from '../../src/runtime/collection.ts';
import { hexToBytes, prepareKobj, runKobj } from '../examples/kobj.ts';
import { checksum, udp4Packet } from '../examples/packets.ts';

const skip = prepareKobj();
const file = 'test/runtime/fixtures/helpers.bpf.o';
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-rt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function tsbpf(pid: number, engine: Engine) {
  // The fixture is accepted by the kernel; tsbpf's verifier is not the subject here.
  return newCollection(loadCollectionSpec(readFileSync(file), { file }), {
    verify: false,
    engine,
    host: { pid, tgid: pid, comm: 'kobj' },
  });
}

const engines = ['interp', 'jit'] as const;

test('kernel vs tsbpf: helpers_rawtp leaves the same .bss', { skip }, () => {
  const k = runKobj(['--run', 'helpers_rawtp', '--repeat', '0', '--dump-maps', file]);
  assert.equal(k.runError, undefined, k.stdout);
  const want = k.mapValues.get('helpers.bss')?.get('00000000')?.[0];
  assert.ok(want, k.stdout);
  for (const engine of engines) {
    const c = tsbpf(k.pid, engine);
    const r = c.program('helpers_rawtp').run();
    assert.equal(r.retval, k.retval);
    const got = c.map('helpers.bss').lookup(new Uint8Array(4));
    assert.ok(got instanceof Uint8Array);
    assert.equal(Buffer.from(got).toString('hex'), want, engine);
    c.close();
  }
});

test('kernel vs tsbpf: helpers_tc rewrites the packet and checksums identically', { skip }, () => {
  const pkt = udp4Packet(53, new TextEncoder().encode('hello, checksums'));
  const f = join(tmp, 'pkt.bin');
  writeFileSync(f, pkt);
  const k = runKobj(['--run', 'helpers_tc', '--data', f, '--dump-maps', file]);
  assert.equal(k.runError, undefined, k.stdout);
  for (const engine of engines) {
    const c = tsbpf(k.pid, engine);
    const r = c.program('helpers_tc').run({ data: pkt });
    assert.equal(r.retval, k.retval);
    assert.equal(r.retval, 7, 'TC_ACT_REDIRECT');
    assert.deepEqual(r.redirect, { kind: 'ifindex', target: 1, flags: 0n });
    assert.equal(Buffer.from(r.dataOut).toString('hex'), k.dataOut);
    // Independently of the kernel: the rewritten IPv4 header still checks out.
    assert.equal(checksum(r.dataOut.subarray(14, 34)), 0);
    const bss = c.map('helpers.bss').lookup(new Uint8Array(4));
    assert.ok(bss instanceof Uint8Array);
    assert.equal(Buffer.from(bss).toString('hex'), k.mapValues.get('helpers.bss')?.get('00000000')?.[0]);
    assert.ok(hexToBytes(k.dataOut ?? '').length === pkt.length);
    c.close();
  }
});

test('kernel vs tsbpf: open-coded bpf_iter_num kfuncs (fixture iter.bpf.c)', () => {
  const iterFile = 'test/runtime/fixtures/iter.bpf.o';
  const c = newCollection(loadCollectionSpec(readFileSync(iterFile), { file: iterFile }), { verify: false });
  assert.equal(c.program('iter_sum').run().retval, 0);
  const bss = c.map('iter.bss').lookup(new Uint8Array(4));
  assert.ok(bss instanceof Uint8Array);
  const dv = new DataView(bss.buffer, bss.byteOffset);
  // sum of 3..19, 17 iterations, an empty range, start > end is -EINVAL and iterates nothing
  assert.deepEqual(
    [0, 8, 16, 24, 32].map((o) => dv.getBigInt64(o, true)),
    [187n, 17n, 0n, -22n, 0n],
  );
  c.close();
  if (skip) return;
  const k = runKobj(['--run', 'iter_sum', '--dump-maps', iterFile]);
  assert.equal(k.runError, undefined, k.stdout);
  assert.equal(Buffer.from(bss).toString('hex'), k.mapValues.get('iter.bss')?.get('00000000')?.[0]);
});

test('bpf_timer return values in every state agree with the kernel (fixture timers.bpf.c)', () => {
  const tf = 'test/runtime/fixtures/timers.bpf.o';
  // Derived from the helpers' contracts: start before init -EINVAL, init 0, init again -EBUSY,
  // start without a callback -EINVAL, set_callback 0, unknown flag -EINVAL, clock 3 -EINVAL,
  // absolute start 0, cancel of an armed timer 1, start after cancel -EINVAL (cancel drops the
  // callback), set_callback 0, start 0; the callback fires once and cancelling itself is -EDEADLK.
  const want = [-22n, 0n, -16n, -22n, 0n, -22n, -22n, 0n, 1n, -22n, 0n, 0n];
  const k = skip ? undefined : runKobj(['--run', 'arm', '--wait', '100', '--dump-maps', tf]);
  for (const engine of engines) {
    const c = newCollection(loadCollectionSpec(readFileSync(tf), { file: tf }), { verify: false, engine });
    assert.equal(c.program('arm').run().retval, 0);
    assert.equal(c.loop.runUntilIdle(10), 1);
    const bss = c.map('timers.bss').lookup(new Uint8Array(4));
    assert.ok(bss instanceof Uint8Array);
    const dv = new DataView(bss.buffer, bss.byteOffset);
    assert.deepEqual(
      want.map((_, i) => dv.getBigInt64(8 * i, true)),
      want,
    );
    const e = c.map('timers').lookup(new Uint8Array(4));
    assert.ok(e instanceof Uint8Array);
    const ev = new DataView(e.buffer, e.byteOffset);
    assert.deepEqual([ev.getBigUint64(16, true), ev.getBigInt64(24, true)], [1n, -35n]);
    // the timer is live (armed once, fired), yet user space reads its 16 bytes as zero
    assert.deepEqual([...e.subarray(0, 16)], new Array(16).fill(0));
    if (k) {
      assert.equal(k.runError, undefined, k.stdout);
      assert.equal(Buffer.from(bss).toString('hex'), k.mapValues.get('timers.bss')?.get('00000000')?.[0]);
      // the whole value: the kernel shows the struct bpf_timer as zeros (check_and_init_map_value())
      assert.equal(Buffer.from(e).toString('hex'), k.mapValues.get('timers')?.get('00000000')?.[0]);
    }
    c.close();
  }
});

test('kernel vs tsbpf: cgroup_skb sees the packet from its network header', { skip }, () => {
  const ev = 'test/runtime/fixtures/events.bpf.o';
  const c = newCollection(loadCollectionSpec(readFileSync(ev), { file: ev }), { verify: false });
  for (const n of [0, 1, 2, 7]) {
    const pkt = udp4Packet(7, new Uint8Array(n));
    const f = join(tmp, `cg${n}.bin`);
    writeFileSync(f, pkt);
    const k = runKobj(['--run', 'even_only', '--data', f, ev]);
    assert.equal(k.runError, undefined, k.stdout);
    // IPv4 total length 28 + n: even n is allowed (1).
    assert.equal(k.retval, n % 2 === 0 ? 1 : 0);
    assert.equal(c.program('even_only').run({ data: pkt }).retval, k.retval);
  }
  c.close();
});
