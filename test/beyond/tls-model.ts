// The TLS example's contract in plain TypeScript: a ClientHello reader written
// from RFC 8446 / RFC 6066 / RFC 7301 (a cursor that throws when a length runs
// past its container), the JA3-style string and its FNV-1a 64 hash, and the
// totals a stream of frames must leave in the maps.
import { tcpPayloadOf } from './l4.ts';

export const WINDOW = 2048;
export const SNI_MAX = 127;
export const ALPN_MAX = 64;
export const MAX_EXTS = 64;
export const MAX_POINT_FORMATS = 16;

export const Stat = {
  packets: 0,
  notTcp: 1,
  noPayload: 2,
  notTls: 3,
  otherHandshake: 4,
  truncated: 5,
  malformed: 6,
  parsed: 7,
  blocked: 8,
  ringbufFull: 9,
} as const;

export const Why = { length: 0, field: 1, sni: 2, sniOversize: 3, tooManyExts: 4, dupSni: 5 } as const;
export type WhyName = keyof typeof Why;

export interface ClientHello {
  version: number;
  ciphers: number[]; // as sent, GREASE included
  extensions: number[];
  groups: number[];
  pointFormats: number[];
  sni: string; // lowercased, '' when absent
  alpn: Uint8Array; // protocol_name_list, at most ALPN_MAX bytes
}

export type TlsOutcome =
  | { kind: 'notTcp' | 'noPayload' | 'notTls' | 'otherHandshake' | 'truncated' }
  | { kind: 'malformed'; why: WhyName }
  | { kind: 'parsed'; hello: ClientHello };

class Malformed extends Error {
  constructor(readonly why: WhyName) {
    super(why);
  }
}

// Reads big-endian fields from bytes[pos, end); reading past end is a length lie.
class Cursor {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}
  get left(): number {
    return this.end - this.pos;
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new Malformed('length');
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }
  sub(n: number): Cursor {
    const c = new Cursor(this.bytes, this.pos, this.pos + n);
    this.take(n);
    return c;
  }
}

export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

