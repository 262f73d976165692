// Runs the libbpf oracle kobj (/work/shared/tools/kobj/kobj.c) on the committed
// example objects and parses its "key: value" report.  kobj loads an object the way
// a real loader does and lets the running kernel's verifier judge every program, so
// its verdicts are the ground truth the examples' inventory records.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildCTool, type CTool, cToolPath, repoRoot } from '../oracles.ts';
import { SHARED_DIR } from '../shared-dir.ts';

export { repoRoot };
export const kobjSource = `${SHARED_DIR}/tools/kobj/kobj.c`;
const LIBBPF = ['-lbpf', '-lelf', '-lz'];
export const kobjPath = cToolPath('kobj', kobjSource, LIBBPF);

export interface KobjProgram {
  program: string;
  section: string;
  type: string;
  insns: number; // the program's own instructions (8-byte slots) in the ELF
  insnsLoaded: number; // with subprograms appended
  verdict: 'accept' | 'reject' | 'error' | 'not_attempted';
  errno: string;
  insnsProcessed?: number;
  xlatedInsns?: number;
  /** The kernel's own verification time (its stats line), microseconds. */
  verificationUs?: number;
  error?: string;
}

export interface KobjMap {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface KobjReport {
  status: number;
  pid: number; // kobj's process id (programs run by BPF_PROG_TEST_RUN run in it)
  stdout: string;
  stderr: string;
  programs: KobjProgram[];
  maps: KobjMap[];
  // map name -> key hex -> value hex strings (one per CPU for per-CPU maps)
  mapValues: Map<string, Map<string, string[]>>;
  ringbufs: Map<string, string[]>;
  retval?: number;
  dataOut?: string; // hex
  ctxOut?: string; // hex
  runError?: string;
}

const intKeys: Record<string, keyof KobjProgram> = {
  insns: 'insns',
  insns_loaded: 'insnsLoaded',
  insns_processed: 'insnsProcessed',
  xlated_insns: 'xlatedInsns',
  verification_us: 'verificationUs',
};

export function parseKobj(stdout: string, status: number, stderr = '', pid = 0): KobjReport {
  const report: KobjReport = {
    status,
    pid,
    stdout,
    stderr,
    programs: [],
    maps: [],
    mapValues: new Map(),
    ringbufs: new Map(),
  };
  let cur: Partial<KobjProgram> | undefined;
  for (const line of stdout.split('\n')) {
    const mapHead = /^map (\S+): type=(\S+) key=(\d+) value=(\d+) max_entries=(\d+)$/.exec(line);
    if (mapHead) {
      report.maps.push({
        name: mapHead[1]!,
        type: mapHead[2]!,
        keySize: Number(mapHead[3]),
        valueSize: Number(mapHead[4]),
        maxEntries: Number(mapHead[5]),
      });
      report.mapValues.set(mapHead[1]!, new Map());
      continue;
    }
    const mapVal = /^map (\S+)\[([0-9a-f]*)\]: (.*)$/.exec(line);
    if (mapVal) {
      const m = report.mapValues.get(mapVal[1]!) ?? new Map<string, string[]>();
      report.mapValues.set(mapVal[1]!, m);
      m.set(mapVal[2]!, mapVal[3]!.trim().split(' '));
      continue;
    }
    const ring = /^ringbuf (\S+): ([0-9a-f]*)$/.exec(line);
    if (ring) {
      const list = report.ringbufs.get(ring[1]!) ?? [];
      list.push(ring[2]!);
      report.ringbufs.set(ring[1]!, list);
      continue;
    }
    const kv = /^([a-z_]+): ?(.*)$/.exec(line);
    if (!kv) continue;
    const [, key, value] = kv as unknown as [string, string, string];
    if (key === 'program') {
      cur = { program: value };
      report.programs.push(cur as KobjProgram);
    } else if (key === 'retval') {
      report.retval = Number(value);
    } else if (key === 'data_out' || key === 'ctx_out') {
      report[key === 'data_out' ? 'dataOut' : 'ctxOut'] = value;
    } else if (key === 'run_error') {
      report.runError = value;
    } else if (cur) {
      const intKey = intKeys[key];
      if (intKey) (cur as Record<string, unknown>)[intKey] = Number(value);
      else if (key === 'section' || key === 'type' || key === 'errno' || key === 'error') cur[key] = value;
      else if (key === 'verdict') cur.verdict = value as KobjProgram['verdict'];
    }
  }
  return report;
}

export function runKobj(args: string[]): KobjReport {
  const r = spawnSync(kobjPath, args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return parseKobj(r.stdout, r.status ?? -1, r.stderr, r.pid ?? 0);
}

let kobjSkip: { why: string | undefined } | undefined;

// Builds kobj (test/oracles.ts) when it is missing.  Returns a reason to skip the kernel
// tests, or undefined when kobj is ready and bpf() works (checked once per process).
export function prepareKobj(): string | undefined {
  kobjSkip ??= { why: probeKobj() };
  return kobjSkip.why;
}

function probeKobj(): string | undefined {
  if (process.platform !== 'linux') return 'kernel tests need Linux';
  if (!existsSync(kobjPath) && !existsSync('/usr/include/bpf/libbpf.h'))
    return 'libbpf-dev is not installed (no <bpf/libbpf.h>)';
  const tool = buildCTool('kobj', kobjSource, LIBBPF);
  if (tool.skip) return tool.skip;
  // A tiny known-good object: if even this fails, bpf() is not usable here.
  const probe = runKobj([join(repoRoot, 'examples/globals/globals.bpf.o')]);
  const p = probe.programs[0];
  if (p?.verdict !== 'accept') {
    return `bpf() does not work here (kobj: ${p ? `${p.verdict} ${p.errno} ${p.error ?? ''}` : probe.stderr.trim()})`;
  }
  return undefined;
}

// Little-endian hex of an unsigned integer of `bytes` bytes (kobj --set-rodata).
export function leHex(value: number | bigint, bytes: number): string {
  let v = BigInt(value);
  let s = '';
  for (let i = 0; i < bytes; i++) {
    s += Number(v & 0xffn)
      .toString(16)
      .padStart(2, '0');
    v >>= 8n;
  }
  return s;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// Builds a libbpf C tool (test/examples/kpkt.c, the l4lb harness, test/iter/kiter.c...) into
// the cache, again when its source changes.  Returns a reason to skip.
export function prepareCTool(name: string, dir = 'test/examples'): CTool {
  const source = join(repoRoot, dir, `${name}.c`);
  const why = prepareKobj(); // the same needs: gcc, libbpf-dev, bpf()
  if (why) return { path: cToolPath(name, source, LIBBPF), skip: why };
  return buildCTool(name, source, LIBBPF);
}
