// Builds and runs test/iter/kiter.c (libbpf: load, fill, attach the iterator to a map, read
// its fd to the end). The iterator is never pinned, so /sys/fs/bpf is not touched.
import { spawnSync } from 'node:child_process';
import { toHex } from '../../src/cli/io.ts';
import { prepareCTool } from '../examples/kobj.ts';

// Built on first use, again when kiter.c changes; gcc, libbpf-dev and a working bpf() needed.
const build = () => prepareCTool('kiter', 'test/iter');

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
  const { path, skip } = build();
  if (skip) return { skip, stdout: new Uint8Array(), readError: '' };
  const args = [obj, prog, map, '--read-size', String(opts.readSize)];
  for (const [name, bytes] of Object.entries(opts.rodata ?? {}))
    args.push('--rodata', `${name}=${toHex(bytes)}`);
  for (const e of elems) args.push(`${toHex(e.key)}=${toHex(e.value)}`);
  const r = spawnSync(path, args, { maxBuffer: 16 << 20 });
  if (r.status !== 0)
    return { skip: `kiter failed: ${r.stderr?.toString()}`, stdout: new Uint8Array(), readError: '' };
  const err = r.stderr.toString().trim();
  return {
    stdout: new Uint8Array(r.stdout),
    readError: /^read-error: \d+$/.test(err) ? err : '',
    pid: r.pid,
  };
}
