// The kbpf oracle (/work/shared/tools/kbpf): built once into node_modules/.cache, run as child
// processes, several at a time, each printing "key: value" lines.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_DIR } from '../shared-dir.ts';

const root = new URL('../..', import.meta.url).pathname;
export const KBPF = join(root, 'node_modules/.cache/kbpf');
const SRC = `${SHARED_DIR}/tools/kbpf/kbpf.c`;

export interface KbpfResult {
  verdict: 'accept' | 'reject' | 'error';
  errno?: string;
  runError?: string;
  retval?: number;
  dataOut?: string;
  raw: string;
}

/** Builds kbpf if needed; returns why it cannot be used, or undefined. */
export function kbpfProblem(): string | undefined {
  if (!existsSync(KBPF)) {
    if (!existsSync(SRC)) return `kbpf source ${SRC} not found`;
    try {
      mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
      execFileSync('gcc', ['-O2', '-o', KBPF, SRC], { stdio: 'pipe' });
    } catch (e) {
      return `cannot build kbpf with gcc: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

export function parseKbpf(stdout: string, raw: string): KbpfResult {
  const out: KbpfResult = { verdict: 'error', raw };
  for (const line of stdout.split('\n')) {
    const m = /^([\w[\]]+): ?(.*)$/.exec(line);
    if (!m) continue;
    const k = m[1]!;
    const v = m[2]!;
    if (k === 'verdict') out.verdict = v === 'accept' ? 'accept' : 'reject';
    else if (k === 'errno') out.errno = v;
    else if (k === 'retval') out.retval = Number(v);
    else if (k === 'run_error') out.runError = v;
    else if (k === 'data_out') out.dataOut = v;
  }
  return out;
}

export function runKbpf(args: string[]): Promise<KbpfResult> {
  return new Promise((resolve) => {
    const child = spawn(KBPF, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (e) => resolve({ verdict: 'error', raw: e.message }));
    child.on('close', () => resolve(parseKbpf(stdout, `${stdout}${stderr}`)));
  });
}

/** Runs jobs with at most `limit` in flight; results in input order. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  job: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
