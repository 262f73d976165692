// mulberry32: a tiny seeded 32-bit PRNG. Used where runs must repeat exactly: generated test
// programs and packets, Life seeds, and bpf_get_prandom_u32 in deterministic mode.

/** The next u32 of the sequence started by `seed` on every call. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same sequence as floats in [0, 1). */
export function mulberry32Float(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** The same sequence reduced to [0, n) (by remainder, as the tests always did). */
export function mulberry32Below(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n) => next() % n;
}
