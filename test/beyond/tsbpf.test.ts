// The same traffic through tsbpf's own runtime (src/elf + src/runtime,
// runPacketStream over the frames): the model's checks apply unchanged, and
// where the kernel is available, tsbpf and the kernel must agree frame by frame,
// record by record and map by map.  Then tsbpf's verifier on both objects.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';
import { leHex, repoRoot } from '../examples/kobj.ts';
import { type BpktRun, prepareBpkt, runBpkt } from './bpkt.ts';
import { checkHttpRun, ruleMaps } from './http-check.ts';
import { type HttpTraffic, httpTraffic } from './http-traffic.ts';
import { checkTlsRun, denyMaps } from './tls-check.ts';
import { type TlsTraffic, tlsTraffic } from './tls-traffic.ts';
import { runTsbpf } from './tsbpf-run.ts';

const HTTP = 'examples/http/http.bpf.o';
const TLS = 'examples/tls/tls.bpf.o';
const kernelSkip = prepareBpkt();
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-beyond-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let http: HttpTraffic;
let tls: TlsTraffic;
before(async () => {
  http = await httpTraffic();
  tls = await tlsTraffic();
});

// Kernel and tsbpf runs side by side: maps tsbpf dumps (not the per-CPU scratch).
function sameRuns(kernel: BpktRun, ours: BpktRun): void {
  assert.deepEqual(ours.retvals, kernel.retvals, 'verdicts');
  assert.deepEqual(ours.records, kernel.records, 'ring-buffer records');
  for (const [name, entries] of ours.maps)
    assert.deepEqual(entries, kernel.maps.get(name) ?? new Map(), name);
}

test('tsbpf: HTTP frames and maps agree with the model', () => {
  checkHttpRun(runTsbpf(HTTP, 'http_parse', http.frames, { maps: ruleMaps() }), http.frames, 32, 'tsbpf');
});

test('tsbpf: HTTP with max_headers = 4 in .rodata', () => {
  const run = runTsbpf(HTTP, 'http_parse', http.frames, {
    maps: ruleMaps(),
    rodata: { max_headers: leHex(4, 4) },
  });
  checkHttpRun(run, http.frames, 4, 'tsbpf');
});

test('tsbpf: TLS verdicts, counters and ring-buffer records agree with the model', () => {
  checkTlsRun(runTsbpf(TLS, 'tls_parse', tls.frames, { maps: denyMaps() }), tls.frames, 'tsbpf');
});

test('tsbpf and the kernel agree on both examples', { skip: kernelSkip }, () => {
  sameRuns(
    runBpkt(HTTP, 'http_parse', http.frames, tmp, { maps: ruleMaps() }),
    runTsbpf(HTTP, 'http_parse', http.frames, { maps: ruleMaps() }),
  );
  sameRuns(
    runBpkt(TLS, 'tls_parse', tls.frames, tmp, { maps: denyMaps() }),
    runTsbpf(TLS, 'tls_parse', tls.frames, { maps: denyMaps() }),
  );
});

test('tsbpf JIT (WebAssembly) and interpreter agree on both examples', () => {
  for (const [object, prog, frames, maps] of [
    [HTTP, 'http_parse', http.frames, ruleMaps()],
    [TLS, 'tls_parse', tls.frames, denyMaps()],
  ] as const) {
    const jit = runTsbpf(object, prog, frames, { maps, engine: 'jit' });
    assert.deepEqual(jit, runTsbpf(object, prog, frames, { maps }), prog);
    assert.ok(jit.retvals.includes(1), `${prog}: some drops`);
  }
});

function tsbpfVerifies(object: string): void {
  const spec = loadCollectionSpec(readFileSync(join(repoRoot, object)), { file: object });
  newCollection(spec, { verify: true }).close(); // throws InputError('VERIFY') on a reject
}

test('tsbpf verifier accepts the HTTP example', () => {
  tsbpfVerifies(HTTP);
});

test('tsbpf verifier accepts the TLS example', () => {
  tsbpfVerifies(TLS);
});
