import { resolve } from 'node:path';

/**
 * The workplace's read-only shared folder (conformance corpus, kernel oracles' C sources):
 * `../shared` beside the clone, wherever the clone is, or `$TSBPF_SHARED`.
 */
export const SHARED_DIR = process.env.TSBPF_SHARED ?? resolve(import.meta.dirname, '../../shared');
