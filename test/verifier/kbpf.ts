// The shared kbpf oracle (test/oracles.ts) for verifier tests: loads raw bytecode with a program
// type and maps, returns the kernel's verdict, processed count and log. Undefined when kbpf or
// bpf() cannot be used.
import { join } from 'node:path';
import { buildCTool, prepareKbpf, repoRoot, runKbpfSync, TempDir } from '../oracles.ts';

export interface KernelVerdict {
  accepted: boolean;
  insnsProcessed: number;
  log: string[];
}

/** BTF to load the program with (through kbtf, test/examples/kbtf.c): callbacks need func_info. */
export interface KbpfBtf {
  btf: Uint8Array;
  funcInfoBytes: Uint8Array;
  /** Per map index, the BTF key and value type ids. */
  mapTypeIds: ReadonlyMap<number, { key: number; value: number }>;
}

export interface Kbpf {
  load(
    bytes: Uint8Array,
    progType: string,
    maps: readonly string[],
    logLevel?: number,
    btf?: KbpfBtf,
  ): KernelVerdict;
  close(): void;
}

export function buildKbpf(): Kbpf | undefined {
  const tool = prepareKbpf();
  if (tool.skip) return undefined;
  const dir = new TempDir('tsbpf-vkbpf-');
  let kbtf: string | undefined;
  let n = 0;
  return {
    load(bytes, progType, maps, logLevel = 1, btf) {
      const args = ['--type', progType, '--log', String(logLevel)];
      let path = tool.path;
      if (btf) {
        if (kbtf === undefined) {
          const t = buildCTool('kbtf', join(repoRoot, 'test/examples/kbtf.c'), ['-lbpf', '-lelf', '-lz']);
          if (t.skip) throw new Error(`kbtf: ${t.skip}`);
          kbtf = t.path;
        }
        path = kbtf;
        args.push(
          '--btf',
          dir.file(`p${n}.btf`, btf.btf),
          '--func-info',
          dir.file(`p${n}.func`, btf.funcInfoBytes),
        );
      }
      maps.forEach((m, i) => {
        const ids = btf?.mapTypeIds.get(i);
        const spec = m.split(':').slice(0, 4).join(':');
        args.push('--map', ids ? `${spec}:0:${ids.key}:${ids.value}` : spec);
      });
      args.push(dir.file(`p${n++}.bin`, bytes));
      const r = runKbpfSync(path, args);
      return {
        accepted: r.verdict === 'accept',
        insnsProcessed: r.insnsProcessed ?? 0,
        log: r.log.replace(/\n$/, '').split('\n'),
      };
    },
    close: () => dir.close(),
  };
}
