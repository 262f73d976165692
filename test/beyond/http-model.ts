// The HTTP example's contract, parsed in plain TypeScript (not a translation of
// the C state machine): what each frame is, and what the maps must hold after a
// stream of frames.  The grammar is in docs/BEYOND.md.
import { tcpPayloadOf } from './l4.ts';

export const WINDOW = 2048;
export const PATH_MAX = 128;
export const HOST_MAX = 64;
export const PREFIX_MAX = 32;
export const NAME_MAX = 64;
export const VALUE_MAX = 1024;

export const Stat = {
  packets: 0,
  notTcp: 1,
  noPayload: 2,
  requests: 3,
  partial: 4,
  responses: 5,
  notHttp: 6,
  malformed: 7,
  dropped: 8,
} as const;
export type StatName = keyof typeof Stat;

export const Why = {
  syntax: 0,
  oversize: 1,
  tooManyHeaders: 2,
  truncated: 3,
  dupHost: 4,
  badResponse: 5,
} as const;
export type WhyName = keyof typeof Why;

export const METHODS = ['', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

export type HttpOutcome =
  | { kind: 'notTcp' | 'noPayload' | 'notHttp' }
  | { kind: 'malformed'; why: WhyName }
  | { kind: 'response'; status: number }
  | { kind: 'partial'; method: string; path: string }
  | { kind: 'request'; method: string; path: string; host: string; prefix: string };

class Stop {
  constructor(readonly outcome: HttpOutcome) {}
}

const TCHAR = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]$/;

function parseResponse(w: Uint8Array): HttpOutcome {
  const bad: HttpOutcome = { kind: 'malformed', why: 'badResponse' };
  if (w.length < 13) return bad;
  const t = String.fromCharCode(...w.subarray(0, 13));
  if (!/^HTTP\/1\.\d \d\d\d[ \r]$/.test(t)) return bad;
  const status = Number(t.slice(9, 12));
  return status >= 100 && status <= 599 ? { kind: 'response', status } : bad;
}

