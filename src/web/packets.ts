// Example packets for the run panel, and the hex the packet editor and maps panel use.

function ipv4Checksum(h: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < h.length; i += 2) s += (h[i]! << 8) | h[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const MAC = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];

function ipv4(proto: number, l4: number[], src = [10, 0, 0, 1], dst = [10, 0, 0, 2]): number[] {
  const total = 20 + l4.length;
  const h = new Uint8Array([
    0x45,
    0,
    total >> 8,
    total & 255,
    0,
    1,
    0x40,
    0,
    64,
    proto,
    0,
    0,
    ...src,
    ...dst,
  ]);
  const c = ipv4Checksum(h);
  h[10] = c >> 8;
  h[11] = c & 255;
  return [...MAC, 0x08, 0x00, ...h, ...l4];
}

const udp = (sport: number, dport: number, payload: number[]): number[] => {
  const len = 8 + payload.length;
  return [sport >> 8, sport & 255, dport >> 8, dport & 255, len >> 8, len & 255, 0, 0, ...payload];
};

const tcpSyn = (sport: number, dport: number): number[] => [
  sport >> 8,
  sport & 255,
  dport >> 8,
  dport & 255,
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  0,
  0x50,
  0x02,
  0xff,
  0xff,
  0,
  0,
  0,
  0,
];

const dnsQuery = [
  0x12,
  0x34,
  1,
  0,
  0,
  1,
  0,
  0,
  0,
  0,
  0,
  0,
  7,
  ...'example'.split('').map((c) => c.charCodeAt(0)),
  3,
  0x63,
  0x6f,
  0x6d,
  0,
  0,
  1,
  0,
  1,
];

export interface PacketExample {
  id: string;
  title: string;
  bytes: number[];
}

export const PACKETS: PacketExample[] = [
  { id: 'udp-dns', title: 'IPv4 UDP → port 53 (DNS query)', bytes: ipv4(17, udp(40000, 53, dnsQuery)) },
  { id: 'tcp-syn', title: 'IPv4 TCP SYN → port 80', bytes: ipv4(6, tcpSyn(40000, 80)) },
  { id: 'icmp-echo', title: 'IPv4 ICMP echo request', bytes: ipv4(1, [8, 0, 0xf7, 0xfe, 0, 1, 0, 1]) },
  {
    id: 'ipv6-udp',
    title: 'IPv6 UDP → port 53',
    bytes: [
      ...MAC,
      0x86,
      0xdd,
      0x60,
      0,
      0,
      0,
      0,
      16,
      17,
      64,
      ...[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
      ...[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
      ...udp(40000, 53, [1, 2, 3, 4, 5, 6, 7, 8]),
    ],
  },
  {
    id: 'arp',
    title: 'ARP request',
    bytes: [
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      ...MAC.slice(6),
      0x08,
      0x06,
      0,
      1,
      8,
      0,
      6,
      4,
      0,
      1,
      ...MAC.slice(6),
      10,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      10,
      0,
      0,
      2,
      ...new Array(18).fill(0),
    ],
  },
  { id: 'short', title: 'truncated (10 bytes)', bytes: MAC.slice(0, 10) },
];

export const toHex = (b: ArrayLike<number>): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0'))
    .join(' ')
    .replace(/((?:\S+ ){16})/g, '$1\n')
    .trim();

/** Hex digits with any spacing / newlines / 0x prefixes → bytes; throws on anything else. */
export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  if (!/^[0-9a-f]*$/i.test(clean)) throw new Error('hex: only 0-9, a-f and spaces are allowed');
  if (clean.length % 2) throw new Error('hex: an odd number of digits');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
