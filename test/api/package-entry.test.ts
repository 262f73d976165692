// The package entry (package.json "exports" → src/index.ts), used by name as a library user
// would: load a clang-built object, verify, run, read a map, and catch a typed error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tsbpf from 'tsbpf';
import { repoRoot } from '../examples/kobj.ts';

const XDP_DROP = 1;
const XDP_PASS = 2;
const SLOT_OTHER_L2 = 0;
const SLOT_MALFORMED = 7;

const u64At = (bytes: Uint8Array | undefined): bigint => {
  assert.ok(bytes, 'map entry present');
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
};
const key = (slot: number): Uint8Array => new Uint8Array(new Uint32Array([slot]).buffer);

test('spec → collection → run through the package entry', () => {
  const file = join(repoRoot, 'examples/xdp-parse/xdp_parse.bpf.o');
  const spec = tsbpf.loadCollectionSpec(readFileSync(file), { file });
  const coll = tsbpf.newCollection(spec);
  try {
    const prog = coll.program('xdp_parse');
    // A bare Ethernet header announcing a VLAN tag that is not there: dropped as malformed.
    const cut = new Uint8Array(14);
    cut[12] = 0x81;
    assert.equal(prog.run({ data: cut }).retval, XDP_DROP);
    // An ARP frame (ethertype 0x0806) is neither IPv4 nor IPv6: passed, counted as other L2.
    const arp = new Uint8Array(60);
    arp[12] = 0x08;
    arp[13] = 0x06;
    assert.equal(prog.run({ data: arp }).retval, XDP_PASS);
    const counts = coll.map('proto_count');
    assert.equal(u64At(counts.lookup(key(SLOT_MALFORMED))), 1n);
    assert.equal(u64At(counts.lookup(key(SLOT_OTHER_L2))), 1n);
  } finally {
    coll.close();
  }
});

test('verify and the ISA helpers are reachable from the entry', () => {
  const insns = tsbpf.decodeProgram(
    new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), // r0 = 2; exit
  );
  const res = tsbpf.verify({ insns, progType: 'xdp' });
  assert.equal(res.verdict, 'accept');
  assert.match(tsbpf.disassemble(insns), /r0 = 2/);
  assert.equal(typeof tsbpf.verifier.verify, 'function');
  assert.equal(typeof tsbpf.maps.HashMap, 'function');
});

test('bad input is a typed InputError with a location', () => {
  const bad = new Uint8Array(64).fill(0x41);
  assert.throws(
    () => tsbpf.loadCollectionSpec(bad, { file: 'junk.o' }),
    (e: unknown) =>
      e instanceof tsbpf.InputError && tsbpf.exitCodeFor(e) === 2 && e.format().startsWith('junk.o: '),
  );
});
