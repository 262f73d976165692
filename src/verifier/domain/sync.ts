// reg_bounds_sync() on plain numbers: the same steps as scalar.ts's updateRegBounds(),
// regDeduceBounds() and regBoundOffset() (kernel: __update_reg_bounds(), __reg_deduce_bounds(),
// __reg_bound_offset()), but on the halves of the 64-bit bounds held in module variables, so a
// sync allocates nothing unless a bound changes. Every conditional jump syncs four scalars and
// most ALU instructions one, which made the object version the verifier's hottest code.
// test/verifier/domain/sync.test.ts checks it against the object version step by step.
import type { Scalar } from './scalar.ts';

// The state being synced: tnum value/mask halves, 64-bit bounds as uint32 halves, 32-bit bounds.
let vLo = 0;
let vHi = 0;
let mLo = 0;
let mHi = 0;
let uminLo = 0;
let uminHi = 0;
let umaxLo = 0;
let umaxHi = 0;
let sminLo = 0;
let sminHi = 0;
let smaxLo = 0;
let smaxHi = 0;
let s32min = 0;
let s32max = 0;
let u32min = 0;
let u32max = 0;
// tnum_step()'s result
let stepLo = 0;
let stepHi = 0;

function load(r: Scalar): void {
  const t = r.varOff;
  vLo = t.vLo;
  vHi = t.vHi;
  mLo = t.mLo;
  mHi = t.mHi;
  uminLo = r.umin.lo;
  uminHi = r.umin.hi;
  umaxLo = r.umax.lo;
  umaxHi = r.umax.hi;
  sminLo = r.smin.lo;
  sminHi = r.smin.hi;
  smaxLo = r.smax.lo;
  smaxHi = r.smax.hi;
  s32min = r.s32min;
  s32max = r.s32max;
  u32min = r.u32min;
  u32max = r.u32max;
}

/** Writes back, allocating a new U64 or Tnum only for a field that changed (they are immutable). */
function store(r: Scalar): void {
  const t = r.varOff;
  if (t.vLo !== vLo || t.vHi !== vHi || t.mLo !== mLo || t.mHi !== mHi) {
    r.varOff = { vLo, vHi, mLo, mHi };
  }
  if (r.umin.lo !== uminLo || r.umin.hi !== uminHi) r.umin = { lo: uminLo, hi: uminHi };
  if (r.umax.lo !== umaxLo || r.umax.hi !== umaxHi) r.umax = { lo: umaxLo, hi: umaxHi };
  if (r.smin.lo !== sminLo || r.smin.hi !== sminHi) r.smin = { lo: sminLo, hi: sminHi };
  if (r.smax.lo !== smaxLo || r.smax.hi !== smaxHi) r.smax = { lo: smaxLo, hi: smaxHi };
  r.s32min = s32min;
  r.s32max = s32max;
  r.u32min = u32min;
  r.u32max = u32max;
}

// Comparisons of (aLo, aHi) with (bLo, bHi), halves uint32: -1, 0, 1.
function cmpU(aLo: number, aHi: number, bLo: number, bHi: number): number {
  if (aHi !== bHi) return aHi < bHi ? -1 : 1;
  if (aLo !== bLo) return aLo < bLo ? -1 : 1;
  return 0;
}

function cmpS(aLo: number, aHi: number, bLo: number, bHi: number): number {
  const ah = aHi | 0;
  const bh = bHi | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  if (aLo !== bLo) return aLo < bLo ? -1 : 1;
  return 0;
}

// kernel: ___mark_reg_known()
function markKnown(lo: number, hi: number): void {
  vLo = lo;
  vHi = hi;
  mLo = 0;
  mHi = 0;
  uminLo = umaxLo = sminLo = smaxLo = lo;
  uminHi = umaxHi = sminHi = smaxHi = hi;
  s32min = s32max = lo | 0;
  u32min = u32max = lo;
}

// kernel: __update_reg32_bounds()
function updateReg32(): void {
  s32min = Math.max(s32min, vLo | (mLo & 0x80000000) | 0);
  s32max = Math.min(s32max, vLo | (mLo & 0x7fffffff) | 0);
  u32min = Math.max(u32min, vLo);
  u32max = Math.min(u32max, (vLo | mLo) >>> 0);
}

