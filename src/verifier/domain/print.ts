// Scalar states in the verifier log's words (Linux 6.18 kernel/bpf/log.c: print_reg_state(),
// print_scalar_ranges(), verbose_snum()/verbose_unum()): `P1`, `-5`, `0xffff0000`,
// `scalar(id=2,smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))`.

import type { Scalar } from './scalar.ts';
import * as tnum from './tnum.ts';
import * as u64 from './u64.ts';
import type { U64 } from './u64.ts';

/** Decimal for |n| within s16/u16, hex above (kernel: verbose_snum()). */
export function snum(v: U64): string {
  const n = u64.toNumberS(v);
  return n !== undefined && n >= -32768 && n <= 32767 ? String(n) : u64.toHex(v);
}

// kernel: verbose_unum()
export function unum(v: U64): string {
  return v.hi === 0 && v.lo <= 0xffff ? String(v.lo) : u64.toHex(v);
}

/**
 * min/max pairs, omitting the unbounded ones and merging equal values that are printed alike
 * (kernel: print_scalar_ranges()). Returns the comma-separated list, possibly empty.
 */
export function scalarRanges(r: Scalar): string {
  // s32 bounds print sign-extended when decimal, as u32 hex otherwise (so hex never looks 64-bit)
  const s32val = (n: number): U64 => {
    const ext = u64.fromS32(n);
    return n >= -32768 && n <= 32767 ? ext : u64.fromU32(n);
  };
  const items = [
    { name: 'smin', val: r.smin, omit: u64.eq(r.smin, u64.S64_MIN) },
    { name: 'smax', val: r.smax, omit: u64.eq(r.smax, u64.S64_MAX) },
    { name: 'umin', val: r.umin, omit: u64.isZero(r.umin) },
    { name: 'umax', val: r.umax, omit: u64.eq(r.umax, u64.MAX) },
    { name: 'smin32', val: s32val(r.s32min), omit: r.s32min === -0x80000000 },
    { name: 'smax32', val: s32val(r.s32max), omit: r.s32max === 0x7fffffff },
    { name: 'umin32', val: u64.fromU32(r.u32min), omit: r.u32min === 0 },
    { name: 'umax32', val: u64.fromU32(r.u32max), omit: r.u32max === 0xffffffff },
  ];
  const parts: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const m1 = items[i]!;
    if (m1.omit) continue;
    const neg1 = m1.name[0] === 's' && u64.isNeg(m1.val);
    let text = `${m1.name}=`;
    // later entries of the same kind (min or max) with the same value join this one
    for (let j = i + 2; j < items.length; j += 2) {
      const m2 = items[j]!;
      if (m2.omit || !u64.eq(m2.val, m1.val)) continue;
      const neg2 = m2.name[0] === 's' && u64.isNeg(m2.val);
      if (neg2 !== neg1) continue;
      m2.omit = true;
      text += `${m2.name}=`;
    }
    text += m1.name[0] === 's' ? snum(m1.val) : unum(m1.val);
    parts.push(text);
  }
  return parts.join(',');
}

export interface PrintOpts {
  /** The register's precision mark, printed as a leading `P`. */
  precise?: boolean;
  /** Scalar id for linked registers (0 = none). */
  id?: number;
  /** Offset of a BPF_ADD_CONST-linked scalar, printed as `+N` after the id. */
  addConstOff?: number;
}

/** A scalar register's value as print_reg_state() writes it after `R1=`. */
export function scalarState(r: Scalar, opts: PrintOpts = {}): string {
  const p = opts.precise ? 'P' : '';
  if (tnum.isConst(r.varOff)) return p + snum(tnum.value(r.varOff));
  const attrs: string[] = [];
  let idText = '';
  if (opts.id) idText = `id=${opts.id}`;
  if (opts.addConstOff !== undefined)
    idText += opts.addConstOff >= 0 ? `+${opts.addConstOff}` : `${opts.addConstOff}`;
  if (idText) attrs.push(idText);
  const ranges = scalarRanges(r);
  if (ranges) attrs.push(ranges);
  if (!tnum.isUnknown(r.varOff)) attrs.push(`var_off=${tnum.strn(r.varOff)}`);
  return `${p}scalar(${attrs.join(',')})`;
}
