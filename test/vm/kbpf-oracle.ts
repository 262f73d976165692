// The live kernel as a test oracle: tools/kbpf loads raw bytecode and runs BPF_PROG_TEST_RUN.
// Built on first use (test/oracles.ts); problem() says why it cannot be used (no gcc, no bpf()),
// so tests can skip with that reason.
import type { TestRunProgType } from '../../src/runtime/test-run.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { prepareKbpf, runKbpfSync, TempDir } from '../oracles.ts';

export interface KernelOut {
  verdict: string;
  runError?: string;
  retval?: number;
  dataOut: string;
  maps: Map<string, string>;
  raw: string;
}

export interface MapDef {
  valueSize: number;
  maxEntries: number;
}

export class KbpfOracle {
  private readonly tmp = new TempDir('tsbpf-kbpf-');

  /** Why the oracle is unusable, or undefined when it works (cached). */
  problem(): string | undefined {
    return prepareKbpf().skip;
  }

  close(): void {
    this.tmp.close();
  }

  run(
    type: TestRunProgType,
    insns: Insn[],
    data: Uint8Array,
    maps: MapDef[] = [],
    ctx?: Uint8Array,
  ): KernelOut {
    const p = this.tmp.file('prog.bin', encodeProgram(insns));
    const args = ['--type', type, '--run', '--data', this.tmp.file('data.bin', data)];
    if (ctx) args.push('--ctx', this.tmp.file('ctx.bin', ctx));
    for (const m of maps) args.push('--map', `array:4:${m.valueSize}:${m.maxEntries}`);
    if (maps.length) args.push('--dump-maps');
    args.push(p);
    const r = runKbpfSync(prepareKbpf().path, args);
    return {
      verdict: r.verdict,
      runError: r.runError,
      retval: r.retval,
      dataOut: r.dataOut ?? '',
      maps: r.maps,
      raw: r.raw,
    };
  }
}
