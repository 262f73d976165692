// The HTTP example in the Linux kernel: accepted by the verifier, then run over
// real Node http traffic and hostile variants; every verdict and every map must
// agree with the TypeScript model (http-model.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { leHex, runKobj } from '../examples/kobj.ts';
import { prepareBpkt, runBpkt } from './bpkt.ts';
import { checkHttpRun, ruleMaps } from './http-check.ts';
import { classifyHttpFrame, httpTotals, METHODS, parseHttp, Stat } from './http-model.ts';
import { prng } from './frames.ts';
import { httpTraffic, type HttpTraffic, mutatedRequests, pathRules } from './http-traffic.ts';

const OBJECT = 'examples/http/http.bpf.o';
const skip = prepareBpkt();
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-http-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let traffic: HttpTraffic;
before(async () => {
  traffic = await httpTraffic();
});

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
  checkHttpRun(
    runBpkt(OBJECT, 'http_parse', traffic.frames, tmp, { maps: ruleMaps() }),
    traffic.frames,
    32,
    'kernel',
  );
});

test('kernel: max_headers patched in .rodata to 4', { skip }, () => {
  const run = runBpkt(OBJECT, 'http_parse', traffic.frames, tmp, {
    maps: ruleMaps(),
    rodata: { max_headers: leHex(4, 4) },
  });
  checkHttpRun(run, traffic.frames, 4, 'kernel');
  // the 25-header request is now malformed, not counted as a GET
  const many = httpTotals(traffic.frames, pathRules, 4).why.get(2) ?? 0n;
  assert.ok(many > httpTotals(traffic.frames, pathRules, 32).why.get(2)!);
});

test('kernel: 5,000 more mutated requests agree with the model', { skip }, () => {
  const frames = mutatedRequests(traffic.requests, 5000, prng(2026));
  checkHttpRun(runBpkt(OBJECT, 'http_parse', frames, tmp, { maps: ruleMaps() }), frames, 32, 'kernel');
});
