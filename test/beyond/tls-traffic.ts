// The TLS example's test traffic: ClientHellos written by Node's tls client
// (captured on loopback), hand-built ClientHellos (GREASE, hostile lengths),
// split and truncated variants, mutations and noise.
import { ETH_P_ARP, ethernet, udp4Packet } from '../examples/packets.ts';
import { captureClientHellos, type TlsHelloSpec } from './capture.ts';
import { ascii, prng, segmented, tcpFrame, withIpOptions } from './frames.ts';

export const helloSpecs: TlsHelloSpec[] = [
  { servername: 'example.com', alpn: ['h2', 'http/1.1'] },
  { servername: 'blocked.example', alpn: ['http/1.1'] },
  { servername: 'Evil.EXAMPLE' }, // blocked, whatever its case
  { servername: 'api.example.com', maxVersion: 'TLSv1.2' },
  { servername: 'tls13.example.org', minVersion: 'TLSv1.3', alpn: ['h2'] },
  { servername: 'ciphers.example', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA', maxVersion: 'TLSv1.2' },
  {}, // no SNI (Node sends none for an IP address)
  { servername: `${'x'.repeat(60)}.example.com`, alpn: ['a'.repeat(40), 'b'.repeat(40)] }, // ALPN list > 64 bytes
];

export const denied = new Set(['blocked.example', 'evil.example', 'synthetic.blocked']);

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];

export interface Ext {
  type: number;
  data: number[];
}

export const sniExt = (name: string): Ext => {
  const n = [...ascii(name)];
  return { type: 0, data: [...be16(n.length + 3), 0, ...be16(n.length), ...n] };
};
export const alpnExt = (protos: string[]): Ext => {
  const list = protos.flatMap((p) => [p.length, ...ascii(p)]);
  return { type: 16, data: [...be16(list.length), ...list] };
};
export const groupsExt = (groups: number[]): Ext => ({
  type: 10,
  data: [...be16(groups.length * 2), ...groups.flatMap(be16)],
});
export const pointFormatsExt = (formats: number[]): Ext => ({ type: 11, data: [formats.length, ...formats] });

export interface HelloParts {
  version?: number;
  sessionId?: number[];
  ciphers?: number[];
  compression?: number[];
  exts?: Ext[] | null; // null: no extensions block at all
  // lies, each replacing a computed length
  recordLen?: number;
  hsLen?: number;
  extsLen?: number;
  recordVersion?: number[];
}

// A TLS record holding one ClientHello built from its parts.
export function buildHello(p: HelloParts): Uint8Array {
  const ciphers = p.ciphers ?? [0x1301, 0x1302, 0xc02f];
  const comp = p.compression ?? [0];
  const body = [
    ...be16(p.version ?? 0x0303),
    ...new Array(32).fill(0x42),
    (p.sessionId ?? []).length,
    ...(p.sessionId ?? []),
    ...be16(ciphers.length * 2),
    ...ciphers.flatMap(be16),
    comp.length,
    ...comp,
  ];
  if (p.exts !== null) {
    const exts = (p.exts ?? []).flatMap((e) => [...be16(e.type), ...be16(e.data.length), ...e.data]);
    body.push(...be16(p.extsLen ?? exts.length), ...exts);
  }
  const hsLen = p.hsLen ?? body.length;
  const hs = [1, (hsLen >> 16) & 0xff, (hsLen >> 8) & 0xff, hsLen & 0xff, ...body];
  return Uint8Array.from([22, ...(p.recordVersion ?? [3, 1]), ...be16(p.recordLen ?? hs.length), ...hs]);
}

// The ClientHello of a GREASE-ing browser, with every field the JA3 string uses.
export const greaseHello: HelloParts = {
  ciphers: [0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b],
  exts: [
    { type: 0xaaaa, data: [] },
    sniExt('Synthetic.Example'),
    groupsExt([0x8a8a, 29, 23, 24]),
    pointFormatsExt([0]),
    alpnExt(['h2', 'http/1.1']),
    { type: 43, data: [4, 0x3a, 0x3a, 3, 4] },
    { type: 0xfafa, data: [0] },
  ],
};

