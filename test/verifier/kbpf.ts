// The kbpf oracle (/work/shared/tools/kbpf/kbpf.c) for verifier tests: loads raw bytecode with
// a program type and maps, returns the kernel's verdict, processed count and log. Undefined
// when bpf() cannot be used (not root, no gcc, no source).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DIR } from '../shared-dir.ts';

const KBPF_SRC = `${SHARED_DIR}/tools/kbpf/kbpf.c`;

export interface KernelVerdict {
  accepted: boolean;
  insnsProcessed: number;
  log: string[];
}

export interface Kbpf {
  load(bytes: Uint8Array, progType: string, maps: readonly string[], logLevel?: number): KernelVerdict;
  close(): void;
}

export function buildKbpf(): Kbpf | undefined {
  if (process.getuid?.() !== 0 || !existsSync(KBPF_SRC)) return undefined;
  const work = mkdtempSync(join(tmpdir(), 'tsbpf-vkbpf-'));
  const bin = join(work, 'kbpf');
  try {
    execFileSync('gcc', ['-O2', '-o', bin, KBPF_SRC], { stdio: 'ignore' });
  } catch {
    rmSync(work, { recursive: true, force: true });
    return undefined;
  }
  let n = 0;
  return {
    load(bytes, progType, maps, logLevel = 1) {
      const file = join(work, `p${n++}.bin`);
      writeFileSync(file, bytes);
      const args = ['--type', progType, '--log', String(logLevel)];
      for (const m of maps) args.push('--map', m);
      args.push(file);
      const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
      const log = r.stdout.split('--- log\n')[1]?.split('--- end log')[0] ?? '';
      const processed = /^insns_processed: (\d+)/m.exec(r.stdout);
      return {
        accepted: /^verdict: accept$/m.test(r.stdout),
        insnsProcessed: processed ? Number(processed[1]) : 0,
        log: log.replace(/\n$/, '').split('\n'),
      };
    },
    close() {
      rmSync(work, { recursive: true, force: true });
    },
  };
}
