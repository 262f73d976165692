import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The workplace's read-only shared folder (conformance corpus, kernel oracles' C sources):
 * `$TSBPF_SHARED`, else `../shared` beside the clone, else the workplace's `/work/shared`.
 */
export const SHARED_DIR: string =
  process.env.TSBPF_SHARED ??
  [resolve(import.meta.dirname, '../../shared'), '/work/shared'].find((d) => existsSync(d)) ??
  resolve(import.meta.dirname, '../../shared');