export function hostileHellos(): Uint8Array[] {
  const many = Array.from({ length: 70 }, (_, i) => ({ type: 100 + i, data: [] }));
  return [
    buildHello(greaseHello),
    buildHello({ ...greaseHello, exts: [sniExt('synthetic.blocked')] }),
    buildHello({ exts: null }), // no extensions at all
    buildHello({ exts: [] }), // an empty extensions block
    buildHello({ exts: [sniExt('')] }), // zero-length SNI
    buildHello({ exts: [sniExt('s'.repeat(127))] }), // longest accepted
    buildHello({ exts: [sniExt('s'.repeat(128))] }), // oversize
    buildHello({ exts: [sniExt('a.example'), sniExt('b.example')] }), // two SNIs
    buildHello({ exts: [{ type: 0, data: [0, 12, 1, 0, 9, ...ascii('a.example')] }] }), // name type 1
    buildHello({ exts: [{ type: 0, data: [0, 200, 0, 0, 9, ...ascii('a.example')] }] }), // list length lie
    buildHello({ exts: [{ type: 0, data: [0, 12, 0, 0, 90, ...ascii('a.example')] }] }), // name length lie
    buildHello({ exts: [sniExt('a.example')], extsLen: 5000 }), // extensions length lie
    buildHello({ exts: [sniExt('a.example')], extsLen: 3 }), // block ends inside an extension header
    buildHello({ exts: [{ type: 10, data: [0, 3, 0, 29, 0] }] }), // odd group list
    buildHello({ exts: [{ type: 10, data: [0, 40, 0, 29] }] }), // group list lie
    buildHello({ exts: [{ type: 11, data: [9, 0] }] }), // point format lie
    buildHello({ exts: [{ type: 11, data: Array.from({ length: 21 }, (_, i) => (i ? i : 20)) }] }), // 20 formats
    buildHello({ exts: [{ type: 16, data: [0, 99, 2, 104, 50] }] }), // ALPN lie
    buildHello({ exts: [{ type: 16, data: [0] }] }),
    buildHello({ exts: many }), // 70 extensions
    buildHello({ exts: many.slice(0, 64) }), // 64: the maximum
    buildHello({ sessionId: new Array(33).fill(1) }),
    buildHello({ sessionId: new Array(32).fill(1) }),
    buildHello({ ciphers: [] }),
    buildHello({ ciphers: [0x1301], compression: [] }),
    buildHello({ hsLen: 0xffffff }), // huge handshake length
    buildHello({ recordLen: 0xffff }), // huge record length
    buildHello({ recordLen: 2 }),
    buildHello({ hsLen: 20 }), // handshake shorter than its fields
    buildHello({ recordVersion: [2, 0] }),
    Uint8Array.of(22, 3, 3, 0, 40, 2, 0, 0, 36, ...new Array(36).fill(0)), // a ServerHello
    Uint8Array.of(23, 3, 3, 0, 4, 1, 2, 3, 4), // application data
    Uint8Array.of(22, 3, 1, 0),
    Uint8Array.of(22, 3, 1, 1, 0, 1, 0),
  ];
}

// count frames, each a captured ClientHello with 1 or 2 bytes changed, half
// of them in the first 120 bytes where the record, handshake, session id and
// cipher lengths are.
export function mutatedHellos(hellos: Uint8Array[], count: number, rnd: () => number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const h = Uint8Array.from(hellos[rnd() % hellos.length]!);
    for (let k = 0, n = 1 + (rnd() % 2); k < n; k++) {
      const at = rnd() % 2 ? rnd() % Math.min(h.length, 120) : rnd() % h.length;
      h[at] = rnd() % 3 === 0 ? h[at]! ^ (1 << (rnd() % 8)) : rnd() & 0xff;
    }
    frames.push(tcpFrame(h, { sport: 50000, dport: 443, src: '192.168.1.7', dst: '10.0.0.100' }));
  }
  return frames;
}

export interface TlsTraffic {
  frames: Uint8Array[];
  hellos: Uint8Array[]; // captured from Node
}

export async function tlsTraffic(): Promise<TlsTraffic> {
  const hellos = await captureClientHellos(helloSpecs);
  const flow = { sport: 50000, dport: 443, src: '192.168.1.7', dst: '10.0.0.100' };
  const frames: Uint8Array[] = [];
  frames.push(...hellos.map((h, i) => tcpFrame(h, { ...flow, sport: flow.sport + i })));
  for (const h of hellos.slice(0, 3)) frames.push(tcpFrame(h, { ...flow, v6: true }));
  frames.push(withIpOptions(tcpFrame(hellos[1]!, flow)));
  // Split across segments: the first holds the start of the record.
  frames.push(...segmented(hellos[0]!, [100], flow));
  frames.push(...segmented(hellos[1]!, [3, 200], flow));
  for (const h of hellos) {
    for (const cut of [2, 5, 8, 43, Math.floor(h.length / 2), h.length - 1])
      frames.push(tcpFrame(h.subarray(0, cut), flow));
  }
  for (const h of hostileHellos()) frames.push(tcpFrame(h, flow));
  // Mutations aimed at the length fields (and anywhere), then noise.
  const rnd = prng(0x7175);
  frames.push(...mutatedHellos(hellos, 400, rnd));
  for (let i = 0; i < 40; i++) {
    const noise = Uint8Array.from({ length: 1 + (rnd() % 500) }, () => rnd() & 0xff);
    if (i % 2) noise.set([22, 3, 1].slice(0, noise.length)); // looks like a handshake record
    frames.push(tcpFrame(noise, flow));
  }
  frames.push(tcpFrame(ascii('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'), flow));
  frames.push(
    tcpFrame(new Uint8Array(0), flow),
    udp4Packet(443, Uint8Array.from(hellos[0]!)),
    ethernet(ETH_P_ARP, new Uint8Array(28)),
  );
  return { frames, hellos };
}
