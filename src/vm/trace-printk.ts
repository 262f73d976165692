// bpf_trace_printk's format language: a printf subset with at most three arguments.
// kernel: bpf_bprintf_prepare() decides what is valid; invalid formats return undefined (-EINVAL).
import type { Arena } from './arena.ts';

const MAX_STR = 512;

export function formatTracePrintk(
  fmt: Uint8Array,
  args: readonly bigint[],
  arena: Arena,
): string | undefined {
  const nul = fmt.indexOf(0);
  if (nul < 0) return undefined; // the kernel requires the NUL inside fmt_size
  const s = String.fromCharCode(...fmt.subarray(0, nul));
  let out = '';
  let argi = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    if (s[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const m = /^%([-+ #0]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXocsp])/.exec(s.slice(i));
    if (!m) return undefined;
    if (argi >= args.length) return undefined;
    const [whole, flags = '', width = '', prec, len, conv] = m;
    i += whole.length - 1;
    const raw = args[argi++]!;
    let body: string;
    switch (conv) {
      case 'c':
        body = String.fromCharCode(Number(raw & 0xffn));
        break;
      case 's': {
        const str = arena.readCString(Number(raw & 0xffffffffn), MAX_STR);
        body = str ?? '(efault)';
        if (prec !== undefined) body = body.slice(0, Number(prec));
        break;
      }
      case 'p':
        body = `0x${raw.toString(16)}`;
        break;
      default: {
        const bits =
          len === 'll' || len === 'l' || len === 'z' ? 64 : len === 'h' ? 16 : len === 'hh' ? 8 : 32;
        const signed = conv === 'd' || conv === 'i';
        const v = signed ? BigInt.asIntN(bits, raw) : BigInt.asUintN(bits, raw);
        const base = conv === 'x' || conv === 'X' ? 16 : conv === 'o' ? 8 : 10;
        let digits = (v < 0n ? -v : v).toString(base);
        if (conv === 'X') digits = digits.toUpperCase();
        if (prec !== undefined) digits = digits.padStart(Number(prec), '0');
        if (flags.includes('#') && v !== 0n && base !== 10)
          digits = (base === 16 ? `0${conv}` : '0') + digits;
        const sign = v < 0n ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
        body = sign + digits;
        if (flags.includes('0') && !flags.includes('-') && width) {
          body = sign + digits.padStart(Number(width) - sign.length, '0');
        }
      }
    }
    if (width) body = flags.includes('-') ? body.padEnd(Number(width)) : body.padStart(Number(width));
    out += body;
  }
  return out;
}
