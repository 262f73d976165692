// The shared kbpf oracle (test/oracles.ts) as the ISA tests use it: load raw bytes as a socket
// filter, read the verdict and the verifier log. Undefined when kbpf or bpf() is unavailable.
import { prepareKbpf, runKbpfSync, TempDir } from '../oracles.ts';

export interface Kbpf {
  /** Loads raw bytes as a socket filter; returns the verdict and the verifier log. */
  load(bytes: Uint8Array, logLevel: number): { accepted: boolean; log: string };
  close(): void;
}

export function buildKbpf(): Kbpf | undefined {
  const tool = prepareKbpf();
  if (tool.skip) return undefined;
  const dir = new TempDir('tsbpf-kbpf-');
  let n = 0;
  return {
    load(bytes, logLevel) {
      const r = runKbpfSync(tool.path, ['--log', String(logLevel), dir.file(`p${n++}.bin`, bytes)]);
      return { accepted: r.verdict === 'accept', log: r.log };
    },
    close: () => dir.close(),
  };
}
