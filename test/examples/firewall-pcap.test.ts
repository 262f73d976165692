// 10,000 generated packets through the xdp-firewall example in the kernel (kpkt,
// blocklists loaded first): every verdict must match the model in
// firewall-traffic.ts, and the program's counters must add up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  blockedSources,
  firewallMapArgs,
  firewallTraffic,
  firewallVerdict,
  Verdict,
  verdictAction,
} from './firewall-traffic.ts';
import { prepareCTool, repoRoot } from './kobj.ts';
import { readPcap, writePcap } from './pcap.ts';

const { path: kpktPath, skip } = prepareCTool('kpkt');
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-fw-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the traffic is deterministic, round-trips through pcap, and covers every verdict', () => {
  const a = firewallTraffic(10000);
  const b = firewallTraffic(10000);
  assert.deepEqual(a, b);
  assert.deepEqual(readPcap(writePcap(a)), a);
  const per = new Map<Verdict, number>();
  for (const p of a) per.set(firewallVerdict(p), (per.get(firewallVerdict(p)) ?? 0) + 1);
  for (const v of Object.values(Verdict)) assert.ok((per.get(v) ?? 0) > 100, `verdict ${v}: ${per.get(v)}`);
});

test('kernel: 10,000 packets through xdp_firewall agree with the model', { skip }, () => {
  const packets = firewallTraffic(10000);
  const pcap = join(tmp, 'traffic.pcap');
  writeFileSync(pcap, writePcap(packets));
  const r = spawnSync(
    kpktPath,
    [...firewallMapArgs(), join(repoRoot, 'examples/xdp-firewall/xdp_firewall.bpf.o'), 'xdp_firewall', pcap],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const retvals = lines.filter((l) => l.startsWith('pkt ')).map((l) => Number(l.split(' ')[3]));
  assert.equal(retvals.length, packets.length);
  const want = packets.map((p) => verdictAction(firewallVerdict(p)));
  const firstDiff = retvals.findIndex((v, i) => v !== want[i]);
  assert.equal(firstDiff, -1, `packet ${firstDiff}: kernel ${retvals[firstDiff]}, model ${want[firstDiff]}`);

  // verdicts[slot] summed over CPUs = how often the model chose that slot
  const counts = new Map<number, bigint>();
  const hits = new Map<string, bigint>();
  for (const l of lines) {
    const m = /^map (\w+)\[([0-9a-f]+)\]: (.*)$/.exec(l);
    if (!m) continue;
    const le = (h: string) => BigInt(`0x${(h.match(/../g) ?? []).reverse().join('')}`);
    const sum = m[3]!.split(' ').reduce((s, v) => s + le(v), 0n);
    if (m[1] === 'verdicts') counts.set(Number(le(m[2]!)), sum);
    if (m[1] === 'blocked_src')
      hits.set((m[2]!.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)).join('.'), sum);
  }
  for (const v of Object.values(Verdict)) {
    const n = packets.filter((p) => firewallVerdict(p) === v).length;
    assert.equal(counts.get(v) ?? 0n, BigInt(n), `verdict slot ${v}`);
  }
  // per-source drop counts in the blocklist's values
  for (const s of blockedSources) {
    const n = packets.filter(
      (p) => firewallVerdict(p) === Verdict.DropSrc && Array.from(p.subarray(26, 30)).join('.') === s,
    ).length;
    assert.equal(hits.get(s) ?? 0n, BigInt(n), `drops for ${s}`);
  }
});
