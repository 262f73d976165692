// bpf_dynptr_clone/_copy/_memset and skb dynptr writes at run time: the programs of
// test/verifier/objects/dynptr_kfuncs.bpf.o run by tsbpf's interpreter and JIT, with results
// worked out from the C source, and by the kernel's BPF_PROG_TEST_RUN (kobj --run), whose
// retval, data_out and ring-buffer records must be the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import type { RingbufMap } from '../../src/maps/ringbuf.ts';
import { type Engine, newCollection } from '../../src/runtime/index.ts';
import { prepareKobj, runKobj } from '../examples/kobj.ts';
import { TempDir } from '../oracles.ts';

const object = 'test/verifier/objects/dynptr_kfuncs.bpf.o';
const spec = loadCollectionSpec(readFileSync(object), { file: object });

/** A 60-byte Ethernet frame of byte i = 7i, IPv4 TCP (TTL 64). */
const TCP = (() => {
  const p = new Uint8Array(60).map((_, i) => (i * 7) & 0xff);
  p.set([0x08, 0x00, 0x45], 12);
  p[22] = 64;
  p[23] = 6;
  return p;
})();

const patched = (at: number, bytes: ArrayLike<number>, p: Uint8Array = TCP): Uint8Array => {
  const c = p.slice();
  c.set(bytes, at);
  return c;
};

interface Case {
  prog: string;
  retval: number;
  dataOut?: Uint8Array;
  /** The ring buffer's records, hex. */
  records?: string[];
}

const CASES: readonly Case[] = [
  { prog: 'accept_error_returns', retval: 111111 },
  // sizes 16 and 8; the byte written at clone offset 1 is at offset 5 of the original
  { prog: 'accept_clone_local', retval: 16 * 100 + 8 * 10 + 7 },
  // the protocol byte (6) of the copied IPv4 header, +1000 for the -E2BIG copy
  { prog: 'accept_copy_pkt_to_local', retval: 1006 },
  // broadcast destination MAC; the source MAC (bytes 6..11) copied to bytes 20..25
  {
    prog: 'accept_memset_copy_tc',
    retval: 0,
    dataOut: patched(20, TCP.subarray(6, 12), patched(0, [255, 255, 255, 255, 255, 255])),
  },
  { prog: 'accept_dynptr_write_tc', retval: 0, dataOut: patched(30, [1, 2, 3, 4]) },
  // read-only: is_rdonly 1, write and memset -EINVAL; the socket filter's byte 12 is the
  // frame's byte 26 (its data starts past the Ethernet header): 182
  { prog: 'accept_socket_rdonly', retval: 1 + 10 + 100 + 1000 * 182 },
  // XDP_PASS, one 8-byte record filled through the clone
  { prog: 'accept_clone_ringbuf_submit', retval: 2, records: ['5a'.repeat(8)] },
  // byte 0 set to 0, the slice still reads byte 1
  { prog: 'accept_slice_after_skb_memset', retval: 7, dataOut: patched(0, [0]) },
];

const ENGINES: readonly Engine[] = ['interp', 'jit'];

function run(engine: Engine, c: Case) {
  const coll = newCollection(spec, { engine, programs: [c.prog] });
  try {
    const r = coll.program(c.prog).run({ data: TCP });
    const records = (coll.map('rb') as RingbufMap).consume().map((b) => Buffer.from(b).toString('hex'));
    return { retval: r.retval, dataOut: r.dataOut, records };
  } finally {
    coll.close();
  }
}

for (const engine of ENGINES)
  for (const c of CASES)
    test(`${engine}: ${c.prog} returns ${c.retval}`, () => {
      const r = run(engine, c);
      assert.equal(r.retval, c.retval);
      if (c.dataOut) assert.deepEqual(r.dataOut, c.dataOut);
      assert.deepEqual(r.records, c.records ?? []);
    });

const skip = prepareKobj();
test('kernel: BPF_PROG_TEST_RUN gives the same retval, data_out and records', { skip }, () => {
  const tmp = new TempDir('tsbpf-dynptr-kfuncs-');
  after(() => tmp.close());
  const data = tmp.file('tcp.bin', TCP);
  for (const c of CASES) {
    const k = runKobj(['--run', c.prog, '--data', data, '--dump-maps', object]);
    const ours = run('interp', c);
    assert.equal(k.runError, undefined, c.prog);
    assert.equal(k.retval, ours.retval, c.prog);
    assert.equal(k.dataOut, Buffer.from(ours.dataOut).toString('hex'), c.prog);
    assert.deepEqual(k.ringbufs.get('rb') ?? [], ours.records, c.prog);
  }
});
