// The kbpf oracle (test/oracles.ts) for the differential tests: run as child processes,
// several at a time.
import { prepareKbpf, runKbpfAsync } from '../oracles.ts';

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
  return prepareKbpf().skip;
}

export async function runKbpf(args: string[]): Promise<KbpfResult> {
  const r = await runKbpfAsync(prepareKbpf().path, args);
  const verdict = r.verdict === 'accept' || r.verdict === 'error' ? r.verdict : 'reject';
  return { verdict, errno: r.errno, runError: r.runError, retval: r.retval, dataOut: r.dataOut, raw: r.raw };
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
