// The C oracles tests compare tsbpf against (kbpf, kobj, the examples' libbpf harnesses): each
// built with gcc once per source hash into node_modules/.cache, and the kbpf runner and parser.
// Every entry point returns a reason to skip instead of throwing, so machines without gcc,
// libbpf-dev or a usable bpf() skip the kernel tests with that reason.
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SHARED_DIR } from './shared-dir.ts';

export const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const cacheDir = join(repoRoot, 'node_modules/.cache');
export const kbpfSource = `${SHARED_DIR}/tools/kbpf/kbpf.c`;

export interface CTool {
  /** The binary: `<cacheDir>/<name>-<hash of source and flags>/<name>` (its process name stays `name`). */
  path: string;
  /** Why the tool cannot be used; undefined when it is built. */
  skip?: string;
}

/** Where `source` built with `flags` lives in the cache (without building it). */
export function cToolPath(name: string, source: string, flags: readonly string[] = []): string {
  if (!existsSync(source)) return join(cacheDir, name);
  const hash = createHash('sha256').update(readFileSync(source)).update(flags.join('\0')).digest('hex');
  return join(cacheDir, `${name}-${hash.slice(0, 12)}`, name);
}

/** Builds `source` with gcc unless this exact source and flags are already in the cache. */
export function buildCTool(name: string, source: string, flags: readonly string[] = []): CTool {
  const path = cToolPath(name, source, flags);
  if (!existsSync(source)) return { path, skip: `${name} source ${source} not found` };
  if (existsSync(path)) return { path };
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    return { path, skip: `cannot create ${dirname(path)}: ${(e as Error).message}` };
  }
  // Test files run in parallel: build under a private name, then rename into place atomically.
  const tmp = `${path}.${process.pid}.tmp`;
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', tmp, source, ...flags], { encoding: 'utf8' });
  if (cc.error) return { path, skip: `gcc is not available (${cc.error.message})` };
  if (cc.status !== 0) {
    rmSync(tmp, { force: true });
    return { path, skip: `building ${name} failed: ${cc.stderr.trim().split('\n')[0]}` };
  }
  renameSync(tmp, path);
  return { path };
}

// --- kbpf: raw bytecode in, "key: value" lines out ---

export interface KbpfOutput {
  /** 'accept', 'reject', or 'error' when kbpf printed no verdict (bad options, map create failed). */
  verdict: string;
  errno?: string;
  insnsProcessed?: number;
  runError?: string;
  retval?: number;
  dataOut?: string;
  /** `map<i>[k]` → value hex (--dump-maps). */
  maps: Map<string, string>;
  /** The verifier log between "--- log" and "--- end log" (--log N). */
  log: string;
  stdout: string;
  stderr: string;
  /** stdout, stderr and any spawn error together, for failure messages. */
  raw: string;
}

export function parseKbpf(stdout: string, stderr = '', spawnError = ''): KbpfOutput {
  const logStart = stdout.indexOf('--- log\n');
  const logEnd = stdout.indexOf('--- end log', logStart);
  const log = logStart < 0 ? '' : stdout.slice(logStart + 8, logEnd < 0 ? undefined : logEnd);
  // The log can hold lines that look like "key: value"; only parse around it.
  const after = logEnd < 0 ? '' : stdout.slice(logEnd);
  const fields = logStart < 0 ? stdout : stdout.slice(0, logStart) + after;
  const out: KbpfOutput = {
    verdict: 'error',
    maps: new Map(),
    log,
    stdout,
    stderr,
    raw: `${stdout}${stderr}${spawnError}`,
  };
  for (const line of fields.split('\n')) {
    const m = /^([\w[\]]+): ?(.*)$/.exec(line);
    if (!m) continue;
    const k = m[1]!;
    const v = m[2]!;
    if (k === 'verdict') out.verdict = v;
    else if (k === 'errno') out.errno = v;
    else if (k === 'insns_processed') out.insnsProcessed = Number(v);
    else if (k === 'retval') out.retval = Number(v);
    else if (k === 'run_error') out.runError = v;
    else if (k === 'data_out') out.dataOut = v;
    else if (/^map\d+\[\d+\]$/.test(k)) out.maps.set(k, v);
  }
  return out;
}

/** Runs kbpf once, synchronously. */
export function runKbpfSync(bin: string, args: readonly string[]): KbpfOutput {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  return parseKbpf(r.stdout ?? '', r.stderr ?? '', r.error ? r.error.message : '');
}

/** Runs kbpf as a child process, so several can run at once. */
export function runKbpfAsync(bin: string, args: readonly string[]): Promise<KbpfOutput> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (e) => resolve(parseKbpf(stdout, stderr, e.message)));
    child.on('close', () => resolve(parseKbpf(stdout, stderr)));
  });
}

let kbpfTool: CTool | undefined;

/** kbpf built and shown to load a trivial program (once per process); `skip` says why not. */
export function prepareKbpf(): CTool {
  kbpfTool ??= probeKbpf();
  return kbpfTool;
}

function probeKbpf(): CTool {
  if (process.platform !== 'linux') return { path: '', skip: 'kernel tests need Linux' };
  const tool = buildCTool('kbpf', kbpfSource);
  if (tool.skip) return tool;
  const dir = new TempDir('tsbpf-kbpf-probe-');
  try {
    // r0 = 1; exit
    const prog = dir.file(
      'probe.bin',
      Uint8Array.from([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
    );
    const r = runKbpfSync(tool.path, ['--type', 'socket_filter', '--run', prog]);
    if (r.verdict !== 'accept' || r.retval !== 1)
      return { path: tool.path, skip: `bpf() unavailable: ${r.raw.split('\n')[0]}` };
  } finally {
    dir.close();
  }
  return tool;
}

/** A temporary directory for the files kbpf reads, made on first use. */
export class TempDir {
  private dir: string | undefined;
  constructor(private readonly prefix: string) {}

  /** Writes `bytes` to `name` inside the directory; returns its path. */
  file(name: string, bytes: Uint8Array): string {
    this.dir ??= mkdtempSync(join(tmpdir(), this.prefix));
    const path = join(this.dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  close(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
