// Error classes shared by every module. Only cli/ prints errors or picks exit codes;
// everything else throws one of these, wrapping the cause as it bubbles up.

/** Where an error happened, from the outside in: file → section → program → instruction → source line. */
export interface Where {
  file?: string;
  section?: string;
  prog?: string;
  /** Instruction index, counted in 8-byte slots. */
  insnIdx?: number;
  /** Byte offset inside a file or section. */
  byteOff?: number;
  /** 1-based line (assembly text, or C source from BTF line info). */
  line?: number;
  col?: number;
  srcLine?: string;
}

export interface TsbpfErrorJSON {
  code: string;
  message: string;
  where?: Where;
  cause?: TsbpfErrorJSON | { message: string };
}

export class TsbpfError extends Error {
  /** Stable machine-readable code, e.g. 'ELF', 'ASM', 'DECODE', 'VERIFY', 'FAULT'. */
  readonly code: string;
  readonly where: Where;

  constructor(code: string, message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.where = opts.where ?? {};
  }

  /** `file: section: insn 42 (line 7): message: cause` — one line for the CLI. */
  format(): string {
    const w = this.where;
    const parts: string[] = [];
    if (w.file) parts.push(w.file);
    if (w.section) parts.push(`section ${w.section}`);
    if (w.prog) parts.push(`prog ${w.prog}`);
    if (w.insnIdx !== undefined) parts.push(`insn ${w.insnIdx}`);
    if (w.line !== undefined) parts.push(`line ${w.line}${w.col !== undefined ? `:${w.col}` : ''}`);
    if (w.byteOff !== undefined) parts.push(`offset 0x${w.byteOff.toString(16)}`);
    let msg = this.message;
    const cause = this.cause;
    if (cause instanceof TsbpfError) msg += `: ${cause.format()}`;
    else if (cause instanceof Error) msg += `: ${cause.message}`;
    return parts.length ? `${parts.join(': ')}: ${msg}` : msg;
  }

  toJSON(): TsbpfErrorJSON {
    const cause = this.cause;
    const out: TsbpfErrorJSON = { code: this.code, message: this.message };
    if (Object.keys(this.where).length) out.where = { ...this.where };
    if (cause instanceof TsbpfError) out.cause = cause.toJSON();
    else if (cause instanceof Error) out.cause = { message: cause.message };
    return out;
  }
}

/** Bad input from the user (files, arguments, text). CLI exit code 2. */
export class InputError extends TsbpfError {}
export class UsageError extends InputError {
  constructor(message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('USAGE', message, opts);
  }
}
export class DecodeError extends InputError {
  constructor(message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('DECODE', message, opts);
  }
}
export class AsmError extends InputError {
  constructor(message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('ASM', message, opts);
  }
}
export class ElfError extends InputError {
  constructor(message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('ELF', message, opts);
  }
}
export class BtfError extends InputError {
  constructor(message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('BTF', message, opts);
  }
}

/** A program that ran and stopped abnormally (checked mode). CLI exit code 1. */
export class RuntimeFault extends TsbpfError {
  readonly kind: string;
  constructor(kind: string, message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('FAULT', message, opts);
    this.kind = kind;
  }
}

/** A bug in tsbpf itself, never the user's fault. CLI exit code 70. */
export class InternalError extends TsbpfError {
  constructor(message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('INTERNAL', message, opts);
  }
}

/** Exit code the CLI uses for an error. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof InputError) return 2;
  if (err instanceof InternalError) return 70;
  if (err instanceof TsbpfError) return 1;
  return 70;
}
