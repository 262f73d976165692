// skb and xdp dynptrs at run time: the parsers of test/verifier/objects/pkt_dynptr.bpf.o run on
// a few packets by tsbpf's interpreter and JIT, with results worked out from the C source, and
// by the kernel's BPF_PROG_TEST_RUN (kobj --run), whose retval and data_out must be the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { type Engine, newCollection } from '../../src/runtime/index.ts';
import { prepareKobj, runKobj } from '../examples/kobj.ts';
import { TempDir } from '../oracles.ts';

const object = 'test/verifier/objects/pkt_dynptr.bpf.o';
const spec = loadCollectionSpec(readFileSync(object), { file: object });

/** A 60-byte Ethernet frame; IPv4 with the given protocol (TTL 64 at byte 22) unless `arp`. */
function frame(proto: number, arp = false): Uint8Array {
  const p = new Uint8Array(60).map((_, i) => (i * 7) & 0xff);
  p[12] = 0x08;
  p[13] = arp ? 0x06 : 0x00;
  p[14] = 0x45;
  p[22] = 64;
  p[23] = proto;
  return p;
}

const TCP = frame(6);
const UDP = frame(17);
const ARP = frame(0, true);
/** An Ethernet header and 6 bytes of an IPv4 header (XDP only: an skb test run refuses it). */
const SHORT = TCP.slice(0, 20);
const PACKETS = { TCP, UDP, ARP, SHORT } as const;
type PacketName = keyof typeof PACKETS;

const withTtl = (p: Uint8Array, ttl: number): Uint8Array => {
  const c = p.slice();
  c[22] = ttl;
  return c;
};

interface Case {
  prog: string;
  packet: PacketName;
  retval: number;
  dataOut?: Uint8Array;
}

// XDP_ABORTED 0, XDP_DROP 1, XDP_PASS 2; TC_ACT_OK 0, TC_ACT_SHOT 2
const CASES: readonly Case[] = [
  { prog: 'accept_xdp_parse', packet: 'TCP', retval: 2 },
  { prog: 'accept_xdp_parse', packet: 'UDP', retval: 1 },
  { prog: 'accept_xdp_parse', packet: 'ARP', retval: 2 },
  // the IPv4 slice runs past the packet: NULL
  { prog: 'accept_xdp_parse', packet: 'SHORT', retval: 0 },
  // TCP: the TTL is decremented in place through the writable slice
  { prog: 'accept_tc_parse', packet: 'TCP', retval: 0, dataOut: withTtl(TCP, 63) },
  { prog: 'accept_tc_parse', packet: 'UDP', retval: 2, dataOut: UDP },
  { prog: 'accept_tc_parse', packet: 'ARP', retval: 0, dataOut: ARP },
  // 60 - 14 (adjusted away) - 20 (the header)
  { prog: 'accept_xdp_adjust', packet: 'TCP', retval: 26 },
  // byte 26 is 26 * 7 & 0xff = 182; bytes [58, 62) run past the 60-byte packet: -E2BIG
  { prog: 'accept_xdp_dynptr_read', packet: 'TCP', retval: 1182 },
  // a 6-byte dynptr holds no 20-byte header
  { prog: 'accept_xdp_adjust', packet: 'SHORT', retval: 1001 },
];

const ENGINES: readonly Engine[] = ['interp', 'jit'];
const coll = Object.fromEntries(
  ENGINES.map((engine) => [
    engine,
    newCollection(spec, {
      engine,
      programs: [
        'accept_xdp_parse',
        'accept_tc_parse',
        'accept_xdp_adjust',
        'accept_xdp_dynptr_read',
        'accept_socket_filter_slice',
      ],
    }),
  ]),
);
after(() => {
  for (const c of Object.values(coll)) c.close();
});

for (const engine of ENGINES)
  for (const c of CASES)
    test(`${engine}: ${c.prog} on ${c.packet} returns ${c.retval}`, () => {
      const r = coll[engine]!.program(c.prog).run({ data: PACKETS[c.packet] });
      assert.equal(r.retval, c.retval);
      if (c.dataOut) assert.deepEqual(r.dataOut, c.dataOut);
    });

test('interp and JIT agree on the socket filter slice', () => {
  const [a, b] = ENGINES.map((e) => coll[e]!.program('accept_socket_filter_slice').run({ data: TCP }).retval);
  assert.equal(a, b);
});

const skip = prepareKobj();
test('kernel: BPF_PROG_TEST_RUN gives the same retval and data_out', { skip }, () => {
  const tmp = new TempDir('tsbpf-pkt-dynptr-');
  try {
    const cases = [
      ...CASES,
      ...(['TCP', 'ARP'] as const).map((packet) => ({ prog: 'accept_socket_filter_slice', packet })),
    ];
    for (const c of cases) {
      const data = tmp.file(`${c.packet}.bin`, PACKETS[c.packet]);
      const k = runKobj(['--run', c.prog, '--data', data, object]);
      const ours = coll.interp!.program(c.prog).run({ data: PACKETS[c.packet] });
      const what = `${c.prog} on ${c.packet}`;
      assert.equal(k.runError, undefined, what);
      assert.equal(k.retval, ours.retval, what);
      assert.equal(k.dataOut, Buffer.from(ours.dataOut).toString('hex'), what);
    }
  } finally {
    tmp.close();
  }
});
