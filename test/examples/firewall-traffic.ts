// Deterministic traffic for the xdp-firewall example, its blocklist configuration,
// and a model of what the firewall must decide for each packet (written from the
// program's stated rules, not from its output).  Used by the kernel test here and
// meant for tsbpf's own 10,000-packet pcap test.
import {
  concat,
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  ethernet,
  ipv4,
  ipv4Addr,
  ipv6,
  tcp,
  udp,
} from './packets.ts';
import { mulberry32Float } from '../../src/prng.ts';

// The firewall's verdict slots (index into its "verdicts" per-CPU array).
export const Verdict = { Pass: 0, DropSrc: 1, DropPort: 2, DropMalformed: 3, PassNonIpv4: 4 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export const XDP_DROP = 1;
export const XDP_PASS = 2;

export const blockedSources = ['10.1.0.3', '10.1.0.17', '10.1.0.18', '10.1.0.40', '10.1.0.63'];
export const blockedPorts = [23, 445, 3389];
const ports = [22, 23, 53, 80, 443, 445, 3389, 8080];

// mulberry32: small, seedable, good enough to mix traffic.

export function firewallTraffic(count = 10000, seed = 0x5eed): Uint8Array[] {
  const rnd = mulberry32Float(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const src = `10.1.0.${Math.floor(rnd() * 64)}`;
    const ip = { src, dst: '10.2.0.1' };
    const dport = rnd() < 0.8 ? pick(ports) : 1024 + Math.floor(rnd() * 64000);
    const sport = 1024 + Math.floor(rnd() * 60000);
    const kind = rnd();
    let p: Uint8Array;
    if (kind < 0.35) p = ethernet(ETH_P_IP, ipv4(6, tcp(sport, dport, 0x02, new Uint8Array(0), ip), ip));
    else if (kind < 0.6) p = ethernet(ETH_P_IP, ipv4(17, udp(sport, dport, new Uint8Array(8), ip), ip));
    else if (kind < 0.65) p = ethernet(ETH_P_IP, ipv4(1, new Uint8Array(16), ip));
    else if (kind < 0.7) {
      // IPv4 with 4 bytes of options (IHL 6) before a UDP header
      const seg = udp(sport, dport, new Uint8Array(4), ip);
      const h = ipv4(17, concat(new Uint8Array(4), seg), ip);
      h[0] = 0x46;
      p = ethernet(ETH_P_IP, h);
    } else if (kind < 0.73)
      p = ethernet(
        ETH_P_IP,
        ipv4(17, udp(sport, dport, new Uint8Array(8), ip), { ...ip, fragOff: 1 + Math.floor(rnd() * 100) }),
      );
    else if (kind < 0.75)
      p = ethernet(
        ETH_P_IP,
        ipv4(6, tcp(sport, dport, 0x10, new Uint8Array(0), ip), { ...ip, fragOff: 0x2000 }),
      ); // MF only: first fragment
    else if (kind < 0.83) p = ethernet(ETH_P_IPV6, ipv6(17, udp(sport, dport, new Uint8Array(8))));
    else if (kind < 0.87) p = ethernet(ETH_P_ARP, new Uint8Array(28));
    else if (kind < 0.9)
      p = ethernet(ETH_P_IP, ipv4(17, udp(sport, dport, new Uint8Array(8), ip), ip), [7]); // VLAN
    else if (kind < 0.94)
      p = ethernet(ETH_P_IP, ipv4(6, tcp(sport, dport, 0x02, new Uint8Array(0), ip), ip)).subarray(
        0,
        14 + 20 + 1 + Math.floor(rnd() * 19),
      );
    else if (kind < 0.97) p = ethernet(ETH_P_IP, new Uint8Array(Math.floor(rnd() * 20)));
    else {
      const h = ipv4(6, tcp(sport, dport, 0x02, new Uint8Array(0), ip), ip);
      h[0] = 0x40 | Math.floor(rnd() * 5); // IHL below 5: malformed
      p = ethernet(ETH_P_IP, h);
    }
    packets.push(p);
  }
  return packets;
}

// What xdp_firewall decides, from its rules: non-IPv4 passes; a short or IHL < 5
// IPv4 header is malformed; a blocked source drops; a non-first fragment passes;
// TCP/UDP need their whole header, then a blocked destination port drops.
export function firewallVerdict(p: Uint8Array): Verdict {
  if (p.length < 14) return Verdict.DropMalformed;
  if (((p[12]! << 8) | p[13]!) !== ETH_P_IP) return Verdict.PassNonIpv4;
  if (p.length < 34 || (p[14]! & 0xf) < 5) return Verdict.DropMalformed;
  const src = Array.from(p.subarray(26, 30)).join('.');
  if (blockedSources.includes(src)) return Verdict.DropSrc;
  if (((p[20]! << 8) | p[21]!) & 0x1fff) return Verdict.Pass;
  const l4 = 14 + (p[14]! & 0xf) * 4;
  const proto = p[23];
  let need: number;
  if (proto === 6) need = 20;
  else if (proto === 17) need = 8;
  else return Verdict.Pass;
  if (l4 + need > p.length) return Verdict.DropMalformed;
  const dport = (p[l4 + 2]! << 8) | p[l4 + 3]!;
  return blockedPorts.includes(dport) ? Verdict.DropPort : Verdict.Pass;
}

export function verdictAction(v: Verdict): number {
  return v === Verdict.Pass || v === Verdict.PassNonIpv4 ? XDP_PASS : XDP_DROP;
}

// kpkt --map arguments that load the blocklists.
export function firewallMapArgs(): string[] {
  const args: string[] = [];
  for (const s of blockedSources) {
    const key = Array.from(ipv4Addr(s), (b) => b.toString(16).padStart(2, '0')).join('');
    args.push('--map', 'blocked_src', key, '0000000000000000');
  }
  for (const port of blockedPorts) {
    const key = [port & 0xff, port >> 8, 0, 0].map((b) => b.toString(16).padStart(2, '0')).join('');
    args.push('--map', 'blocked_port', key, '01');
  }
  return args;
}
