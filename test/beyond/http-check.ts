// Checks one run of the HTTP example (kernel through bpkt, or tsbpf) against
// the TypeScript model: every verdict and every map.
import assert from 'node:assert/strict';
import { leHex } from '../examples/kobj.ts';
import { type BpktRun, counters, leValue, paddedKey } from './bpkt.ts';
import { classifyHttpFrame, httpTotals, PATH_MAX } from './http-model.ts';
import { pathRules } from './http-traffic.ts';

// path_rules entries: struct path_key { u32 prefixlen; u8 data[128]; } -> struct rule { u32 id, pad; u64 hits; }
export function ruleMaps(): [string, string, string][] {
  return [...pathRules].map(([prefix, id]) => [
    'path_rules',
    leHex(prefix.length * 8, 4) + paddedKey(prefix, PATH_MAX),
    leHex(id, 4) + leHex(0, 4) + leHex(0, 8),
  ]);
}

function latin1(hex: string): string {
  return Buffer.from(hex, 'hex').toString('latin1').replace(/\0+$/, '');
}

export function checkHttpRun(run: BpktRun, frames: Uint8Array[], maxHeaders: number, who: string): void {
  const want = httpTotals(frames, pathRules, maxHeaders);
  assert.equal(run.retvals.length, frames.length, `${who}: frames run`);
  const first = run.retvals.findIndex((v, i) => v !== want.verdicts[i]);
  const why = first < 0 ? '' : JSON.stringify(classifyHttpFrame(frames[first]!, maxHeaders));
  assert.equal(
    first,
    -1,
    `frame ${first}: ${who} ${run.retvals[first]}, model ${want.verdicts[first]} (${why})`,
  );
  assert.deepEqual(counters(run, 'http_stats'), want.stats, `${who}: http_stats`);
  assert.deepEqual(counters(run, 'malformed_why'), want.why, `${who}: malformed_why`);
  assert.deepEqual(counters(run, 'methods'), want.methods, `${who}: methods`);
  assert.deepEqual(counters(run, 'status_codes'), want.status, `${who}: status_codes`);
  const strMap = (name: string) =>
    new Map([...(run.maps.get(name) ?? [])].map(([k, v]) => [latin1(k), leValue(v)] as const));
  assert.deepEqual(strMap('hosts'), want.hosts, `${who}: hosts`);
  assert.deepEqual(strMap('prefixes'), want.prefixes, `${who}: prefixes`);
  const hits = new Map<number, bigint>();
  for (const v of run.maps.get('path_rules')?.values() ?? []) {
    const n = leValue(v.slice(16));
    if (n) hits.set(Number(leValue(v.slice(0, 8))), n);
  }
  assert.deepEqual(hits, want.ruleHits, `${who}: path rule hits`);
}