// Parses one payload window.  A cursor walks the bytes; running off the end
// of the window means "the segment ended here".
export function parseHttp(payload: Uint8Array, maxHeaders = 32): HttpOutcome {
  const w = payload.subarray(0, WINDOW);
  if (w.length >= 5 && String.fromCharCode(...w.subarray(0, 5)) === 'HTTP/') return parseResponse(w);

  const text = String.fromCharCode(...w.subarray(0, 9));
  const m = /^([A-Z]{0,7}) /.exec(text);
  if (!m || !METHODS.includes(m[1]!) || m[1] === '') return { kind: 'notHttp' };
  const method = m[1]!;
  let i = method.length + 1;
  let phase: 'line' | 'headers' = 'line';
  const byte = (): number => {
    if (i >= w.length) {
      throw new Stop(
        phase === 'line' ? { kind: 'malformed', why: 'truncated' } : { kind: 'partial', method, path },
      );
    }
    return w[i++]!;
  };
  const malformed = (why: WhyName) => new Stop({ kind: 'malformed', why });
  let path = '';
  try {
    // request-target: visible ASCII, starting with '/' or '*'
    for (;;) {
      const c = byte();
      if (c === 0x20) {
        if (path === '') throw malformed('syntax');
        break;
      }
      if (c < 0x21 || c > 0x7e) throw malformed('syntax');
      if (path === '' && c !== 0x2f && c !== 0x2a) throw malformed('syntax');
      if (path.length >= PATH_MAX) throw malformed('oversize');
      path += String.fromCharCode(c);
    }
    // "HTTP/1.0" or "HTTP/1.1", CR LF: each entry lists the bytes allowed there
    for (const allowed of ['H', 'T', 'T', 'P', '/', '1', '.', '01', '\r', '\n']) {
      if (!allowed.includes(String.fromCharCode(byte()))) throw malformed('syntax');
    }
    phase = 'headers';
    let count = 0;
    let host: string | undefined;
    for (;;) {
      let c = byte();
      if (c === 0x0d) {
        if (byte() !== 0x0a) throw malformed('syntax');
        break;
      }
      let name = '';
      while (c !== 0x3a) {
        if (!TCHAR.test(String.fromCharCode(c))) throw malformed('syntax');
        if (name.length >= NAME_MAX) throw malformed('oversize');
        name += String.fromCharCode(c);
        c = byte();
      }
      if (name === '') throw malformed('syntax');
      count++;
      if (count > maxHeaders) throw malformed('tooManyHeaders');
      const isHost = name.toLowerCase() === 'host';
      if (isHost && host !== undefined) throw malformed('dupHost');
      do c = byte();
      while (c === 0x20 || c === 0x09);
      let value = '';
      while (c !== 0x0d) {
        if (c !== 0x09 && (c < 0x20 || c === 0x7f)) throw malformed('syntax');
        if (value.length >= VALUE_MAX) throw malformed('oversize');
        if (isHost && value.length >= HOST_MAX) throw malformed('oversize');
        value += String.fromCharCode(c);
        c = byte();
      }
      if (isHost) host = value.replace(/[ \t]+$/, '').replace(/[A-Z]/g, (ch) => ch.toLowerCase());
      if (byte() !== 0x0a) throw malformed('syntax');
    }
    const prefix = /^.[^/?#]*/.exec(path)![0].slice(0, PREFIX_MAX);
    return { kind: 'request', method, path, host: host ?? '', prefix };
  } catch (e) {
    if (e instanceof Stop) return e.outcome;
    throw e;
  }
}

export function classifyHttpFrame(frame: Uint8Array, maxHeaders = 32): HttpOutcome {
  const tcp = tcpPayloadOf(frame);
  if (!tcp) return { kind: 'notTcp' };
  if (tcp.payload.length === 0) return { kind: 'noPayload' };
  return parseHttp(tcp.payload, maxHeaders);
}

// Longest rule that is a byte prefix of the path (what an LPM trie finds).
export function matchRule(path: string, rules: Map<string, number>): number | undefined {
  let best: string | undefined;
  for (const r of rules.keys())
    if (path.startsWith(r) && (best === undefined || r.length > best.length)) best = r;
  return best === undefined ? undefined : rules.get(best);
}

export interface HttpTotals {
  verdicts: number[]; // XDP action per frame
  stats: Map<number, bigint>;
  why: Map<number, bigint>;
  methods: Map<number, bigint>;
  hosts: Map<string, bigint>;
  prefixes: Map<string, bigint>;
  status: Map<number, bigint>;
  ruleHits: Map<number, bigint>; // rule id -> drops
}

const XDP_DROP = 1;
const XDP_PASS = 2;

function bump<K>(m: Map<K, bigint>, k: K): void {
  m.set(k, (m.get(k) ?? 0n) + 1n);
}

export function httpTotals(frames: Uint8Array[], rules: Map<string, number>, maxHeaders = 32): HttpTotals {
  const t: HttpTotals = {
    verdicts: [],
    stats: new Map(),
    why: new Map(),
    methods: new Map(),
    hosts: new Map(),
    prefixes: new Map(),
    status: new Map(),
    ruleHits: new Map(),
  };
  for (const f of frames) {
    bump(t.stats, Stat.packets);
    const o = classifyHttpFrame(f, maxHeaders);
    let verdict = XDP_PASS;
    switch (o.kind) {
      case 'notTcp':
      case 'noPayload':
      case 'notHttp':
        bump(t.stats, Stat[o.kind]);
        break;
      case 'malformed':
        bump(t.stats, Stat.malformed);
        bump(t.why, Why[o.why]);
        break;
      case 'response':
        bump(t.stats, Stat.responses);
        bump(t.status, o.status);
        break;
      case 'request':
      case 'partial': {
        if (o.kind === 'request') {
          bump(t.stats, Stat.requests);
          bump(t.methods, METHODS.indexOf(o.method));
          bump(t.prefixes, o.prefix);
          if (o.host !== '') bump(t.hosts, o.host);
        } else {
          bump(t.stats, Stat.partial);
        }
        const rule = matchRule(o.path, rules);
        if (rule !== undefined) {
          bump(t.ruleHits, rule);
          bump(t.stats, Stat.dropped);
          verdict = XDP_DROP;
        }
        break;
      }
    }
    t.verdicts.push(verdict);
  }
  return t;
}
