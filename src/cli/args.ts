import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** util.parseArgs, with its errors turned into UsageError (main() prefixes the command name). */
export function parseCommandArgs(_command: string, argv: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    // Node's messages run over several lines ("Did you forget ..."): keep the first sentence.
    const text = err instanceof Error ? err.message : String(err);
    const msg = text.split('\n')[0]!.replace(/\. To specify a positional.*$/s, '');
    throw new UsageError(msg);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} needs a value`);
  return v;
}

export function strs(p: Parsed, name: string): string[] {
  const v = p.values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** A non-negative integer option (decimal or 0x hex). */
export function int(p: Parsed, name: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  const s = str(p, name);
  if (s === undefined) return dflt;
  const n = /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new UsageError(`--${name}: expected an integer between 0 and ${max}, got '${s}'`);
  }
  return n;
}

export function onePositional(p: Parsed, _command: string, what = 'FILE'): string {
  if (p.positionals.length !== 1) {
    throw new UsageError(`expected exactly one ${what}, got ${p.positionals.length}`);
  }
  return p.positionals[0]!;
}
