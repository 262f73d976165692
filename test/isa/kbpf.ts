// The shared kbpf oracle (/work/shared/tools/kbpf/kbpf.c), built once per test file into a
// temporary directory. Undefined when not root, without gcc, or without the source.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DIR } from '../shared-dir.ts';

const KBPF_SRC = `${SHARED_DIR}/tools/kbpf/kbpf.c`;

export interface Kbpf {
  /** Loads raw bytes as a socket filter; returns the verdict and the verifier log. */
  load(bytes: Uint8Array, logLevel: number): { accepted: boolean; log: string };
  close(): void;
}

export function buildKbpf(): Kbpf | undefined {
  if (process.getuid?.() !== 0 || !existsSync(KBPF_SRC)) return undefined;
  const work = mkdtempSync(join(tmpdir(), 'tsbpf-kbpf-'));
  const bin = join(work, 'kbpf');
  try {
    execFileSync('gcc', ['-O2', '-o', bin, KBPF_SRC], { stdio: 'ignore' });
  } catch {
    rmSync(work, { recursive: true, force: true });
    return undefined;
  }
  let n = 0;
  return {
    load(bytes, logLevel) {
      const file = join(work, `p${n++}.bin`);
      writeFileSync(file, bytes);
      const r = spawnSync(bin, ['--log', String(logLevel), file], { encoding: 'utf8' });
      const log = r.stdout.split('--- log\n')[1]?.split('--- end log')[0] ?? '';
      return { accepted: /^verdict: accept$/m.test(r.stdout), log };
    },
    close() {
      rmSync(work, { recursive: true, force: true });
    },
  };
}
