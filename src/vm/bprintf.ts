// The printf dialect of bpf_trace_printk, bpf_snprintf and bpf_seq_printf: which formats the
// kernel accepts, and what its vsprintf prints for them. One parser for the verifier (a constant
// bpf_snprintf format is checked at load time) and for the helpers (-EINVAL at run time).
// kernel: bpf_bprintf_prepare() in kernel/bpf/helpers.c; bstr_printf() in lib/vsprintf.c
import type { Arena } from './arena.ts';

/** kernel: MAX_BPRINTF_VARARGS */
export const MAX_BPRINTF_VARARGS = 12;
/** kernel: MAX_BPRINTF_BUF — the scratch space %s strings are copied into, per call. */
export const MAX_BPRINTF_BUF = 512;

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const isPrint = (c: number) => c >= 32 && c < 127;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlnum = (c: number) => isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 122);
const isPunct = (c: number) => isPrint(c) && c !== 32 && !isAlnum(c);

interface Spec {
  left: boolean;
  zero: boolean;
  plus: boolean;
  space: boolean;
  width: number;
}

/** lib/vsprintf.c widen_string(): spaces on the left, or on the right with '-'. */
function pad(s: string, spec: Spec): string {
  if (s.length >= spec.width) return s;
  return spec.left ? s.padEnd(spec.width) : s.padStart(spec.width);
}

/** lib/vsprintf.c number() for bases 10 and 16 (no precision: the BPF dialect has none). */
function number(v: bigint, signed: boolean, base: 10 | 16, upper: boolean, spec: Spec): string {
  let sign = '';
  if (signed) {
    if (v < 0n) {
      sign = '-';
      v = -v;
    } else if (spec.plus) sign = '+';
    else if (spec.space) sign = ' ';
  }
  let digits = v.toString(base);
  if (upper) digits = digits.toUpperCase();
  if (spec.zero && !spec.left) return sign + digits.padStart(spec.width - sign.length, '0');
  return pad(sign + digits, spec);
}

const hex2 = (b: number) => b.toString(16).padStart(2, '0');

/**
 * Formats `fmt` (bytes up to its NUL) with `args` (u64 each) the way bpf_seq_printf does.
 * Returns the output bytes, or a negative errno: -EINVAL for a format the kernel refuses.
 * Strings (%s, %pks, %pus) and %pI4/%pI6 addresses are read from `arena`; an unreadable
 * string prints as empty, an unreadable address as zeros, as in the kernel. Without an arena
 * (format checks only) every string is empty and every address zeros.
 */