/** tnum_step(t, (zLo, zHi)) into stepLo/stepHi (see tnum.step()). */
function step(zLo: number, zHi: number): void {
  const tmaxLo = (vLo | mLo) >>> 0;
  const tmaxHi = (vHi | mHi) >>> 0;
  if (zHi > tmaxHi || (zHi === tmaxHi && zLo >= tmaxLo)) {
    stepLo = tmaxLo;
    stepHi = tmaxHi;
    return;
  }
  if (zHi < vHi || (zHi === vHi && zLo < vLo)) {
    stepLo = vLo;
    stepHi = vHi;
    return;
  }
  let dLo = zLo - vLo;
  const borrow = dLo < 0 ? 1 : 0;
  dLo >>>= 0;
  const dHi = (zHi - vHi - borrow) >>> 0;
  const xHi = dHi & ~mHi;
  const xLo = dLo & ~mLo;
  const bits = xHi !== 0 ? 64 - Math.clz32(xHi) : 32 - Math.clz32(xLo);
  const cLo = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const cHi = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
  const fLo = (dLo | cLo | ~mLo) >>> 0;
  const fHi = (dHi | cHi | ~mHi) >>> 0;
  const incLo = fLo + 1;
  const incHi = fHi + (incLo > 0xffffffff ? 1 : 0);
  stepLo = (vLo | (incLo & mLo)) >>> 0;
  stepHi = (vHi | (incHi & mHi)) >>> 0;
}

// kernel: __update_reg64_bounds() with tnum_step()
function updateReg64(): void {
  // smin = max(smin, value | (mask & sign)), as signed
  let cLo = vLo;
  let cHi = (vHi | (mHi & 0x80000000)) >>> 0;
  if (cmpS(sminLo, sminHi, cLo, cHi) < 0) {
    sminLo = cLo;
    sminHi = cHi;
  }
  cLo = (vLo | mLo) >>> 0;
  cHi = (vHi | (mHi & 0x7fffffff)) >>> 0;
  if (cmpS(smaxLo, smaxHi, cLo, cHi) > 0) {
    smaxLo = cLo;
    smaxHi = cHi;
  }
  if (cmpU(uminLo, uminHi, vLo, vHi) < 0) {
    uminLo = vLo;
    uminHi = vHi;
  }
  const tmaxLo = (vLo | mLo) >>> 0;
  const tmaxHi = (vHi | mHi) >>> 0;
  if (cmpU(umaxLo, umaxHi, tmaxLo, tmaxHi) > 0) {
    umaxLo = tmaxLo;
    umaxHi = tmaxHi;
  }
  step(uminLo, uminHi);
  const uminInTnum = (uminLo & ~mLo) >>> 0 === vLo && (uminHi & ~mHi) >>> 0 === vHi;
  if (uminInTnum && cmpU(stepLo, stepHi, umaxLo, umaxHi) > 0) {
    // the range and the tnum meet only at umin
    markKnown(uminLo, uminHi);
  } else if (!uminInTnum && stepLo === tmaxLo && stepHi === tmaxHi) {
    // they meet only at the tnum's largest member
    markKnown(tmaxLo, tmaxHi);
  } else if (!uminInTnum && cmpU(stepLo, stepHi, umaxLo, umaxHi) <= 0) {
    // they meet only at one member strictly inside the range
    const nLo = stepLo;
    const nHi = stepHi;
    step(nLo, nHi);
    if (cmpU(stepLo, stepHi, umaxLo, umaxHi) > 0) markKnown(nLo, nHi);
  }
}

// kernel: __reg32_deduce_bounds()
function deduce32(): void {
  if (uminHi === umaxHi) {
    u32min = Math.max(u32min, uminLo);
    u32max = Math.min(u32max, umaxLo);
    if ((uminLo | 0) <= (umaxLo | 0)) {
      s32min = Math.max(s32min, uminLo | 0);
      s32max = Math.min(s32max, umaxLo | 0);
    }
  }
  if (sminHi === smaxHi) {
    if (sminLo <= smaxLo) {
      u32min = Math.max(u32min, sminLo);
      u32max = Math.min(u32max, smaxLo);
    }
    if ((sminLo | 0) <= (smaxLo | 0)) {
      s32min = Math.max(s32min, sminLo | 0);
      s32max = Math.min(s32max, smaxLo | 0);
    }
  }
  if ((uminHi + 1) >>> 0 === umaxHi && (uminLo | 0) < 0 && (umaxLo | 0) >= 0) {
    s32min = Math.max(s32min, uminLo | 0);
    s32max = Math.min(s32max, umaxLo | 0);
  }
  if ((sminHi + 1) >>> 0 === smaxHi && (sminLo | 0) < 0 && (smaxLo | 0) >= 0) {
    s32min = Math.max(s32min, sminLo | 0);
    s32max = Math.min(s32max, smaxLo | 0);
  }
  if ((u32min | 0) <= (u32max | 0)) {
    s32min = Math.max(s32min, u32min | 0);
    s32max = Math.min(s32max, u32max | 0);
  }
  if (s32min >>> 0 <= s32max >>> 0) {
    u32min = Math.max(s32min >>> 0, u32min);
    u32max = Math.min(s32max >>> 0, u32max);
  } else if (u32max < s32min >>> 0) {
    s32min = u32min | 0;
    u32max = Math.min(u32max, s32max >>> 0);
  } else if (s32max >>> 0 < u32min) {
    s32max = u32max | 0;
    u32min = Math.max(u32min, s32min >>> 0);
  }
}

