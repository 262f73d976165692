// 64-bit two's-complement arithmetic on 32-bit halves, without BigInt.
//
// Representation: an immutable `U64 = { lo, hi }` where both halves are uint32 numbers (0..2^32-1).
// The same bits read as u64 or s64 depending on the operation, exactly like a C `u64`/`s64` pair.
// Why objects and not BigInt: BigInt allocates and is slow on the verifier's hot path (every ALU
// and branch instruction runs several of these). Why immutable: values are shared freely between
// register states (copying a state copies references), so nothing may ever write into a U64.
// The few constants below are frozen singletons; everything else returns a fresh object.
// bigint conversions exist only for tests and API edges.

export interface U64 {
  readonly lo: number;
  readonly hi: number;
}

const TWO32 = 4294967296;

export function make(lo: number, hi: number): U64 {
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

export const ZERO: U64 = Object.freeze(make(0, 0));
export const ONE: U64 = Object.freeze(make(1, 0));
/** U64_MAX, also -1 as s64. */
export const MAX: U64 = Object.freeze(make(0xffffffff, 0xffffffff));
export const S64_MIN: U64 = Object.freeze(make(0, 0x80000000));
export const S64_MAX: U64 = Object.freeze(make(0xffffffff, 0x7fffffff));
export const U32_MAX: U64 = Object.freeze(make(0xffffffff, 0));
export const S32_MIN: U64 = Object.freeze(make(0x80000000, 0xffffffff)); // (s64)S32_MIN
export const S32_MAX: U64 = Object.freeze(make(0x7fffffff, 0));

/** Zero-extends a u32 (any number; its low 32 bits are used). */
export function fromU32(n: number): U64 {
  return make(n, 0);
}

/** Sign-extends an s32 (any number; its low 32 bits are used). */
export function fromS32(n: number): U64 {
  return make(n, (n | 0) < 0 ? 0xffffffff : 0);
}

/** Exact conversion of a safe integer (negative numbers give their two's complement). */
export function fromNumber(n: number): U64 {
  if (!Number.isSafeInteger(n)) throw new RangeError(`u64.fromNumber: ${n} is not a safe integer`);
  if (n >= 0) return make(n % TWO32, Math.floor(n / TWO32));
  return neg(fromNumber(-n));
}

/** The value as a number when exactly representable (|v| <= 2^53 - 1), else undefined. */
export function toNumberU(a: U64): number | undefined {
  return a.hi < 0x200000 ? a.hi * TWO32 + a.lo : undefined;
}

export function toNumberS(a: U64): number | undefined {
  if ((a.hi & 0x80000000) === 0) return toNumberU(a);
  const m = toNumberU(neg(a));
  return m === undefined ? undefined : -m;
}

export function fromBigInt(b: bigint): U64 {
  const v = BigInt.asUintN(64, b);
  return make(Number(v & 0xffffffffn), Number(v >> 32n));
}

export function toBigInt(a: U64): bigint {
  return (BigInt(a.hi) << 32n) | BigInt(a.lo);
}

export function toBigIntS(a: U64): bigint {
  return BigInt.asIntN(64, toBigInt(a));
}

export function eq(a: U64, b: U64): boolean {
  return a.lo === b.lo && a.hi === b.hi;
}

export function isZero(a: U64): boolean {
  return (a.lo | a.hi) === 0;
}

export function isNeg(a: U64): boolean {
  return a.hi >= 0x80000000;
}

export function add(a: U64, b: U64): U64 {
  const lo = a.lo + b.lo;
  const carry = lo >= TWO32 ? 1 : 0;
  return make(lo, a.hi + b.hi + carry);
}

export function sub(a: U64, b: U64): U64 {
  const lo = a.lo - b.lo;
  const borrow = lo < 0 ? 1 : 0;
  return make(lo, a.hi - b.hi - borrow);
}

export function neg(a: U64): U64 {
  return sub(ZERO, a);
}

/** Low 64 bits of a * b (C u64 multiply). */
export function mul(a: U64, b: U64): U64 {
  // lo*lo needs the full 64-bit product; split into 16-bit pieces to stay exact in doubles.
  const a0 = a.lo & 0xffff;
  const a1 = a.lo >>> 16;
  const b0 = b.lo & 0xffff;
  const b1 = b.lo >>> 16;
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1; // < 2^33
  const lo = p00 + (mid % 65536) * 65536; // < 2^49
  const carry = Math.floor(lo / TWO32) + Math.floor(mid / 65536) + a1 * b1;
  const hi = carry + Math.imul(a.lo, b.hi) + Math.imul(a.hi, b.lo);
  return make(lo % TWO32, hi);
}

export function and(a: U64, b: U64): U64 {
  return make(a.lo & b.lo, a.hi & b.hi);
}

export function or(a: U64, b: U64): U64 {
  return make(a.lo | b.lo, a.hi | b.hi);
}

export function xor(a: U64, b: U64): U64 {
  return make(a.lo ^ b.lo, a.hi ^ b.hi);
}

export function not(a: U64): U64 {
  return make(~a.lo, ~a.hi);
}

/** a << n for 0 <= n <= 63 (C leaves n >= 64 undefined; callers never pass it). */
export function shl(a: U64, n: number): U64 {
  if (n === 0) return a;
  if (n >= 32) return make(0, a.lo << (n - 32));
  return make(a.lo << n, (a.hi << n) | (a.lo >>> (32 - n)));
}

/** Logical a >> n for 0 <= n <= 63. */
export function shr(a: U64, n: number): U64 {
  if (n === 0) return a;
  if (n >= 32) return make(a.hi >>> (n - 32), 0);
  return make((a.lo >>> n) | (a.hi << (32 - n)), a.hi >>> n);
}

/** Arithmetic (s64) a >> n for 0 <= n <= 63. */
export function sar(a: U64, n: number): U64 {
  if (n === 0) return a;
  if (n >= 32) return make((a.hi | 0) >> (n - 32), (a.hi | 0) >> 31);
  return make((a.lo >>> n) | (a.hi << (32 - n)), (a.hi | 0) >> n);
}

/** -1, 0, 1 comparing as u64. */
export function cmpU(a: U64, b: U64): number {
  if (a.hi !== b.hi) return a.hi < b.hi ? -1 : 1;
  if (a.lo !== b.lo) return a.lo < b.lo ? -1 : 1;
  return 0;
}

/** -1, 0, 1 comparing as s64. */
export function cmpS(a: U64, b: U64): number {
  const ah = a.hi | 0;
  const bh = b.hi | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  if (a.lo !== b.lo) return a.lo < b.lo ? -1 : 1;
  return 0;
}

export function ult(a: U64, b: U64): boolean {
  return cmpU(a, b) < 0;
}
export function ule(a: U64, b: U64): boolean {
  return cmpU(a, b) <= 0;
}
export function ugt(a: U64, b: U64): boolean {
  return cmpU(a, b) > 0;
}
export function uge(a: U64, b: U64): boolean {
  return cmpU(a, b) >= 0;
}
export function slt(a: U64, b: U64): boolean {
  return cmpS(a, b) < 0;
}
export function sle(a: U64, b: U64): boolean {
  return cmpS(a, b) <= 0;
}
export function sgt(a: U64, b: U64): boolean {
  return cmpS(a, b) > 0;
}
export function sge(a: U64, b: U64): boolean {
  return cmpS(a, b) >= 0;
}

export function umin(a: U64, b: U64): U64 {
  return cmpU(a, b) <= 0 ? a : b;
}
export function umax(a: U64, b: U64): U64 {
  return cmpU(a, b) >= 0 ? a : b;
}
export function smin(a: U64, b: U64): U64 {
  return cmpS(a, b) <= 0 ? a : b;
}
export function smax(a: U64, b: U64): U64 {
  return cmpS(a, b) >= 0 ? a : b;
}

// min/max against a value given as halves, allocating only when that value wins: the bounds
// code compares a bound with a candidate that usually loses, so this saves most allocations.

export function umaxHL(a: U64, lo: number, hi: number): U64 {
  lo >>>= 0;
  hi >>>= 0;
  return a.hi > hi || (a.hi === hi && a.lo >= lo) ? a : { lo, hi };
}

export function uminHL(a: U64, lo: number, hi: number): U64 {
  lo >>>= 0;
  hi >>>= 0;
  return a.hi < hi || (a.hi === hi && a.lo <= lo) ? a : { lo, hi };
}

export function smaxHL(a: U64, lo: number, hi: number): U64 {
  lo >>>= 0;
  const ah = a.hi | 0;
  const bh = hi | 0;
  return ah > bh || (ah === bh && a.lo >= lo) ? a : { lo, hi: hi >>> 0 };
}

export function sminHL(a: U64, lo: number, hi: number): U64 {
  lo >>>= 0;
  const ah = a.hi | 0;
  const bh = hi | 0;
  return ah < bh || (ah === bh && a.lo <= lo) ? a : { lo, hi: hi >>> 0 };
}

/** Index of the highest set bit plus one, 0 for zero (kernel: fls64()). */
export function fls(a: U64): number {
  if (a.hi !== 0) return 64 - Math.clz32(a.hi);
  return 32 - Math.clz32(a.lo);
}

// Overflow checks with the meaning of the kernel's check_{add,sub,mul}_overflow() for u64/s64.

export function uaddOverflows(a: U64, b: U64): boolean {
  return ult(add(a, b), a);
}

export function saddOverflows(a: U64, b: U64): boolean {
  const r = add(a, b);
  // Overflow iff both operands share a sign that the result does not.
  return (~(a.hi ^ b.hi) & (a.hi ^ r.hi) & 0x80000000) !== 0;
}

export function usubOverflows(a: U64, b: U64): boolean {
  return ult(a, b);
}

export function ssubOverflows(a: U64, b: U64): boolean {
  const r = sub(a, b);
  return ((a.hi ^ b.hi) & (a.hi ^ r.hi) & 0x80000000) !== 0;
}

/** True when a * b does not fit in 64 unsigned bits. */
export function umulOverflows(a: U64, b: U64): boolean {
  if (isZero(a) || isZero(b)) return false;
  if (a.hi !== 0 && b.hi !== 0) return true;
  // One operand is < 2^32: the product fits iff hi-part product plus carries stays below 2^32.
  const big = a.hi !== 0 ? a : b;
  const small = a.hi !== 0 ? b.lo : a.lo;
  // big * small = big.hi * small * 2^32 + big.lo * small; the high word must stay below 2^32.
  return big.hi * small + mulHi32(big.lo, small) >= TWO32;
}

/** High 32 bits of the 64-bit product of two uint32. */
function mulHi32(x: number, y: number): number {
  const x0 = x & 0xffff;
  const x1 = x >>> 16;
  const y0 = y & 0xffff;
  const y1 = y >>> 16;
  const mid = x1 * y0 + x0 * y1;
  const low = x0 * y0 + (mid % 65536) * 65536;
  return Math.floor(low / TWO32) + Math.floor(mid / 65536) + x1 * y1;
}

/** True when a * b (as s64) does not fit in s64. */
export function smulOverflows(a: U64, b: U64): boolean {
  const na = isNeg(a);
  const nb = isNeg(b);
  const ma = na ? neg(a) : a; // |S64_MIN| = 2^63 is fine as u64
  const mb = nb ? neg(b) : b;
  if (umulOverflows(ma, mb)) return true;
  const p = mul(ma, mb);
  // Product magnitude must be <= S64_MAX, or exactly 2^63 when the result is negative.
  if (na !== nb) return ugt(p, S64_MIN);
  return ugt(p, S64_MAX);
}

// 32-bit helpers on plain numbers: u32 values are 0..2^32-1, s32 values are -2^31..2^31-1.

export function u32(n: number): number {
  return n >>> 0;
}

export function s32(n: number): number {
  return n | 0;
}

/** Hex text of an unsigned 64-bit value, like the kernel's printf("%#llx") (zero prints "0x0"). */
export function toHex(a: U64): string {
  if (a.hi === 0) return `0x${a.lo.toString(16)}`;
  return `0x${a.hi.toString(16)}${a.lo.toString(16).padStart(8, '0')}`;
}

/** Decimal text as u64. */
export function toDecU(a: U64): string {
  const n = toNumberU(a);
  return n !== undefined ? String(n) : toBigInt(a).toString();
}

/** Decimal text as s64. */
export function toDecS(a: U64): string {
  const n = toNumberS(a);
  return n !== undefined ? String(n) : toBigIntS(a).toString();
}
