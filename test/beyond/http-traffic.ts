// The HTTP example's test traffic: requests written by Node's http client and
// responses written by Node's http server (captured on loopback), split,
// truncated, mangled and hand-made hostile variants, plus noise.
import { concat, ETH_P_ARP, ethernet, udp4Packet } from '../examples/packets.ts';
import { captureHttpRequests, captureHttpResponses, type HttpRequestSpec } from './capture.ts';
import { ascii, prng, segmented, tcpFrame, withIpOptions } from './frames.ts';

export const requestSpecs: HttpRequestSpec[] = [
  { method: 'GET', path: '/', headers: { Host: 'example.com' } },
  { method: 'GET', path: '/index.html', headers: { Host: 'Example.COM', 'User-Agent': 'tsbpf-test/1.0' } },
  { method: 'GET', path: '/api/users/42?expand=roles', headers: { Host: 'api.example.com', Accept: '*/*' } },
  {
    method: 'POST',
    path: '/api/login',
    headers: { Host: 'api.example.com', 'Content-Type': 'application/json' },
    body: '{"user":"ada"}',
  },
  { method: 'PUT', path: '/api/users/42', headers: { Host: 'api.example.com' }, body: 'x'.repeat(300) },
  { method: 'DELETE', path: '/api/users/42', headers: { Host: 'api.example.com' } },
  { method: 'HEAD', path: '/static/app.js?v=3', headers: { Host: 'cdn.example.net' } },
  { method: 'OPTIONS', path: '*', headers: { Host: 'example.com' } },
  { method: 'PATCH', path: '/api/users/7', headers: { Host: 'api.example.com  ' }, body: '{}' },
  { method: 'GET', path: '/admin', headers: { Host: 'example.com' } },
  { method: 'GET', path: '/admin/users', headers: { Host: 'example.com' } },
  { method: 'GET', path: '/administrator', headers: { Host: 'example.com' } },
  { method: 'POST', path: '/api/internal/reindex', headers: { Host: 'api.example.com' }, body: 'now' },
  { method: 'GET', path: '/search?q=ebpf#top', headers: { Host: 'example.com' } },
  { method: 'GET', path: `/${'a'.repeat(127)}`, headers: { Host: 'example.com' } }, // 128 bytes: the maximum
  { method: 'GET', path: `/${'b'.repeat(60)}/c`, headers: { Host: 'example.com' } }, // prefix cut at 32
  { method: 'GET', path: '/no-host' }, // Node adds Host: 127.0.0.1:<port>
  {
    method: 'GET',
    path: '/many',
    headers: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`X-H${i}`, `v${i}`])),
  },
];

// The rule table: path prefix -> rule id.
export const pathRules = new Map<string, number>([
  ['/admin', 1],
  ['/api/internal', 2],
  ['/.git', 3],
]);

