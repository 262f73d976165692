// The packet every engine of the comparative suite gets (bench/compare.ts, suite.test.ts).
import { ETH_HLEN } from '../../src/vm/ctx-layout.ts';

/** Offset of the UDP payload (after Ethernet, a 20-byte IPv4 header and UDP): algo.h PAYLOAD_OFF. */
export const PAYLOAD_OFF = 42;

/** Ethernet + IPv4 + UDP headers and a seeded pseudo-random payload: 1500 bytes. */
export function makePacket(): Uint8Array {
  const p = new Uint8Array(1500);
  p.set([0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  const ipLen = p.length - ETH_HLEN;
  p.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const udpLen = ipLen - 20;
  p.set([0x30, 0x39, 0x00, 0x35, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
  let x = 0x2545f491;
  for (let i = 42; i < p.length; i++) {
    // xorshift32: any fixed bytes will do; the same file feeds every engine.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = x & 0xff;
  }
  return p;
}
