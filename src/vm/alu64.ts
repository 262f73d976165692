// 64-bit operations on registers held as two signed 32-bit halves (lo, hi).
// Each function updates lo[d]/hi[d] in place with operand (bLo, bHi), so nothing allocates.
// Division with wide operands falls back to BigInt: rare, and exactness matters more there.

/** High 32 bits of the unsigned 64-bit product of two u32 values. */
export function mulHiU32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  // Sum of the middle terms and the carry out of the low half; all exact in doubles.
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + Math.floor(mid / 65536)) | 0;
}

export function mul64(lo: Int32Array, hi: Int32Array, d: number, bLo: number, bHi: number): void {
  const aLo = lo[d]!;
  const aHi = hi[d]!;
  lo[d] = Math.imul(aLo, bLo);
  hi[d] = (mulHiU32(aLo, bLo) + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) | 0;
}

export function lsh64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const a = lo[d]!;
  if (n < 32) {
    hi[d] = (hi[d]! << n) | (a >>> (32 - n));
    lo[d] = a << n;
  } else {
    hi[d] = a << (n - 32);
    lo[d] = 0;
  }
}

export function rsh64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const h = hi[d]!;
  if (n < 32) {
    lo[d] = (lo[d]! >>> n) | (h << (32 - n));
    hi[d] = h >>> n;
  } else {
    lo[d] = h >>> (n - 32);
    hi[d] = 0;
  }
}

export function arsh64(lo: Int32Array, hi: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const h = hi[d]!;
  if (n < 32) {
    lo[d] = (lo[d]! >>> n) | (h << (32 - n));
    hi[d] = h >> n;
  } else {
    lo[d] = h >> (n - 32);
    hi[d] = h >> 31;
  }
}

function toBig(l: number, h: number): bigint {
  return (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
}

function fromBig(lo: Int32Array, hi: Int32Array, d: number, v: bigint): void {
  lo[d] = Number(BigInt.asIntN(32, v));
  hi[d] = Number(BigInt.asIntN(32, v >> 32n));
}

/** Unsigned 64-bit division; x / 0 = 0. */
export function udiv64(lo: Int32Array, hi: Int32Array, d: number, bLo: number, bHi: number): void {
  if (bLo === 0 && bHi === 0) {
    lo[d] = 0;
    hi[d] = 0;
  } else if (hi[d] === 0 && bHi === 0) {
    lo[d] = Math.floor((lo[d]! >>> 0) / (bLo >>> 0)) | 0;
  } else {
    fromBig(lo, hi, d, toBig(lo[d]!, hi[d]!) / toBig(bLo, bHi));
  }
}

/** Unsigned 64-bit modulo; x % 0 = x. */
export function umod64(lo: Int32Array, hi: Int32Array, d: number, bLo: number, bHi: number): void {
  if (bLo === 0 && bHi === 0) return;
  if (hi[d] === 0 && bHi === 0) {
    lo[d] = ((lo[d]! >>> 0) % (bLo >>> 0)) | 0;
  } else {
    fromBig(lo, hi, d, toBig(lo[d]!, hi[d]!) % toBig(bLo, bHi));
  }
}

/** Signed 64-bit division (cpu v4 sdiv); x / 0 = 0, LLONG_MIN / -1 = LLONG_MIN. */
export function sdiv64(lo: Int32Array, hi: Int32Array, d: number, bLo: number, bHi: number): void {
  const aLo = lo[d]!;
  const aHi = hi[d]!;
  if (bLo === 0 && bHi === 0) {
    lo[d] = 0;
    hi[d] = 0;
  } else if (aHi === aLo >> 31 && bHi === bLo >> 31) {
    // Both fit in int32: the quotient is exact in doubles (|q| <= 2^31).
    const q = Math.trunc(aLo / bLo);
    lo[d] = q | 0;
    hi[d] = q < 0 ? -1 : 0;
  } else if (bLo === -1 && bHi === -1) {
    // -x mod 2^64, which maps LLONG_MIN to itself.
    lo[d] = -aLo | 0;
    hi[d] = (~aHi + (aLo === 0 ? 1 : 0)) | 0;
  } else {
    const a = BigInt.asIntN(64, toBig(aLo, aHi));
    const b = BigInt.asIntN(64, toBig(bLo, bHi));
    fromBig(lo, hi, d, a / b);
  }
}

/** Signed 64-bit modulo (cpu v4 smod); x % 0 = x, LLONG_MIN % -1 = 0. Sign follows the dividend. */
export function smod64(lo: Int32Array, hi: Int32Array, d: number, bLo: number, bHi: number): void {
  const aLo = lo[d]!;
  const aHi = hi[d]!;
  if (bLo === 0 && bHi === 0) return;
  if (bLo === -1 && bHi === -1) {
    lo[d] = 0;
    hi[d] = 0;
  } else if (aHi === aLo >> 31 && bHi === bLo >> 31) {
    const r = aLo % bLo;
    lo[d] = r | 0;
    hi[d] = r < 0 ? -1 : 0;
  } else {
    const a = BigInt.asIntN(64, toBig(aLo, aHi));
    const b = BigInt.asIntN(64, toBig(bLo, bHi));
    fromBig(lo, hi, d, a % b);
  }
}

/** Signed 32-bit division: result zero-extended; INT_MIN / -1 = INT_MIN; x / 0 = 0. */
export function sdiv32(a: number, b: number): number {
  if (b === 0) return 0;
  if (b === -1) return -a | 0;
  return Math.trunc(a / b) | 0;
}

/** Signed 32-bit modulo: x % 0 = x; INT_MIN % -1 = 0. */
export function smod32(a: number, b: number): number {
  if (b === 0) return a;
  if (b === -1) return 0;
  return (a % b) | 0;
}

export function bswap16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

export function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}
