// The kernel oracle for map tests: runs a program with maps through tools/kbpf (the live
// kernel's BPF_MAP_CREATE / BPF_PROG_LOAD / BPF_PROG_TEST_RUN) and the same program through
// tsbpf's testRun with maps from createMap(), and reports both in one shape.
import { encodeProgram } from '../../src/isa/encode.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { ArrayMap } from '../../src/maps/array.ts';
import { createMap } from '../../src/maps/create.ts';
import { MapError } from '../../src/maps/errno.ts';
import type { BpfMap } from '../../src/maps/map.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { possibleCpus } from './host-ops.ts';
import { Vm } from '../../src/vm/vm.ts';
import { prepareKbpf, runKbpfSync, TempDir } from '../oracles.ts';

const dir = new TempDir('tsbpf-maps-kdiff-');

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

export function cleanup(): void {
  dir.close();
}

/** Why the kernel oracle cannot be used, or undefined when it can. */
export function oracleProblem(): string | undefined {
  return prepareKbpf().skip;
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
  const p = dir.file('prog.bin', encodeProgram(insns as Insn[]));
  const args = ['--type', type, '--run', '--dump-maps'];
  for (const m of maps) args.push('--map', kmapArg(m));
  args.push(p);
  const r = runKbpfSync(prepareKbpf().path, args);
  const created = /map create [^:]+:[^:]+:[^:]+:[^:]+: (.*)$/m.exec(r.stderr);
  if (created) return { verdict: `create: ${STRERROR[created[1]!] ?? created[1]}`, maps: {}, raw: r.raw };
  return { verdict: r.verdict, retval: r.retval, maps: Object.fromEntries(r.maps), raw: r.raw };
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