// kernel: __reg64_deduce_bounds()
function deduce64(): void {
  if (cmpS(uminLo, uminHi, umaxLo, umaxHi) <= 0) {
    if (cmpS(sminLo, sminHi, uminLo, uminHi) < 0) {
      sminLo = uminLo;
      sminHi = uminHi;
    }
    if (cmpS(smaxLo, smaxHi, umaxLo, umaxHi) > 0) {
      smaxLo = umaxLo;
      smaxHi = umaxHi;
    }
  }
  if (cmpU(sminLo, sminHi, smaxLo, smaxHi) <= 0) {
    if (cmpU(sminLo, sminHi, uminLo, uminHi) >= 0) {
      uminLo = sminLo;
      uminHi = sminHi;
    }
    if (cmpU(smaxLo, smaxHi, umaxLo, umaxHi) <= 0) {
      umaxLo = smaxLo;
      umaxHi = smaxHi;
    }
  } else if (cmpU(umaxLo, umaxHi, sminLo, sminHi) < 0) {
    sminLo = uminLo;
    sminHi = uminHi;
    if (cmpU(umaxLo, umaxHi, smaxLo, smaxHi) > 0) {
      umaxLo = smaxLo;
      umaxHi = smaxHi;
    }
  } else if (cmpU(smaxLo, smaxHi, uminLo, uminHi) < 0) {
    smaxLo = umaxLo;
    smaxHi = umaxHi;
    if (cmpU(uminLo, uminHi, sminLo, sminHi) < 0) {
      uminLo = sminLo;
      uminHi = sminHi;
    }
  }
}

/** varOff ∩ range(lo64, hi64) for two 64-bit bounds (kernel: tnum_intersect(t, tnum_range())). */
function intersectRange(minLo: number, minHi: number, maxLo: number, maxHi: number): void {
  const xHi = (minHi ^ maxHi) >>> 0;
  const bits = xHi !== 0 ? 64 - Math.clz32(xHi) : 32 - Math.clz32(minLo ^ maxLo);
  let rvLo: number;
  let rvHi: number;
  let rmLo: number;
  let rmHi: number;
  if (bits > 63) {
    rvLo = rvHi = 0;
    rmLo = rmHi = 0xffffffff;
  } else {
    rmLo = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
    rmHi = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
    rvLo = (minLo & ~rmLo) >>> 0;
    rvHi = (minHi & ~rmHi) >>> 0;
  }
  const nmLo = (mLo & rmLo) >>> 0;
  const nmHi = (mHi & rmHi) >>> 0;
  vLo = ((vLo | rvLo) & ~nmLo) >>> 0;
  vHi = ((vHi | rvHi) & ~nmHi) >>> 0;
  mLo = nmLo;
  mHi = nmHi;
}

// kernel: __reg_deduce_mixed_bounds()
function deduceMixed(): void {
  // u32 -> u64 and u32 -> s64: the 64-bit bounds with their low halves replaced
  if (cmpU(uminLo, uminHi, u32min, uminHi) < 0) uminLo = u32min;
  if (cmpU(umaxLo, umaxHi, u32max, umaxHi) > 0) umaxLo = u32max;
  if (cmpS(sminLo, sminHi, u32min, sminHi) < 0) sminLo = u32min;
  if (cmpS(smaxLo, smaxHi, u32max, smaxHi) > 0) smaxLo = u32max;
  if (s32min >>> 0 <= s32max >>> 0) {
    const lo = s32min >>> 0;
    const hi = s32max >>> 0;
    if (cmpU(uminLo, uminHi, lo, uminHi) < 0) uminLo = lo;
    if (cmpU(umaxLo, umaxHi, hi, umaxHi) > 0) umaxLo = hi;
    if (cmpS(sminLo, sminHi, lo, sminHi) < 0) sminLo = lo;
    if (cmpS(smaxLo, smaxHi, hi, smaxHi) > 0) smaxLo = hi;
  }
  // smin >= (s64)S32_MIN and smax <= S32_MAX, with a non-negative s32 range
  if (
    s32min >= 0 &&
    cmpS(sminLo, sminHi, 0x80000000, 0xffffffff) >= 0 &&
    cmpS(smaxLo, smaxHi, 0x7fffffff, 0) <= 0
  ) {
    sminLo = uminLo = s32min >>> 0;
    sminHi = uminHi = s32min < 0 ? 0xffffffff : 0;
    smaxLo = umaxLo = s32max >>> 0;
    smaxHi = umaxHi = s32max < 0 ? 0xffffffff : 0;
    intersectRange(sminLo, sminHi, smaxLo, smaxHi);
  }
}

