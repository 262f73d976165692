// The TLS example in the Linux kernel: accepted by the verifier, then run over
// ClientHellos written by Node's tls client and hostile variants; verdicts,
// counters, deny-map hits and every ring-buffer record must agree with the
// TypeScript ClientHello reader (tls-model.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runKobj } from '../examples/kobj.ts';
import { prepareBpkt, runBpkt } from './bpkt.ts';
import { checkTlsRun, denyMaps } from './tls-check.ts';
import { classifyTlsFrame, decodeEvent, fnv1a64, ja3String, parseTls, type TlsEvent } from './tls-model.ts';
import { prng } from './frames.ts';
import {
  buildHello,
  greaseHello,
  helloSpecs,
  mutatedHellos,
  type TlsTraffic,
  tlsTraffic,
} from './tls-traffic.ts';

const OBJECT = 'examples/tls/tls.bpf.o';
const skip = prepareBpkt();
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-tls-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let traffic: TlsTraffic;
before(async () => {
  traffic = await tlsTraffic();
});

test('model: FNV-1a 64 test vectors and the JA3 string of a GREASE-ing hello', () => {
  assert.equal(fnv1a64(''), 0xcbf29ce484222325n);
  assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
  const o = parseTls(buildHello(greaseHello));
  assert.equal(o.kind, 'parsed');
  if (o.kind !== 'parsed') return;
  // 0x2a2a, 0xaaaa, 0x8a8a, 0xfafa are GREASE; 0x3a3a inside supported_versions is not looked at
  assert.equal(ja3String(o.hello), '771,4865-4866-4867-49195,0-10-11-16-43,29-23-24,0');
  assert.equal(o.hello.sni, 'synthetic.example');
  assert.equal(Buffer.from(o.hello.alpn).toString('latin1'), '\x02h2\x08http/1.1');
});

test('traffic: Node wrote the ClientHellos, and the model reads back what Node was asked for', () => {
  helloSpecs.forEach((spec, i) => {
    const o = parseTls(traffic.hellos[i]!);
    assert.equal(o.kind, 'parsed', `hello ${i}`);
    if (o.kind !== 'parsed') return;
    assert.equal(o.hello.sni, (spec.servername ?? '').toLowerCase());
    const alpn = (spec.alpn ?? []).map((p) => String.fromCharCode(p.length) + p).join('');
    assert.equal(Buffer.from(o.hello.alpn).toString('latin1'), alpn.slice(0, 64));
    assert.equal(o.hello.version, 0x0303); // TLS 1.3 clients still say 1.2 here
  });
  const kinds = new Set(
    traffic.frames.map((f) => {
      const o = classifyTlsFrame(f);
      return o.kind === 'malformed' ? `malformed:${o.why}` : o.kind;
    }),
  );
  for (const k of [
    'parsed',
    'notTcp',
    'noPayload',
    'notTls',
    'otherHandshake',
    'truncated',
    'malformed:length',
    'malformed:field',
    'malformed:sni',
    'malformed:sniOversize',
    'malformed:tooManyExts',
    'malformed:dupSni',
  ]) {
    assert.ok(kinds.has(k), `no ${k} frame`);
  }
});

test('kernel: tls.bpf.o is accepted', { skip }, () => {
  const r = runKobj(['--all', OBJECT]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(
    r.programs.map((p) => [p.program, p.verdict]),
    [['tls_parse', 'accept']],
  );
});

test('kernel: verdicts, counters, deny hits and ring-buffer records agree with the model', { skip }, () => {
  const run = runBpkt(OBJECT, 'tls_parse', traffic.frames, tmp, { maps: denyMaps() });
  checkTlsRun(run, traffic.frames, 'kernel');
  // Spot checks that do not go through the model's own record builder.
  const byPort = (port: number): TlsEvent => decodeEvent(run.records.get(port - 50000)![0]!);
  assert.equal(byPort(50000).sni, 'example.com');
  assert.equal(byPort(50000).alpn, Buffer.from('\x02h2\x08http/1.1', 'latin1').toString('hex'));
  assert.equal(byPort(50001).blocked, true);
  assert.equal(byPort(50002).sni, 'evil.example');
  assert.equal(byPort(50002).blocked, true);
  assert.equal(byPort(50006).sni, '');
  assert.equal(byPort(50000).daddr, '0a000064');
});

test('kernel: 5,000 more mutated ClientHellos agree with the model', { skip }, () => {
  const frames = mutatedHellos(traffic.hellos, 5000, prng(2026));
  checkTlsRun(runBpkt(OBJECT, 'tls_parse', frames, tmp, { maps: denyMaps() }), frames, 'kernel');
});
