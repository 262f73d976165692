// The shared kbpf oracle (test/oracles.ts) for verifier tests: loads raw bytecode with a program
// type and maps, returns the kernel's verdict, processed count and log. Undefined when kbpf or
// bpf() cannot be used.
import { prepareKbpf, runKbpfSync, TempDir } from '../oracles.ts';

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
  const tool = prepareKbpf();
  if (tool.skip) return undefined;
  const dir = new TempDir('tsbpf-vkbpf-');
  let n = 0;
  return {
    load(bytes, progType, maps, logLevel = 1) {
      const args = ['--type', progType, '--log', String(logLevel)];
      for (const m of maps) args.push('--map', m);
      args.push(dir.file(`p${n++}.bin`, bytes));
      const r = runKbpfSync(tool.path, args);
      return {
        accepted: r.verdict === 'accept',
        insnsProcessed: r.insnsProcessed ?? 0,
        log: r.log.replace(/\n$/, '').split('\n'),
      };
    },
    close: () => dir.close(),
  };
}