function readServerName(data: Uint8Array): string {
  if (data.length < 5) throw new Malformed('sni');
  const listLen = (data[0]! << 8) | data[1]!;
  if (listLen + 2 > data.length || listLen < 3 || data[2] !== 0) throw new Malformed('sni');
  const n = (data[3]! << 8) | data[4]!;
  if (n + 3 > listLen) throw new Malformed('length');
  if (n === 0) throw new Malformed('sni');
  if (n > SNI_MAX) throw new Malformed('sniOversize');
  return String.fromCharCode(...data.subarray(5, 5 + n)).replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function readBody(c: Cursor): ClientHello {
  const version = c.u16();
  c.take(32); // random
  const sidLen = c.u8();
  if (sidLen > 32) throw new Malformed('field');
  c.take(sidLen);
  const csLen = c.u16();
  if (csLen === 0 || csLen % 2) throw new Malformed('field');
  const cs = c.sub(csLen);
  const ciphers: number[] = [];
  while (cs.left) ciphers.push(cs.u16());
  const compLen = c.u8();
  if (compLen === 0) throw new Malformed('field');
  c.take(compLen);
  const hello: ClientHello = {
    version,
    ciphers,
    extensions: [],
    groups: [],
    pointFormats: [],
    sni: '',
    alpn: new Uint8Array(0),
  };
  if (c.left === 0) return hello; // no extensions
  const exts = c.sub(c.u16());
  let sniSeen = false;
  while (exts.left) {
    if (hello.extensions.length >= MAX_EXTS) throw new Malformed('tooManyExts');
    const type = exts.u16();
    const data = exts.take(exts.u16());
    hello.extensions.push(type);
    const d = new Cursor(data, 0, data.length);
    if (type === 0) {
      if (sniSeen) throw new Malformed('dupSni');
      sniSeen = true;
      hello.sni = readServerName(data);
    } else if (type === 10) {
      const list = d.u16();
      if (list % 2 || list > d.left) throw new Malformed('length');
      hello.groups = [];
      for (const g = d.sub(list); g.left; ) hello.groups.push(g.u16());
    } else if (type === 11) {
      hello.pointFormats = [...d.take(d.u8())];
    } else if (type === 16) {
      const list = d.u16();
      hello.alpn = d.take(list).slice(0, ALPN_MAX);
    }
  }
  return hello;
}

export function parseTls(payload: Uint8Array): TlsOutcome {
  const w = payload.subarray(0, WINDOW);
  if (w.length < 5 || w[0] !== 22 || w[1] !== 3 || w[2]! > 4) return { kind: 'notTls' };
  const recordLen = (w[3]! << 8) | w[4]!;
  if (recordLen < 4) return { kind: 'malformed', why: 'length' };
  if (w.length < 9) return { kind: 'truncated' };
  if (w[5] !== 1) return { kind: 'otherHandshake' };
  const hsLen = (w[6]! << 16) | (w[7]! << 8) | w[8]!;
  if (5 + recordLen > w.length || 4 + hsLen > recordLen) return { kind: 'truncated' };
  try {
    return { kind: 'parsed', hello: readBody(new Cursor(w, 9, 9 + hsLen)) };
  } catch (e) {
    if (e instanceof Malformed) return { kind: 'malformed', why: e.why };
    throw e;
  }
}

export function ja3String(h: ClientHello): string {
  const list = (v: number[]) =>
    v
      .filter((x) => !isGrease(x))
      .map(String)
      .join('-');
  return [
    h.version,
    list(h.ciphers),
    list(h.extensions),
    list(h.groups),
    h.pointFormats.slice(0, MAX_POINT_FORMATS).join('-'),
  ].join(',');
}

export function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++)
    h = ((h ^ BigInt(s.charCodeAt(i) & 0xff)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

export function classifyTlsFrame(frame: Uint8Array): TlsOutcome {
  const tcp = tcpPayloadOf(frame);
  if (!tcp) return { kind: 'notTcp' };
  if (tcp.payload.length === 0) return { kind: 'noPayload' };
  return parseTls(tcp.payload);
}

// A published ring-buffer record (struct tls_event, 248 bytes).
export interface TlsEvent {
  ja3: bigint;
  saddr: string; // hex, family's length
  daddr: string;
  sport: number;
  dport: number;
  version: number;
  family: number;
  blocked: boolean;
  ciphers: number;
  exts: number;
  sni: string;
  alpn: string; // hex
}

export function decodeEvent(hex: string): TlsEvent {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== 248) throw new Error(`tls_event of ${b.length} bytes`);
  const alen = b.readUInt8(46) === 6 ? 16 : 4;
  return {
    ja3: b.readBigUInt64LE(0),
    saddr: b.subarray(8, 8 + alen).toString('hex'),
    daddr: b.subarray(24, 24 + alen).toString('hex'),
    sport: b.readUInt16LE(40),
    dport: b.readUInt16LE(42),
    version: b.readUInt16LE(44),
    family: b.readUInt8(46),
    blocked: b.readUInt8(47) === 1,
    ciphers: b.readUInt16LE(48),
    exts: b.readUInt16LE(50),
    sni: b.subarray(56, 56 + b.readUInt8(52)).toString('latin1'),
    alpn: b.subarray(184, 184 + b.readUInt8(53)).toString('hex'),
  };
}

// The record the model expects for a frame, or undefined when none.
export function expectedEvent(frame: Uint8Array, deny: Set<string>): TlsEvent | undefined {
  const tcp = tcpPayloadOf(frame);
  const o = classifyTlsFrame(frame);
  if (!tcp || o.kind !== 'parsed') return undefined;
  const h = o.hello;
  return {
    ja3: fnv1a64(ja3String(h)),
    saddr: Buffer.from(tcp.saddr).toString('hex'),
    daddr: Buffer.from(tcp.daddr).toString('hex'),
    sport: tcp.sport,
    dport: tcp.dport,
    version: h.version,
    family: tcp.family,
    blocked: deny.has(h.sni),
    ciphers: h.ciphers.filter((c) => !isGrease(c)).length,
    exts: h.extensions.filter((c) => !isGrease(c)).length,
    sni: h.sni,
    alpn: Buffer.from(h.alpn).toString('hex'),
  };
}

export interface TlsTotals {
  verdicts: number[];
  stats: Map<number, bigint>;
  why: Map<number, bigint>;
  denyHits: Map<string, bigint>;
}

function bump<K>(m: Map<K, bigint>, k: K): void {
  m.set(k, (m.get(k) ?? 0n) + 1n);
}

export function tlsTotals(frames: Uint8Array[], deny: Set<string>): TlsTotals {
  const t: TlsTotals = { verdicts: [], stats: new Map(), why: new Map(), denyHits: new Map() };
  for (const f of frames) {
    bump(t.stats, Stat.packets);
    const o = classifyTlsFrame(f);
    let verdict = 2; // XDP_PASS
    if (o.kind === 'malformed') {
      bump(t.stats, Stat.malformed);
      bump(t.why, Why[o.why]);
    } else if (o.kind === 'parsed') {
      bump(t.stats, Stat.parsed);
      if (deny.has(o.hello.sni)) {
        bump(t.stats, Stat.blocked);
        bump(t.denyHits, o.hello.sni);
        verdict = 1; // XDP_DROP
      }
    } else {
      bump(t.stats, Stat[o.kind]);
    }
    t.verdicts.push(verdict);
  }
  return t;
}
