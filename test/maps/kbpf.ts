// The kernel oracle for map tests: runs a program with maps through tools/kbpf (the live
// kernel's BPF_MAP_CREATE / BPF_PROG_LOAD / BPF_PROG_TEST_RUN) and the same program through
// tsbpf's testRun with maps from createMap(), and reports both in one shape.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeProgram } from '../../src/isa/encode.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { ArrayMap } from '../../src/maps/array.ts';
import { createMap } from '../../src/maps/create.ts';
import { MapError } from '../../src/maps/errno.ts';
import type { BpfMap } from '../../src/maps/map.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { possibleCpus } from './host-ops.ts';
import { Vm } from '../../src/vm/vm.ts';
import { SHARED_DIR } from '../shared-dir.ts';

const root = new URL('../..', import.meta.url).pathname;
const kbpf = join(root, 'node_modules/.cache/kbpf');
let dir: string | undefined;

/** A map as kbpf's --map takes it: TYPE:KEY:VALUE:MAX_ENTRIES. */
export interface KMap {
  type: 'array' | 'hash' | 'percpu_array' | 'lru_hash' | 'ringbuf' | 'prog_array';
  key: number;
  value: number;
  max: number;
}

export const kmapArg = (m: KMap): string => `${m.type}:${m.key}:${m.value}:${m.max}`;

export interface Outcome {
  /** 'accept', 'reject' (verifier), or 'create: <errno name>' when a map was refused. */
  verdict: string;
  retval?: number;
  /** `map<i>[k]` → value hex, for every plain array map. */
  maps: Record<string, string>;
  raw: string;
}

function tmp(): string {
  dir ??= mkdtempSync(join(tmpdir(), 'tsbpf-maps-kdiff-'));
  return dir;
}

export function cleanup(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Why the kernel oracle cannot be used, or undefined when it can. */
export function oracleProblem(): string | undefined {
  try {
    if (!existsSync(kbpf)) {
      mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
      execFileSync('gcc', ['-O2', '-o', kbpf, `${SHARED_DIR}/tools/kbpf/kbpf.c`], { stdio: 'pipe' });
    }
  } catch (e) {
    return `cannot build kbpf (gcc missing?): ${(e as Error).message.split('\n')[0]}`;
  }
  // r0 = 1; exit
  const probe = runKernel(
    [
      { code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 },
      { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
    ],
    [],
  );
  if (probe.verdict !== 'accept' || probe.retval !== 1)
    return `bpf() unavailable: ${probe.raw.split('\n')[0]}`;
  return undefined;
}

// strerror() texts kbpf prints when BPF_MAP_CREATE fails.
const STRERROR: Record<string, string> = {
  'Invalid argument': 'EINVAL',
  'Argument list too long': 'E2BIG',
  'Cannot allocate memory': 'ENOMEM',
  'Operation not permitted': 'EPERM',
  'Unknown error 524': 'ENOTSUPP',
  'Bad file descriptor': 'EBADF',
};

export function runKernel(insns: readonly Insn[], maps: readonly KMap[], type = 'socket_filter'): Outcome {
  const p = join(tmp(), 'prog.bin');
  writeFileSync(p, encodeProgram(insns as Insn[]));
  const args = ['--type', type, '--run', '--dump-maps'];
  for (const m of maps) args.push('--map', kmapArg(m));
  args.push(p);
  const r = spawnSync(kbpf, args, { encoding: 'utf8' });
  const raw = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`;
  const out: Outcome = { verdict: 'error', maps: {}, raw };
  const created = /map create [^:]+:[^:]+:[^:]+:[^:]+: (.*)$/m.exec(r.stderr ?? '');
  if (created) {
    out.verdict = `create: ${STRERROR[created[1]!] ?? created[1]}`;
    return out;
  }
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^([\w[\]]+): ?(.*)$/.exec(line);
    if (!m) continue;
    const k = m[1]!;
    const v = m[2]!;
    if (k === 'verdict') out.verdict = v;
    else if (k === 'retval') out.retval = Number(v);
    else if (/^map\d+\[\d+\]$/.test(k)) out.maps[k] = v;
  }
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The same run in tsbpf: maps from createMap(), a socket filter over 64 zero bytes. */
export function runTsbpf(
  insns: readonly Insn[],
  maps: readonly KMap[],
  setup?: (maps: BpfMap[]) => void,
): Outcome & { live: BpfMap[] } {
  const vm = new Vm({ seed: 1 });
  const live: BpfMap[] = [];
  for (const m of maps) {
    try {
      live.push(
        createMap(
          vm.arena,
          { type: m.type, keySize: m.key, valueSize: m.value, maxEntries: m.max },
          // As many CPUs as the kernel has: LRU maps size their free-list batches by it.
          { nrCpus: possibleCpus() },
        ),
      );
    } catch (e) {
      if (e instanceof MapError) {
        const name = e.message.replace(/^.*\((\w+)\)$/, '$1');
        return { verdict: `create: ${name}`, maps: {}, raw: e.message, live };
      }
      throw e;
    }
  }
  setup?.(live);
  const r = testRun(insns as Insn[], { type: 'socket_filter', data: new Uint8Array(64), vm, maps: live });
  const dumps: Record<string, string> = {};
  live.forEach((m, i) => {
    if (m instanceof ArrayMap && !m.percpu)
      for (let k = 0; k < m.maxEntries; k++) dumps[`map${i}[${k}]`] = hex(m.lookup(ArrayMap.key(k))!);
  });
  return { verdict: 'accept', retval: r.retval, maps: dumps, raw: '', live };
}