// Hand-made requests a client library would never send.
export function hostileRequests(): Uint8Array[] {
  const h = (s: string) => ascii(s);
  const many = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: ${i}\r\n`).join('');
  return [
    h(`GET /hdrs HTTP/1.1\r\nHost: a.example\r\n${many(200)}\r\n`), // 200 headers (and past the window)
    h(`GET /hdrs HTTP/1.1\r\nHost: a.example\r\n${many(31)}\r\n`), // 32 headers: allowed
    h(`GET /hdrs HTTP/1.1\r\nHost: a.example\r\n${many(32)}\r\n`), // 33: one too many
    h(`GET /${'p'.repeat(200)} HTTP/1.1\r\nHost: a.example\r\n\r\n`), // oversize path
    h(`GET /${'q'.repeat(127)}/ HTTP/1.1\r\nHost: a.example\r\n\r\n`), // 129 bytes
    h(`GET / HTTP/1.1\r\n${'N'.repeat(65)}: v\r\n\r\n`), // oversize name
    h(`GET / HTTP/1.1\r\n${'N'.repeat(64)}: v\r\nHost: b.example\r\n\r\n`), // 64: fine
    h(`GET / HTTP/1.1\r\nHost: ${'h'.repeat(65)}\r\n\r\n`), // oversize Host
    h(`GET / HTTP/1.1\r\nHost: ${'h'.repeat(64)}\r\n\r\n`), // 64: fine
    h(`GET / HTTP/1.1\r\nCookie: ${'c'.repeat(1025)}\r\n\r\n`), // oversize value
    h('GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'), // two Hosts
    h('GET / HTTP/1.1\nHost: a.example\n\n'), // bare LF
    h('GET / HTTP/1.1\r\nHost: a.example\r\n folded\r\n\r\n'), // obs-fold
    h('GET / HTTP/1.1\r\nHost: a.ex\x01ample\r\n\r\n'), // control byte
    h('GET / HTTP/2.0\r\nHost: a.example\r\n\r\n'),
    h('GET  / HTTP/1.1\r\n\r\n'), // empty path
    h('GET http://x/ HTTP/1.1\r\n\r\n'), // absolute form: not supported
    h('GET /a\x7fb HTTP/1.1\r\n\r\n'),
    h('get / HTTP/1.1\r\n\r\n'), // lowercase method
    h('BREW /pot HTTP/1.1\r\n\r\n'), // unknown method
    h('CONNECTX / HTTP/1.1\r\n\r\n'),
    h('GET / HTTP/1.0\r\n\r\n'), // no headers at all
    h('GET /.git/config HTTP/1.1\r\nHost: a.example\r\n\r\n'),
    h('TRACE / HTTP/1.1\r\nhOsT:   Mixed.Case  \t\r\n\r\n'),
    h('GET / HTTP/1.1\r\nHost:\r\n\r\n'), // empty Host
    h('GET / HTTP/1.1\r\n: novalue\r\n\r\n'), // empty name
    h('GET / HTTP/1.1\r\nHost: a.example\r\n\r\nGET /second HTTP/1.1\r\n\r\n'), // pipelined
    h('HTTP/1.1 200'), // response cut short
    h('HTTP/1.1 099 Low\r\n'),
    h('HTTP/1.1 600 High\r\n'),
    h('HTTP/1.0 302\r\n'),
    h('HTTP/2 200\r\n\r\n'),
    h('HTTP/'),
  ];
}

// count frames, each a captured request with 1 to 3 bytes replaced (often by
// a byte that matters to the grammar: space, CR, LF, colon).
export function mutatedRequests(requests: Uint8Array[], count: number, rnd: () => number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const r = Uint8Array.from(requests[rnd() % requests.length]!);
    for (let k = 0, n = 1 + (rnd() % 3); k < n; k++) {
      const at = rnd() % r.length;
      r[at] = rnd() % 4 === 0 ? [0x20, 0x0d, 0x0a, 0x3a][rnd() % 4]! : rnd() & 0xff;
    }
    frames.push(tcpFrame(r, { sport: 40000, dport: 80 }));
  }
  return frames;
}

export interface HttpTraffic {
  frames: Uint8Array[];
  requests: Uint8Array[]; // the captured request bytes
  responses: Uint8Array[];
}

export async function httpTraffic(): Promise<HttpTraffic> {
  const requests = await captureHttpRequests(requestSpecs);
  const responses = await captureHttpResponses([200, 201, 204, 301, 304, 400, 403, 404, 404, 500, 503]);
  const frames: Uint8Array[] = [];
  const flow = { sport: 40000, dport: 80 };
  for (const r of requests) frames.push(tcpFrame(r, flow));
  for (const r of requests.slice(0, 6)) frames.push(tcpFrame(r, { ...flow, v6: true }));
  for (const r of responses) frames.push(tcpFrame(r, { sport: 80, dport: 40000 }));
  frames.push(withIpOptions(tcpFrame(requests[9]!, flow)), withIpOptions(tcpFrame(requests[2]!, flow)));
  // A request split across segments: in the request line, in the headers, and
  // in three pieces.  Only the first segment starts with a method.
  const admin = requests[10]!;
  frames.push(...segmented(admin, [8], flow));
  frames.push(...segmented(admin, [30], flow));
  frames.push(...segmented(requests[3]!, [20, 50], flow));
  // Every request cut short at a few places (a lost tail, a capture snaplen).
  for (const r of requests) {
    for (const cut of [1, 4, 12, Math.floor(r.length / 2), r.length - 3, r.length - 1]) {
      if (cut > 0 && cut < r.length) frames.push(tcpFrame(r.subarray(0, cut), flow));
    }
  }
  for (const h of hostileRequests()) frames.push(tcpFrame(h, flow));
  // Bytes of the requests flipped at random, and pure noise.
  const rnd = prng(0x5eed);
  frames.push(...mutatedRequests(requests, 300, rnd));
  for (let i = 0; i < 50; i++) {
    frames.push(
      tcpFrame(
        Uint8Array.from({ length: 1 + (rnd() % 600) }, () => rnd() & 0xff),
        flow,
      ),
    );
  }
  // A request larger than the 2048-byte window, pure ACKs, and non-TCP frames.
  frames.push(
    tcpFrame(
      ascii(
        `POST /big HTTP/1.1\r\nHost: a.example\r\nX-Pad: ${'z'.repeat(1000)}\r\nX-Pad2: ${'z'.repeat(1000)}\r\n\r\n`,
      ),
      flow,
    ),
  );
  frames.push(tcpFrame(new Uint8Array(0), flow), tcpFrame(new Uint8Array(0), { ...flow, v6: true }));
  frames.push(udp4Packet(80, ascii('GET / HTTP/1.1\r\n\r\n')));
  frames.push(ethernet(ETH_P_ARP, new Uint8Array(28)));
  frames.push(concat(tcpFrame(requests[0]!, flow).subarray(0, 40))); // cut inside the TCP header
  return { frames, requests, responses };
}
