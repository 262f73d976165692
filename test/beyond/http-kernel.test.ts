// The HTTP example in the Linux kernel: accepted by the verifier, then run over
// real Node http traffic and hostile variants; every verdict and every map must
// agree with the TypeScript model (http-model.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { leHex, runKobj } from '../examples/kobj.ts';
import { counters, type BpktRun, leValue, paddedKey, prepareBpkt, runBpkt } from './bpkt.ts';
import { classifyHttpFrame, httpTotals, METHODS, PATH_MAX, parseHttp, Stat } from './http-model.ts';
import { httpTraffic, type HttpTraffic, pathRules } from './http-traffic.ts';

const OBJECT = 'examples/http/http.bpf.o';
const skip = prepareBpkt();
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-http-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let traffic: HttpTraffic;
before(async () => {
  traffic = await httpTraffic();
});

function ruleMaps(): [string, string, string][] {
  return [...pathRules].map(([prefix, id]) => [
    'path_rules',
    leHex(prefix.length * 8, 4) + paddedKey(prefix, PATH_MAX),
    leHex(id, 4) + leHex(0, 4) + leHex(0, 8),
  ]);
}

function latin1(hex: string): string {
  return Buffer.from(hex, 'hex').toString('latin1').replace(/\0+$/, '');
}

// Every counter the model predicts, as the kernel's map dump shows it.
function compare(run: BpktRun, maxHeaders: number): void {
  const want = httpTotals(traffic.frames, pathRules, maxHeaders);
  const first = run.retvals.findIndex((v, i) => v !== want.verdicts[i]);
  assert.equal(
    first,
    -1,
    `frame ${first}: kernel ${run.retvals[first]}, model ${want.verdicts[first]} (${JSON.stringify(classifyHttpFrame(traffic.frames[first] ?? new Uint8Array(), maxHeaders))})`,
  );
  assert.equal(run.retvals.length, traffic.frames.length);
  assert.deepEqual(counters(run, 'http_stats'), want.stats, 'http_stats');
  assert.deepEqual(counters(run, 'malformed_why'), want.why, 'malformed_why');
  assert.deepEqual(counters(run, 'methods'), want.methods, 'methods');
  assert.deepEqual(counters(run, 'status_codes'), want.status, 'status_codes');
  const strMap = (name: string) =>
    new Map([...(run.maps.get(name) ?? [])].map(([k, v]) => [latin1(k), leValue(v)] as const));
  assert.deepEqual(strMap('hosts'), want.hosts, 'hosts');
  assert.deepEqual(strMap('prefixes'), want.prefixes, 'prefixes');
  const hits = new Map<number, bigint>();
  for (const v of run.maps.get('path_rules')?.values() ?? []) {
    const n = leValue(v.slice(16));
    if (n) hits.set(Number(leValue(v.slice(0, 8))), n);
  }
  assert.deepEqual(hits, want.ruleHits, 'path rule hits');
}

test('model: the grammar on requests whose outcome is known by hand', () => {
  const p = (s: string) => parseHttp(Uint8Array.from(s, (c) => c.charCodeAt(0)));
  assert.deepEqual(p('GET /a/b?c HTTP/1.1\r\nHost: X.org \r\n\r\n'), {
    kind: 'request',
    method: 'GET',
    path: '/a/b?c',
    host: 'x.org',
    prefix: '/a',
  });
  assert.deepEqual(p('GET /a/b HTTP/1.1\r\nHost: x'), { kind: 'partial', method: 'GET', path: '/a/b' });
  assert.deepEqual(p('GET /a/b HTTP/1.'), { kind: 'malformed', why: 'truncated' });
  assert.deepEqual(p('GETS / HTTP/1.1\r\n\r\n'), { kind: 'notHttp' });
  assert.deepEqual(p('HTTP/1.1 404 Not Found\r\n'), { kind: 'response', status: 404 });
  assert.deepEqual(p('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n'.replace('A: 1', 'A:\x001')), {
    kind: 'malformed',
    why: 'syntax',
  });
});

test('traffic: Node wrote the requests, and the model sees every outcome', () => {
  const first = Buffer.from(traffic.requests[1]!).toString('latin1');
  assert.match(first, /^GET \/index\.html HTTP\/1\.1\r\n/);
  assert.match(first, /\r\nHost: Example\.COM\r\n/);
  const kinds = new Set(
    traffic.frames.map((f) => {
      const o = classifyHttpFrame(f);
      return o.kind === 'malformed' ? `malformed:${o.why}` : o.kind;
    }),
  );
  for (const k of [
    'request',
    'partial',
    'response',
    'notHttp',
    'notTcp',
    'noPayload',
    'malformed:syntax',
    'malformed:oversize',
    'malformed:tooManyHeaders',
    'malformed:truncated',
    'malformed:dupHost',
    'malformed:badResponse',
  ]) {
    assert.ok(kinds.has(k), `no ${k} frame`);
  }
  const t = httpTotals(traffic.frames, pathRules);
  assert.ok((t.stats.get(Stat.dropped) ?? 0n) >= 4n);
  assert.ok(t.ruleHits.has(1) && t.ruleHits.has(2) && t.ruleHits.has(3));
  assert.equal(t.methods.size, METHODS.length - 2, 'every method but CONNECT seen'); // CONNECT needs a proxy client
});

test('kernel: http.bpf.o is accepted', { skip }, () => {
  const r = runKobj(['--all', OBJECT]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(
    r.programs.map((p) => [p.program, p.verdict]),
    [['http_parse', 'accept']],
  );
  assert.ok((r.programs[0]!.insnsProcessed ?? 0) > 0);
});

test('kernel: every frame and every map agree with the model', { skip }, () => {
  compare(runBpkt(OBJECT, 'http_parse', traffic.frames, tmp, { maps: ruleMaps() }), 32);
});

test('kernel: max_headers patched in .rodata to 4', { skip }, () => {
  const run = runBpkt(OBJECT, 'http_parse', traffic.frames, tmp, {
    maps: ruleMaps(),
    rodata: { max_headers: leHex(4, 4) },
  });
  compare(run, 4);
  // the 25-header request is now malformed, not counted as a GET
  const many = httpTotals(traffic.frames, pathRules, 4).why.get(2) ?? 0n;
  assert.ok(many > httpTotals(traffic.frames, pathRules, 32).why.get(2)!);
});