// kernel: __reg_bound_offset()
function boundOffset(): void {
  intersectRange(uminLo, uminHi, umaxLo, umaxHi);
  // the low half: ∩ range(u32min, u32max); the high half stays
  const bits = 32 - Math.clz32(u32min ^ u32max);
  const dLo = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const nmLo = (mLo & dLo) >>> 0;
  vLo = ((vLo | (u32min & ~dLo)) & ~nmLo) >>> 0;
  mLo = nmLo;
  // tnum_or(clear_subreg(var64), var32) normalises the high mask against the high value
  mHi = (mHi & ~vHi) >>> 0;
}

/**
 * True when the sync's result is known without running it, with r already set to it: a constant
 * tnum whose 64-bit bounds are all that constant and whose 32-bit bounds contain its low half
 * (the first step pins them to it, and then nothing changes: pointer arithmetic with a constant
 * leaves exactly this), or nothing known at all (every step leaves that as it is).
 */
function isFixedPoint(r: Scalar): boolean {
  const t = r.varOff;
  if ((t.mLo | t.mHi) === 0) {
    const lo = t.vLo;
    const hi = t.vHi;
    const umin = r.umin;
    const umax = r.umax;
    const smin = r.smin;
    const smax = r.smax;
    const s32 = lo | 0;
    if (
      umin.lo === lo &&
      umin.hi === hi &&
      umax.lo === lo &&
      umax.hi === hi &&
      smin.lo === lo &&
      smin.hi === hi &&
      smax.lo === lo &&
      smax.hi === hi &&
      r.u32min <= lo &&
      lo <= r.u32max &&
      r.s32min <= s32 &&
      s32 <= r.s32max
    ) {
      // __update_reg32_bounds() with a constant subreg
      r.u32min = lo;
      r.u32max = lo;
      r.s32min = s32;
      r.s32max = s32;
      return true;
    }
    return false;
  }
  return (
    t.mLo === 0xffffffff &&
    t.mHi === 0xffffffff &&
    (r.umin.lo | r.umin.hi) === 0 &&
    r.umax.lo === 0xffffffff &&
    r.umax.hi === 0xffffffff &&
    r.smin.lo === 0 &&
    r.smin.hi === 0x80000000 &&
    r.smax.lo === 0xffffffff &&
    r.smax.hi === 0x7fffffff &&
    r.u32min === 0 &&
    r.u32max === 0xffffffff &&
    r.s32min === -0x80000000 &&
    r.s32max === 0x7fffffff
  );
}

/** kernel: __update_reg_bounds() */
export function updateRegBoundsFast(r: Scalar): void {
  if (isFixedPoint(r)) return;
  load(r);
  updateReg32();
  updateReg64();
  store(r);
}

/** kernel: reg_bounds_sync() */
export function regBoundsSyncFast(r: Scalar): void {
  if (isFixedPoint(r)) return;
  load(r);
  updateReg32();
  updateReg64();
  for (let round = 0; round < 3; round++) {
    // a round that changes nothing would change nothing again: stop early, same result
    const a = uminLo;
    const b = uminHi;
    const c = umaxLo;
    const d = umaxHi;
    const e = sminLo;
    const f = sminHi;
    const g = smaxLo;
    const h = smaxHi;
    const i = s32min;
    const j = s32max;
    const k = u32min;
    const l = u32max;
    const tv = vLo;
    const tw = vHi;
    const tm = mLo;
    const tn = mHi;
    deduce32();
    deduce64();
    deduceMixed();
    if (
      a === uminLo &&
      b === uminHi &&
      c === umaxLo &&
      d === umaxHi &&
      e === sminLo &&
      f === sminHi &&
      g === smaxLo &&
      h === smaxHi &&
      i === s32min &&
      j === s32max &&
      k === u32min &&
      l === u32max &&
      tv === vLo &&
      tw === vHi &&
      tm === mLo &&
      tn === mHi
    ) {
      break;
    }
  }
  boundOffset();
  updateReg32();
  updateReg64();
  store(r);
}
