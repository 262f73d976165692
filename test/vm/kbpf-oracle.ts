// The live kernel as a test oracle: tools/kbpf loads raw bytecode and runs BPF_PROG_TEST_RUN.
// Built on first use into node_modules/.cache; problem() says why it cannot be used (no gcc,
// no bpf()), so tests can skip with that reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestRunProgType } from '../../src/runtime/test-run.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { type Insn, insn } from '../../src/isa/insn.ts';
import { SHARED_DIR } from '../shared-dir.ts';

const root = new URL('../..', import.meta.url).pathname;
const kbpf = join(root, 'node_modules/.cache/kbpf');

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
  private readonly tmp = mkdtempSync(join(tmpdir(), 'tsbpf-kbpf-'));
  private checked: { problem: string | undefined } | undefined;

  /** Why the oracle is unusable, or undefined when it works (cached). */
  problem(): string | undefined {
    this.checked ??= { problem: this.probe() };
    return this.checked.problem;
  }

  close(): void {
    rmSync(this.tmp, { recursive: true, force: true });
  }

  run(
    type: TestRunProgType,
    insns: Insn[],
    data: Uint8Array,
    maps: MapDef[] = [],
    ctx?: Uint8Array,
  ): KernelOut {
    const p = join(this.tmp, 'prog.bin');
    const d = join(this.tmp, 'data.bin');
    writeFileSync(p, encodeProgram(insns));
    writeFileSync(d, data);
    const args = ['--type', type, '--run', '--data', d];
    if (ctx) {
      writeFileSync(join(this.tmp, 'ctx.bin'), ctx);
      args.push('--ctx', join(this.tmp, 'ctx.bin'));
    }
    for (const m of maps) args.push('--map', `array:4:${m.valueSize}:${m.maxEntries}`);
    if (maps.length) args.push('--dump-maps');
    args.push(p);
    const r = spawnSync(kbpf, args, { encoding: 'utf8' });
    const raw = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`;
    const out: KernelOut = { verdict: 'error', dataOut: '', maps: new Map(), raw };
    for (const line of (r.stdout ?? '').split('\n')) {
      const m = /^([\w[\]]+): ?(.*)$/.exec(line);
      if (!m) continue;
      const [, k, v] = m as unknown as [string, string, string];
      if (k === 'verdict') out.verdict = v;
      else if (k === 'retval') out.retval = Number(v);
      else if (k === 'run_error') out.runError = v;
      else if (k === 'data_out') out.dataOut = v;
      else if (k.startsWith('map')) out.maps.set(k, v);
    }
    return out;
  }

  private probe(): string | undefined {
    try {
      if (!existsSync(kbpf)) {
        mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
        execFileSync('gcc', ['-O2', '-o', kbpf, `${SHARED_DIR}/tools/kbpf/kbpf.c`], { stdio: 'pipe' });
      }
    } catch (e) {
      return `cannot build kbpf (gcc missing?): ${(e as Error).message.split('\n')[0]}`;
    }
    // mov r0, 1; exit
    const probe = this.run('socket_filter', [insn(0xb7, 0, 0, 0, 1), insn(0x95)], new Uint8Array(14));
    if (probe.verdict !== 'accept' || probe.retval !== 1)
      return `bpf() unavailable: ${probe.raw.split('\n')[0]}`;
    return undefined;
  }
}
