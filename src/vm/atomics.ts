// Atomic read-modify-write on the arena (BPF_STX | BPF_ATOMIC). JS runs one thread, so plain
// loads and stores are atomic; these live outside the interpreter loop because they are rare.
// `k` is program.ts's atomicIndex(): 0..3 add/or/and/xor, 4..7 the same with fetch, 8 xchg,
// 9 cmpxchg. The address was checked by the caller.

/** 32-bit: fetch results and cmpxchg's r0 are zero-extended. */
export function atomic32(
  dv: DataView,
  lo: Int32Array,
  hi: Int32Array,
  k: number,
  a: number,
  s: number,
): void {
  const old = dv.getInt32(a, true);
  const v = lo[s]!;
  if (k === 9) {
    if (old === lo[0]) dv.setInt32(a, v, true);
    lo[0] = old;
    hi[0] = 0;
    return;
  }
  const op = k & 3;
  const r = k === 8 ? v : op === 0 ? (old + v) | 0 : op === 1 ? old | v : op === 2 ? old & v : old ^ v;
  dv.setInt32(a, r, true);
  if (k >= 4) {
    lo[s] = old;
    hi[s] = 0;
  }
}

/** 64-bit: cmpxchg compares all of r0. */
export function atomic64(
  dv: DataView,
  lo: Int32Array,
  hi: Int32Array,
  k: number,
  a: number,
  s: number,
): void {
  const oLo = dv.getInt32(a, true);
  const oHi = dv.getInt32(a + 4, true);
  const vLo = lo[s]!;
  const vHi = hi[s]!;
  if (k === 9) {
    if (oLo === lo[0] && oHi === hi[0]) {
      dv.setInt32(a, vLo, true);
      dv.setInt32(a + 4, vHi, true);
    }
    lo[0] = oLo;
    hi[0] = oHi;
    return;
  }
  let rLo: number;
  let rHi: number;
  const op = k & 3;
  if (k === 8) {
    rLo = vLo;
    rHi = vHi;
  } else if (op === 0) {
    rLo = (oLo + vLo) | 0;
    rHi = (oHi + vHi + (rLo >>> 0 < oLo >>> 0 ? 1 : 0)) | 0;
  } else if (op === 1) {
    rLo = oLo | vLo;
    rHi = oHi | vHi;
  } else if (op === 2) {
    rLo = oLo & vLo;
    rHi = oHi & vHi;
  } else {
    rLo = oLo ^ vLo;
    rHi = oHi ^ vHi;
  }
  dv.setInt32(a, rLo, true);
  dv.setInt32(a + 4, rHi, true);
  if (k >= 4) {
    lo[s] = oLo;
    hi[s] = oHi;
  }
}
