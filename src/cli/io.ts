import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

export function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new InputError('IO', `cannot read ${path}: ${why}`, { where: { file: path } });
  }
}

/** Writes an output file; refuses to overwrite an input of the same command. */
export function writeOutput(path: string, data: Uint8Array | string, inputs: string[] = []): void {
  if (inputs.includes(path)) throw new UsageError(`refusing to overwrite the input file ${path}`);
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