export function bprintf(
  fmtBytes: Uint8Array,
  args: readonly bigint[],
  arena: Arena | null,
): Uint8Array | number {
  const EINVAL = -22;
  const end = fmtBytes.indexOf(0);
  if (end < 0) return EINVAL;
  const f = fmtBytes.subarray(0, end);
  const at = (i: number) => (i < f.length ? f[i]! : 0);
  const out: number[] = [];
  const put = (s: string) => {
    for (let k = 0; k < s.length; k++) out.push(s.charCodeAt(k) & 0xff);
  };
  let nSpec = 0;
  let strBudget = MAX_BPRINTF_BUF;
  for (let i = 0; i < f.length; i++) {
    const c = f[i]!;
    if ((!isPrint(c) && !isSpace(c)) || c > 127) return EINVAL;
    if (c !== 37) {
      out.push(c);
      continue;
    }
    if (at(i + 1) === 37) {
      out.push(37);
      i++;
      continue;
    }
    if (nSpec >= args.length) return EINVAL;
    const arg = args[nSpec++]!;
    i++;
    // "[0 +-][num]": flags, then a width starting 1-9; no '#', no precision.
    const spec: Spec = { left: false, zero: false, plus: false, space: false, width: 0 };
    for (;;) {
      const ch = at(i);
      if (ch === 48) spec.zero = true;
      else if (ch === 43) spec.plus = true;
      else if (ch === 45) spec.left = true;
      else if (ch === 32) spec.space = true;
      else break;
      i++;
    }
    if (at(i) >= 49 && at(i) <= 57) {
      let w = 0;
      while (isDigit(at(i))) w = w * 10 + (at(i++) - 48);
      spec.width = w;
    }
    const conv = at(i);
    if (conv === 112 /* p */) {
      const m = at(i + 1);
      if (m === 0 || isSpace(m) || isPunct(m) || m === 75 || m === 120 || m === 115 || m === 83) {
        // %p, %pK, %px (%ps/%pS print symbols, which tsbpf has none of: hex instead).
        if (m === 75 || m === 120 || m === 115 || m === 83) i++;
        if (arg === 0n && m !== 120 && m !== 75) put(pad('(null)', spec));
        else put(spec.width ? number(arg, false, 16, false, spec) : arg.toString(16).padStart(16, '0'));
        continue;
      }
      if ((m === 107 || m === 117) && at(i + 2) === 115 /* %pks %pus */) {
        i += 2;
        if (!validStrEnd(at(i + 1))) return EINVAL;
        const s = readStr(arena, arg, strBudget);
        strBudget -= s.length + 1;
        put(pad(s, spec));
        continue;
      }
      if ((m !== 105 && m !== 73) || (at(i + 2) !== 52 && at(i + 2) !== 54)) return EINVAL;
      const v6 = at(i + 2) === 54;
      const len = v6 ? 16 : 4;
      const a = Number(arg & 0xffffffffn);
      const ok = arena !== null && arg < 0x1_0000_0000n && arena.check(a, len, false);
      const b = ok ? arena.read(a, len) : new Uint8Array(len);
      let s: string;
      if (!v6) s = [...b].map((x) => (m === 105 ? String(x).padStart(3, '0') : String(x))).join('.');
      else if (m === 105) s = [...b].map(hex2).join('');
      else s = [0, 2, 4, 6, 8, 10, 12, 14].map((k) => hex2(b[k]!) + hex2(b[k + 1]!)).join(':');
      i += 2;
      put(pad(s, spec));
      continue;
    }
    if (conv === 115 /* s */) {
      if (!validStrEnd(at(i + 1))) return EINVAL;
      const s = readStr(arena, arg, strBudget);
      strBudget -= s.length + 1;
      put(pad(s, spec));
      continue;
    }
    if (conv === 99 /* c */) {
      put(pad(String.fromCharCode(Number(arg & 0xffn)), spec));
      continue;
    }
    let bits = 32;
    if (at(i) === 108) {
      bits = 64;
      i++;
    }
    if (at(i) === 108) i++;
    const k = at(i);
    if (k !== 105 && k !== 100 && k !== 117 && k !== 120 && k !== 88) return EINVAL;
    const signed = k === 105 || k === 100;
    const v = signed ? BigInt.asIntN(bits, arg) : BigInt.asUintN(bits, arg);
    put(number(v, signed, k === 120 || k === 88 ? 16 : 10, k === 88, spec));
  }
  return Uint8Array.from(out);
}

/** A string conversion must end the word: NUL, space or punctuation next. */
const validStrEnd = (c: number) => c === 0 || isSpace(c) || isPunct(c);

/** kernel: strncpy_from_kernel_nofault() into what is left of the scratch buffer. */
function readStr(arena: Arena | null, ptr: bigint, budget: number): string {
  if (arena === null || budget <= 0 || ptr >= 0x1_0000_0000n) return '';
  let s = '';
  const a = Number(ptr);
  for (let i = 0; i < budget - 1; i++) {
    if (!arena.check(a + i, 1, false)) return ''; // a fault empties the copy
    const c = arena.u8[a + i]!;
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Whether `fmt` (up to its NUL) is a format bpf_bprintf_prepare() accepts with `numArgs` u64
 * arguments (kernel: check_bpf_snprintf_call() runs it on a constant format at load time).
 */
export function bprintfFormatValid(fmt: Uint8Array, numArgs: number): boolean {
  if (numArgs > MAX_BPRINTF_VARARGS) return false;
  return typeof bprintf(fmt, new Array<bigint>(numArgs).fill(0n), null) !== 'number';
}
