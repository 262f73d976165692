// Where a frame's TCP payload is, decoded independently of the BPF programs'
// C: Ethernet II -> IPv4 (IHL, first fragment only) | IPv6 (TCP right after
// the fixed header) -> TCP (data offset).
export interface TcpPayload {
  family: 4 | 6;
  saddr: Uint8Array; // 4 or 16 bytes
  daddr: Uint8Array;
  sport: number;
  dport: number;
  payload: Uint8Array; // may be empty
}

export function tcpPayloadOf(frame: Uint8Array): TcpPayload | undefined {
  if (frame.length < 14) return undefined;
  const type = (frame[12]! << 8) | frame[13]!;
  let l4: number;
  let family: 4 | 6;
  let saddr: Uint8Array;
  let daddr: Uint8Array;
  if (type === 0x0800) {
    if (frame.length < 34) return undefined;
    const ihl = (frame[14]! & 15) * 4;
    const fragOff = ((frame[20]! << 8) | frame[21]!) & 0x1fff;
    if (frame[14]! >> 4 !== 4 || ihl < 20 || frame[23] !== 6 || fragOff !== 0) return undefined;
    family = 4;
    saddr = frame.slice(26, 30);
    daddr = frame.slice(30, 34);
    l4 = 14 + ihl;
  } else if (type === 0x86dd) {
    if (frame.length < 54 || frame[20] !== 6) return undefined;
    family = 6;
    saddr = frame.slice(22, 38);
    daddr = frame.slice(38, 54);
    l4 = 54;
  } else {
    return undefined;
  }
  if (frame.length < l4 + 20) return undefined;
  const doff = (frame[l4 + 12]! >> 4) * 4;
  if (doff < 20) return undefined;
  const start = Math.min(l4 + doff, frame.length);
  return {
    family,
    saddr,
    daddr,
    sport: (frame[l4]! << 8) | frame[l4 + 1]!,
    dport: (frame[l4 + 2]! << 8) | frame[l4 + 3]!,
    payload: frame.slice(start),
  };
}
