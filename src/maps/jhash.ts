// Bob Jenkins' lookup3 hash as the kernel's <linux/jhash.h> computes it (jhash, jhash2), so a
// bloom filter created with BPF_F_ZERO_SEED sets the same bits as the kernel's.
const JHASH_INITVAL = 0xdeadbeef;

const rol = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

interface Abc {
  a: number;
  b: number;
  c: number;
}

// kernel: __jhash_mix()
function mix(s: Abc): void {
  let { a, b, c } = s;
  a = (a - c) >>> 0;
  a = (a ^ rol(c, 4)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol(a, 6)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol(b, 8)) >>> 0;
  b = (b + a) >>> 0;
  a = (a - c) >>> 0;
  a = (a ^ rol(c, 16)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol(a, 19)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol(b, 4)) >>> 0;
  b = (b + a) >>> 0;
  s.a = a;
  s.b = b;
  s.c = c;
}

// kernel: __jhash_final()
function final(s: Abc): void {
  let { a, b, c } = s;
  c = (c ^ b) >>> 0;
  c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol(b, 24)) >>> 0;
  s.a = a;
  s.b = b;
  s.c = c;
}

/** kernel: jhash(key, length, initval) over bytes. */
export function jhash(k: Uint8Array, initval: number): number {
  let len = k.length;
  const v = (JHASH_INITVAL + len + initval) >>> 0;
  const s: Abc = { a: v, b: v, c: v };
  let p = 0;
  const u32 = (o: number): number => (k[o]! | (k[o + 1]! << 8) | (k[o + 2]! << 16) | (k[o + 3]! << 24)) >>> 0;
  while (len > 12) {
    s.a = (s.a + u32(p)) >>> 0;
    s.b = (s.b + u32(p + 4)) >>> 0;
    s.c = (s.c + u32(p + 8)) >>> 0;
    mix(s);
    len -= 12;
    p += 12;
  }
  if (len === 0) return s.c;
  // The last 1..12 bytes, little-endian into a, b, c.
  const add = [0, 0, 0];
  for (let i = 0; i < len; i++) add[i >> 2]! += k[p + i]! * 2 ** (8 * (i & 3));
  s.a = (s.a + add[0]!) >>> 0;
  s.b = (s.b + add[1]!) >>> 0;
  s.c = (s.c + add[2]!) >>> 0;
  final(s);
  return s.c;
}

/** kernel: jhash2(words, length, initval) over u32 words (little-endian bytes here). */
export function jhash2(k: Uint8Array, initval: number): number {
  let len = k.length >> 2;
  const v = (JHASH_INITVAL + (len << 2) + initval) >>> 0;
  const s: Abc = { a: v, b: v, c: v };
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  let p = 0;
  while (len > 3) {
    s.a = (s.a + dv.getUint32(p, true)) >>> 0;
    s.b = (s.b + dv.getUint32(p + 4, true)) >>> 0;
    s.c = (s.c + dv.getUint32(p + 8, true)) >>> 0;
    mix(s);
    len -= 3;
    p += 12;
  }
  if (len === 0) return s.c;
  if (len >= 3) s.c = (s.c + dv.getUint32(p + 8, true)) >>> 0;
  if (len >= 2) s.b = (s.b + dv.getUint32(p + 4, true)) >>> 0;
  s.a = (s.a + dv.getUint32(p, true)) >>> 0;
  final(s);
  return s.c;
}
