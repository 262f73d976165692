// Ethernet/IPv4|IPv6/TCP frames carrying a payload, with correct checksums, for
// the HTTP and TLS examples.  Builds on test/examples/packets.ts (whose tcp()
// carries no data).
import {
  checksum,
  concat,
  ETH_P_IP,
  ETH_P_IPV6,
  ethernet,
  ipv4,
  ipv4Addr,
  ipv6,
} from '../examples/packets.ts';

export interface Flow {
  v6?: boolean;
  src?: string; // IPv4 only; IPv6 frames use packets.ts's fe80::1 -> fe80::2
  dst?: string;
  sport?: number;
  dport?: number;
}

export const IPV6_SRC = Uint8Array.of(0xfe, 0x80, ...new Array(13).fill(0), 1);
export const IPV6_DST = Uint8Array.of(0xfe, 0x80, ...new Array(13).fill(0), 2);
const PSH_ACK = 0x18;

function be16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

function tcpSegment(f: Flow, seq: number, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, f.sport ?? 40000);
  dv.setUint16(2, f.dport ?? 80);
  dv.setUint32(4, seq >>> 0);
  dv.setUint32(8, 1);
  h[12] = 5 << 4;
  h[13] = PSH_ACK;
  dv.setUint16(14, 65535);
  const seg = concat(h, payload);
  const pseudo = f.v6
    ? concat(IPV6_SRC, IPV6_DST, Uint8Array.of(0, 0), be16(seg.length), Uint8Array.of(0, 0, 0, 6))
    : concat(
        ipv4Addr(f.src ?? '192.168.1.7'),
        ipv4Addr(f.dst ?? '10.0.0.100'),
        Uint8Array.of(0, 6),
        be16(seg.length),
      );
  new DataView(seg.buffer).setUint16(16, checksum(concat(pseudo, seg)));
  return seg;
}

// One frame: payload in a single TCP segment.
export function tcpFrame(payload: Uint8Array, f: Flow = {}, seq = 1): Uint8Array {
  const seg = tcpSegment(f, seq, payload);
  return f.v6
    ? ethernet(ETH_P_IPV6, ipv6(6, seg))
    : ethernet(ETH_P_IP, ipv4(6, seg, { src: f.src ?? '192.168.1.7', dst: f.dst ?? '10.0.0.100' }));
}

// The payload cut into segments at the given byte offsets, sequence numbers
// following on, as a TCP sender splitting one write would send them.
export function segmented(payload: Uint8Array, cuts: number[], f: Flow = {}): Uint8Array[] {
  const bounds = [0, ...cuts, payload.length];
  const frames: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    frames.push(tcpFrame(payload.subarray(bounds[i], bounds[i + 1]), f, 1 + bounds[i]!));
  }
  return frames;
}

// Deterministic pseudo-random bytes (xorshift32), for noise and fuzzing.
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function ascii(s: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

// The same IPv4 frame with 4 bytes of IP options (NOPs) after the fixed header:
// IHL 6, total length and header checksum updated (TCP's checksum does not
// cover IP options).
export function withIpOptions(frame: Uint8Array): Uint8Array {
  const out = concat(frame.subarray(0, 34), Uint8Array.of(1, 1, 1, 1), frame.subarray(34));
  const dv = new DataView(out.buffer);
  out[14] = 0x46;
  dv.setUint16(16, dv.getUint16(16) + 4);
  dv.setUint16(24, 0);
  dv.setUint16(24, checksum(out.subarray(14, 38)));
  return out;
}
