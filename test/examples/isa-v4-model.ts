// A BigInt model of examples/isa-v4/isa_v4.bpf.c: the 40 results the program stores
// for a given packet, computed from the C semantics its source states (u32/u64
// wrap-around, C's truncating signed division, sign extension, byte swaps, the atomic
// sequence on a map value).  Used against the kernel here and reusable for tsbpf's
// interpreter and JIT.
export const M64 = (1n << 64n) - 1n;
export const M32 = (1n << 32n) - 1n;
export const u64 = (v: bigint) => BigInt.asUintN(64, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);
const s = (bits: number, v: bigint) => BigInt.asIntN(bits, v);
export const le = (p: Uint8Array, off: number, size: number) => {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(p[off + i]!);
  return v;
};
const bswap = (v: bigint, bytes: number) => {
  let r = 0n;
  for (let i = 0; i < bytes; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
};
// C's truncating division and remainder on signed values (BigInt / truncates too).
const sdiv = (x: bigint, y: bigint) => x / y;
const smod = (x: bigint, y: bigint) => x % y;

export function model(p: Uint8Array): bigint[] {
  const a = le(p, 0, 8);
  const b = le(p, 8, 8);
  const c = le(p, 16, 4);
  const d = le(p, 20, 4);
  const r: bigint[] = [];
  r[0] = u32(c * d);
  const dd = d | 1n;
  r[1] = c / dd;
  r[2] = c % dd;
  r[3] = c >> (d & 31n);
  r[4] = u32(s(32, c) >> (d & 31n));
  r[5] = u32(c + d - (c ^ d));
  r[6] = u32(-c);
  let sb = s(64, b | 1n);
  if (sb === -1n) sb = 3n;
  r[7] = u64(sdiv(s(64, a), sb));
  r[8] = u64(smod(s(64, a), sb));
  let sd = s(32, d | 1n);
  if (sd === -1n) sd = 3n;
  r[9] = u32(sdiv(s(32, c), sd));
  r[10] = u32(smod(s(32, c), sd));
  r[11] = u64(s(8, le(p, 24, 1)));
  r[12] = u64(s(16, le(p, 26, 2)));
  r[13] = u64(s(32, le(p, 28, 4)));
  r[14] = u64(s(8, a));
  r[15] = u64(s(16, a));
  r[16] = u64(s(32, a));
  r[17] = u32(s(8, c));
  r[18] = u32(s(16, c));
  r[19] = bswap(a & 0xffffn, 2);
  r[20] = bswap(a & M32, 4);
  r[21] = bswap(a, 8);
  const [sc, sdd] = [s(32, c), s(32, d)];
  const conds = [c === d, c !== d, c > d, c >= d, c < d, c <= d, sc > sdd, sc >= sdd, sc < sdd, sc <= sdd];
  conds.push((c & d) !== 0n, sc < 0n);
  r[22] = conds.reduce((m, t, i) => (t ? m | (1n << BigInt(i)) : m), 0n);
  const [sa, sbb] = [s(64, a), s(64, b)];
  r[23] = (sa < sbb ? 1n : 0n) | (sa > sbb ? 2n : 0n) | (a < b ? 4n : 0n);
  let x = a;
  const step64 = (next: bigint) => {
    const old = x;
    x = u64(next);
    return old;
  };
  r[24] = step64(x + b);
  r[25] = step64(x | (c << 32n));
  r[26] = step64(x & (~d & M64));
  r[27] = step64(x ^ 0xff00ff00ff00ff00n);
  r[28] = step64(b);
  r[29] = step64(x === b ? a : x); // cmpxchg(b -> a)
  r[30] = step64(x === (~a & M64) ? 7n : x); // cmpxchg(~a -> 7): never equal
  x = u64(x + 1n);
  r[31] = x;
  let y = c;
  const step32 = (next: bigint) => {
    const old = y;
    y = u32(next);
    return old;
  };
  r[32] = step32(y + d);
  r[33] = step32(y | 0x80000001n);
  r[34] = step32(y & d);
  r[35] = step32(y ^ c);
  r[36] = step32(d);
  r[37] = step32(y === d ? c : y);
  r[38] = y;
  r[39] = 40n;
  return r;
}
