// The issue's own path: the generated HTTP and TLS traffic written to pcap files and run through
// the `tsbpf attach` command. Its per-action counts must equal the verdicts of the in-process
// runs, which tsbpf.test.ts checks against the independent TypeScript parsers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { writePcap } from '../examples/pcap.ts';
import { ruleMaps } from './http-check.ts';
import { type HttpTraffic, httpTraffic } from './http-traffic.ts';
import { denyMaps } from './tls-check.ts';
import { type TlsTraffic, tlsTraffic } from './tls-traffic.ts';
import { runTsbpf } from './tsbpf-run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-beyond-attach-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let http: HttpTraffic;
let tls: TlsTraffic;
before(async () => {
  http = await httpTraffic();
  tls = await tlsTraffic();
});

const XDP_ACTIONS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];

function expectedCounts(retvals: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of retvals) {
    const name = XDP_ACTIONS[r] ?? `UNKNOWN(${r})`;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

async function attachJson(object: string, pcap: string, maps: [string, string, string][]) {
  const args = ['attach', object, '--pcap', pcap, '--json', '--no-verify'];
  for (const [name, k, v] of maps) args.push('--map-set', `${name}:${k}=${v}`);
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  assert.equal(code, 0, err);
  return JSON.parse(out) as { packets: number; actions: Record<string, number> };
}

for (const [name, object, prog, traffic, maps] of [
  ['HTTP', 'examples/http/http.bpf.o', 'http_parse', () => http.frames, ruleMaps],
  ['TLS', 'examples/tls/tls.bpf.o', 'tls_parse', () => tls.frames, denyMaps],
] as const) {
  test(`tsbpf attach over a pcap of the ${name} traffic counts what the runtime decided`, async () => {
    const frames = traffic();
    const pcap = join(tmp, `${prog}.pcap`);
    writeFileSync(pcap, writePcap(frames));
    const expected = expectedCounts(runTsbpf(object, prog, frames, { maps: maps() }).retvals);
    assert.ok((expected.XDP_DROP ?? 0) > 0 && (expected.XDP_PASS ?? 0) > 0, 'traffic has drops and passes');
    const report = await attachJson(object, pcap, maps());
    assert.equal(report.packets, frames.length);
    assert.deepEqual(report.actions, expected);
  });
}
