// Builds and runs test/iter/kiter.c (libbpf: load, fill, attach the iterator to a map, read
// its fd to the end). The iterator is never pinned, so /sys/fs/bpf is not touched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { toHex } from '../../src/cli/io.ts';
import { prepareKobj, repoRoot } from '../examples/kobj.ts';

const source = join(repoRoot, 'test/iter/kiter.c');
const binary = join(repoRoot, 'node_modules/.cache/kiter');

function build(): string | undefined {
  const why = prepareKobj(); // gcc, libbpf-dev and a working bpf()
  if (why) return why;
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return undefined;
  mkdirSync(dirname(binary), { recursive: true });
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', binary, source, '-lbpf', '-lelf', '-lz'], {
    encoding: 'utf8',
  });
  return cc.status === 0 ? undefined : `building kiter failed: ${cc.stderr || cc.error}`;
}

export interface KiterResult {
  skip?: string;
  stdout: Uint8Array;
  /** "read-error: <errno>" when read() failed, else ''. */
  readError: string;
  /** The kiter process id (iter/task sees it among the system's tasks). */
  pid?: number;
}

export interface KiterElem {
  key: Uint8Array;
  value: Uint8Array;
}

/** Loads `obj` (with `.rodata` variables set to the given bytes), fills `map`, reads `prog`. */
export function runKiter(
  obj: string,
  prog: string,
  map: string,
  elems: readonly KiterElem[],
  opts: { readSize: number; rodata?: Readonly<Record<string, Uint8Array>> },
): KiterResult {
  const skip = build();
  if (skip) return { skip, stdout: new Uint8Array(), readError: '' };
  const args = [obj, prog, map, '--read-size', String(opts.readSize)];
  for (const [name, bytes] of Object.entries(opts.rodata ?? {}))
    args.push('--rodata', `${name}=${toHex(bytes)}`);
  for (const e of elems) args.push(`${toHex(e.key)}=${toHex(e.value)}`);
  const r = spawnSync(binary, args, { maxBuffer: 16 << 20 });
  if (r.status !== 0)
    return { skip: `kiter failed: ${r.stderr?.toString()}`, stdout: new Uint8Array(), readError: '' };
  const err = r.stderr.toString().trim();
  return {
    stdout: new Uint8Array(r.stdout),
    readError: /^read-error: \d+$/.test(err) ? err : '',
    pid: r.pid,
  };
}
