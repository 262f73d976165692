import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError, UsageError } from '../errors.ts';

/** Output sink, so that commands can be tested without a real terminal. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** A file's bytes; '-' reads standard input (as kbpf does). */
export function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new InputError('IO', `cannot read ${path}: ${why}`, { where: { file: path } });
  }
}

/** The same file, however it is spelled ('a.s', './a.s', a symlink to it). */
export function samePath(a: string, b: string): boolean {
  const canon = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return canon(a) === canon(b);
}

/**
 * Writes an output file. Never overwrites an input of the same command; with `keepExisting`
 * (an output name the user did not type) never overwrites any existing file either.
 */
export function writeOutput(
  path: string,
  data: Uint8Array | string,
  inputs: string[] = [],
  opts: { keepExisting?: boolean } = {},
): void {
  if (inputs.some((i) => samePath(i, path)))
    throw new UsageError(`refusing to overwrite the input file ${path}`);
  if (opts.keepExisting && existsSync(path))
    throw new UsageError(`${path} exists; pass --force to replace it, or -o to name another output`);
  try {
    writeFileSync(path, data);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError('IO', `cannot write ${path}: ${code}`, { where: { file: path } });
  }
}

export const fileExists = existsSync;

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function json(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}
