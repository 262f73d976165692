// Checks one run of the TLS example (kernel through bpkt, or tsbpf) against the
// TypeScript model: verdicts, counters, deny-map hits, every ring-buffer record.
import assert from 'node:assert/strict';
import { leHex } from '../examples/kobj.ts';
import { type BpktRun, counters, leValue, paddedKey } from './bpkt.ts';
import { decodeEvent, expectedEvent, SNI_MAX, Stat, tlsTotals } from './tls-model.ts';
import { denied } from './tls-traffic.ts';

export function denyMaps(): [string, string, string][] {
  return [...denied].map((sni) => ['sni_deny', paddedKey(sni, SNI_MAX + 1), leHex(0, 8)]);
}

export function checkTlsRun(run: BpktRun, frames: Uint8Array[], who: string): void {
  const want = tlsTotals(frames, denied);
  assert.equal(run.retvals.length, frames.length, `${who}: frames run`);
  const first = run.retvals.findIndex((v, i) => v !== want.verdicts[i]);
  assert.equal(first, -1, `frame ${first}: ${who} ${run.retvals[first]}, model ${want.verdicts[first]}`);
  assert.deepEqual(counters(run, 'tls_stats'), want.stats, `${who}: tls_stats`);
  assert.deepEqual(counters(run, 'malformed_why'), want.why, `${who}: malformed_why`);
  const hits = new Map<string, bigint>();
  for (const [k, v] of run.maps.get('sni_deny') ?? []) {
    hits.set(Buffer.from(k, 'hex').toString('latin1').replace(/\0+$/, ''), leValue(v));
  }
  assert.deepEqual(hits, want.denyHits, `${who}: sni_deny hits`);
  let published = 0;
  frames.forEach((f, i) => {
    const wantEvent = expectedEvent(f, denied);
    const got = (run.records.get(i) ?? []).map(decodeEvent);
    assert.deepEqual(got, wantEvent ? [wantEvent] : [], `${who}: frame ${i} records`);
    if (wantEvent) published++;
  });
  assert.equal(BigInt(published), want.stats.get(Stat.parsed), `${who}: records published`);
}
