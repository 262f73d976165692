// Builds test packets (Ethernet II / 802.1Q, IPv4, IPv6, TCP, UDP, ICMP) with correct
// checksums, for running the example programs on known input.
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function be16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

// RFC 1071 one's complement sum, folded, not inverted.
export function onesSum(bytes: Uint8Array, start = 0): number {
  let sum = start;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function checksum(bytes: Uint8Array, start = 0): number {
  return ~onesSum(bytes, start) & 0xffff;
}

export function ipv4Addr(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

export function ethernet(etherType: number, payload: Uint8Array, vlans: number[] = []): Uint8Array {
  const macs = Uint8Array.of(2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2);
  const tags = vlans.map((vid) => concat(be16(ETH_P_8021Q), be16(vid)));
  // With tags, each tag's TPID replaces the EtherType and the real one comes last.
  return concat(macs, ...tags, be16(etherType), payload);
}

export interface Ipv4Options {
  src?: string;
  dst?: string;
  ttl?: number;
  tos?: number;
  fragOff?: number; // in 8-byte units
}

export function ipv4(protocol: number, payload: Uint8Array, o: Ipv4Options = {}): Uint8Array {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  h[0] = 0x45;
  h[1] = o.tos ?? 0;
  dv.setUint16(2, 20 + payload.length);
  dv.setUint16(4, 1);
  dv.setUint16(6, o.fragOff ?? 0);
  h[8] = o.ttl ?? 64;
  h[9] = protocol;
  h.set(ipv4Addr(o.src ?? '192.168.1.7'), 12);
  h.set(ipv4Addr(o.dst ?? '10.0.0.100'), 16);
  dv.setUint16(10, checksum(h));
  return concat(h, payload);
}

export function ipv6(nextHeader: number, payload: Uint8Array, hopLimit = 64): Uint8Array {
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  h[0] = 0x60;
  dv.setUint16(4, payload.length);
  h[6] = nextHeader;
  h[7] = hopLimit;
  h[8] = 0xfe;
  h[9] = 0x80;
  h[23] = 1;
  h[24] = 0xfe;
  h[25] = 0x80;
  h[39] = 2;
  return concat(h, payload);
}

// L4 checksum over the IPv4 pseudo-header.
function l4Checksum(src: string, dst: string, protocol: number, segment: Uint8Array): number {
  const pseudo = concat(ipv4Addr(src), ipv4Addr(dst), Uint8Array.of(0, protocol), be16(segment.length));
  return checksum(concat(pseudo, segment));
}

export function udp(sport: number, dport: number, data: Uint8Array, ip: Ipv4Options = {}): Uint8Array {
  const seg = concat(be16(sport), be16(dport), be16(8 + data.length), be16(0), data);
  new DataView(seg.buffer).setUint16(6, l4Checksum(ip.src ?? '192.168.1.7', ip.dst ?? '10.0.0.100', 17, seg));
  return seg;
}

export function tcp(
  sport: number,
  dport: number,
  flags: number,
  options = new Uint8Array(0),
  ip: Ipv4Options = {},
) {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, 1);
  h[12] = ((20 + options.length) / 4) << 4;
  h[13] = flags;
  dv.setUint16(14, 65535);
  const seg = concat(h, options);
  new DataView(seg.buffer).setUint16(16, l4Checksum(ip.src ?? '192.168.1.7', ip.dst ?? '10.0.0.100', 6, seg));
  return seg;
}

export function udp4Packet(dport: number, data = new TextEncoder().encode('abcd'), ip: Ipv4Options = {}) {
  return ethernet(ETH_P_IP, ipv4(17, udp(1234, dport, data, ip), ip));
}
