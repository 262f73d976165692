// String helpers: bpf_strtol / bpf_strtoul and bpf_snprintf.
// kernel: kernel/bpf/helpers.c (__bpf_strtoull, bpf_strtol, bpf_strtoul, bpf_snprintf) and
// lib/kstrtox.c (_parse_integer_fixup_radix, _parse_integer)
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import { bprintf } from '../../vm/bprintf.ts';
import { E2BIG, EINVAL, ERANGE } from './env.ts';

export const BPF_FUNC_strtol = 105;
export const BPF_FUNC_strtoul = 106;
export const BPF_FUNC_snprintf = 165;

const BPF_STRTOX_BASE_MASK = 0x1fn;
/** kernel: MAX_BPF_FUNC_VARARGS */
const MAX_BPF_FUNC_VARARGS = 12;

export const stringProtos = {
  strtox: {
    ret: 'RET_INTEGER',
    args: [
      { type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] },
      { type: 'ARG_CONST_SIZE' },
      { type: 'ARG_ANYTHING' },
      { type: 'ARG_PTR_TO_LONG' },
    ],
  },
  snprintf: {
    ret: 'RET_INTEGER',
    args: [
      // kernel 6.18: ARG_PTR_TO_MEM_OR_NULL | MEM_WRITE
      { type: 'ARG_PTR_TO_MEM', flags: ['PTR_MAYBE_NULL', 'MEM_WRITE'] },
      { type: 'ARG_CONST_SIZE_OR_ZERO' },
      { type: 'ARG_PTR_TO_CONST_STR' },
      { type: 'ARG_PTR_TO_MEM', flags: ['PTR_MAYBE_NULL', 'MEM_RDONLY'] },
      { type: 'ARG_CONST_SIZE_OR_ZERO' },
    ],
  },
} as const satisfies Record<string, FuncProto>;

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return 99;
}

/**
 * kernel: __bpf_strtoull(). Returns the characters consumed (or a negative errno), the value
 * and whether a '-' came first.
 */
export function strtoull(buf: Uint8Array, flags: bigint): { n: number; value: bigint; negative: boolean } {
  const fail = (e: number) => ({ n: -e, value: 0n, negative: false });
  let base = Number(flags & BPF_STRTOX_BASE_MASK);
  if (buf.length === 0) return fail(EINVAL);
  if (base !== 0 && base !== 8 && base !== 10 && base !== 16) return fail(EINVAL);
  if ((flags & ~BPF_STRTOX_BASE_MASK) !== 0n) return fail(EINVAL);
  let i = 0;
  while (i < buf.length && isSpace(buf[i]!)) i++;
  const negative = i < buf.length && buf[i] === 45;
  if (negative) i++;
  const consumed = i;
  if (i === buf.length) return fail(EINVAL);
  // The kernel copies at most 63 bytes into a NUL-terminated scratch string.
  const str = buf.subarray(i, Math.min(buf.length, i + 63));
  const at = (k: number) => str[k] ?? 0;
  let s = 0;
  if (base === 0) {
    if (at(0) === 48) base = (at(1) | 0x20) === 120 && digitValue(at(2)) < 16 ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && at(0) === 48 && (at(1) | 0x20) === 120) s = 2;
  let value = 0n;
  let overflow = false;
  const b = BigInt(base);
  let k = s;
  for (; ; k++) {
    const d = digitValue(at(k));
    if (d >= base) break;
    value = value * b + BigInt(d);
    if (value > 0xffffffffffffffffn) overflow = true;
  }
  if (overflow) return fail(ERANGE);
  if (k === s) return fail(EINVAL);
  return { n: consumed + k, value: BigInt.asUintN(64, value), negative };
}

export function registerStringHelpers(t: HelperTable): void {
  const input = (ctx: HelperCtx, buf: number, len: number): Uint8Array => {
    if (!ctx.arena.check(buf, len, false)) ctx.fault('helper', 'strtol: buffer not readable');
    return ctx.arena.read(buf, len);
  };
  const store = (ctx: HelperCtx, res: number, v: bigint) => {
    if (!ctx.arena.check(res, 8, true)) ctx.fault('helper', 'strtol: result pointer not writable');
    ctx.arena.dv.setBigUint64(res, BigInt.asUintN(64, v), true);
  };
  t.register({
    id: BPF_FUNC_strtol,
    name: 'bpf_strtol',
    proto: stringProtos.strtox,
    impl: (ctx, buf, len, _f, res) => {
      const r = strtoull(input(ctx, buf, len), ctx.arg64(3));
      if (r.n < 0) return r.n;
      const signed = BigInt.asIntN(64, r.negative ? -r.value : r.value);
      if (r.negative ? signed > 0n : signed < 0n) return -ERANGE;
      store(ctx, res, signed);
      return r.n;
    },
  });
  t.register({
    id: BPF_FUNC_strtoul,
    name: 'bpf_strtoul',
    proto: stringProtos.strtox,
    impl: (ctx, buf, len, _f, res) => {
      const r = strtoull(input(ctx, buf, len), ctx.arg64(3));
      if (r.n < 0) return r.n;
      if (r.negative) return -EINVAL;
      store(ctx, res, r.value);
      return r.n;
    },
  });

  // kernel: bpf_snprintf() — returns the length the whole output needs, NUL included.
  t.register({
    id: BPF_FUNC_snprintf,
    name: 'bpf_snprintf',
    proto: stringProtos.snprintf,
    impl: (ctx, str, size, fmt, data, dataLen) => {
      if (dataLen % 8 !== 0 || dataLen / 8 > MAX_BPF_FUNC_VARARGS) return -EINVAL;
      const fmtMax = ctx.arena.regionAt(fmt);
      if (!fmtMax || fmt >= fmtMax.end) return -EINVAL;
      const fmtBytes = ctx.arena.read(fmt, fmtMax.end - fmt);
      if (dataLen > 0 && !ctx.arena.check(data, dataLen, false)) return -EINVAL;
      const args: bigint[] = [];
      for (let i = 0; i < dataLen / 8; i++) args.push(ctx.arena.dv.getBigUint64(data + 8 * i, true));
      const bytes = bprintf(fmtBytes, args, ctx.arena);
      if (typeof bytes === 'number') return bytes;
      if (size > 0) {
        if (!ctx.arena.check(str, size, true))
          return ctx.fault('helper', 'bpf_snprintf: output not writable');
        const n = Math.min(bytes.length, size - 1);
        ctx.arena.u8.set(bytes.subarray(0, n), str);
        ctx.arena.u8[str + n] = 0;
      }
      return bytes.length + 1 > 0xffffffff ? -E2BIG : bytes.length + 1;
    },
  });
}
