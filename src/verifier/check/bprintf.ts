// The printf subset bpf_snprintf accepts (kernel: bpf_bprintf_prepare()); the verifier runs it on
// the constant format string, so a bad format is a load error rather than -EINVAL at run time.

/** kernel: MAX_BPF_FUNC_VARARGS */
const MAX_ARGS = 12;
const ch = (s: string): number => s.charCodeAt(0);
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isPunct = (c: number): boolean => c > 32 && c < 127 && !isAlnum(c);

/** Whether `fmt` (up to its NUL) is a valid format for `numArgs` u64 arguments. */
export function validBprintfFormat(fmt: Uint8Array, numArgs: number): boolean {
  if (numArgs > MAX_ARGS) return false;
  const at = (i: number): number => (i < fmt.length ? fmt[i]! : 0);
  let spec = 0;
  for (let i = 0; i < fmt.length && fmt[i] !== 0; i++) {
    const c = fmt[i]!;
    if (c >= 128 || (!(c >= 32 && c < 127) && !isSpace(c))) return false;
    if (c !== ch('%')) continue;
    if (at(i + 1) === ch('%')) {
      i++;
      continue;
    }
    if (spec >= numArgs) return false;
    i++;
    // "[0 +-][width]"
    while ('0+- '.includes(String.fromCharCode(at(i))) && at(i) !== 0) i++;
    if (at(i) >= ch('1') && at(i) <= ch('9')) {
      i++;
      while (at(i) >= ch('0') && at(i) <= ch('9')) i++;
    }
    const f = at(i);
    if (f === ch('p')) {
      const n = at(i + 1);
      if (n === ch('K') || n === ch('x') || n === ch('B')) i++;
      else if ((n === ch('k') || n === ch('u')) && at(i + 2) === ch('s')) i += 2;
      else if (n === 0 || isSpace(n) || isPunct(n)) {
        // plain %p
      } else if ((n === ch('i') || n === ch('I')) && (at(i + 2) === ch('4') || at(i + 2) === ch('6'))) i += 2;
      else return false;
    } else if (f !== ch('c') && f !== ch('s')) {
      if (at(i) === ch('l')) i++;
      if (at(i) === ch('l')) i++;
      if (!'iduxX'.includes(String.fromCharCode(at(i))) || at(i) === 0) return false;
    }
    spec++;
  }
  return true;
}
