// BPF iterators: run an `iter/...` program the way `cat /sys/fs/bpf/<pinned iterator>` does.
//
//   const coll = newCollection(spec, { verify: false });
//   const { text } = iterate(coll.program('dump_stats'), { map: coll.map('stats') });
import { UsageError } from '../../errors.ts';
import type { BpfMap } from '../../maps/map.ts';
import type { Program } from '../collection.ts';
import type { Btf } from '../../btf/btf.ts';
import { openBpfMapIter } from './bpf-map.ts';
import { openMapElemIter } from './map-elem.ts';
import { type HostObject, OBJECT_TARGETS, openObjectIter } from './objects.ts';
import type { IterFrame } from './frame.ts';
import type { SeqSession } from './seq-file.ts';

export { bprintf, MAX_BPRINTF_VARARGS } from '../../vm/bprintf.ts';
export { type FieldValue, layoutBtfObject } from './btf-object.ts';
export { BPF_FUNC_seq_printf, BPF_FUNC_seq_write, registerSeqHelpers, seqProtos } from './seq-helpers.ts';
export { type HostObject, OBJECT_TARGETS, type ObjectTarget } from './objects.ts';
export { MAX_ITER_OBJECTS, SEQ_BUF_SIZE, type SeqOps, SeqSession } from './seq-file.ts';

export interface IterateOptions {
  /** The map an iter/bpf_map_elem program walks (the kernel's link_info.map.map_fd). */
  map?: BpfMap;
  /** BTF that lays out host objects such as struct bpf_map (default: the object's own). */
  btf?: Btf;
  /**
   * iter/task, iter/tcp: the host's objects as fields by kernel name (task_struct: { pid, tgid,
   * comm, ... }; sock_common: { skc_family, skc_num, ... } plus the ctx's `uid`); fields the
   * BTF's struct lacks are ignored.
   */
  objects?: readonly HostObject[];
  /** Bytes asked for per read() (default 131072, what coreutils `cat` asks for). */
  readSize?: number;
}

export interface IterateResult {
  bytes: Uint8Array;
  /** `bytes` as latin1 text (seq output is bytes; %s copies them unchanged). */
  text: string;
  /** read() calls made, the last one being the end of file or the error. */
  reads: number;
  /** The errno that ended the stream early: EAGAIN (program returned 1), E2BIG (an object's output exceeded the buffer). */
  error?: { errno: number; name: string };
}

/** Targets registered with BPF_ITER_RESCHED (kernel/bpf/task_iter.c), the only ones iter.s/ attaches to. */
const RESCHED_TARGETS = new Set(['task', 'task_file', 'task_vma']);

const ERRNO_NAMES: Record<number, string> = { 7: 'E2BIG', 11: 'EAGAIN', 75: 'EOVERFLOW' };

/** Each read()'s bytes in turn; ends at end of file, or throws nothing and yields an errno. */
export function* iterChunks(prog: Program, opts: IterateOptions): Generator<Uint8Array | number> {
  const size = readSize(opts);
  const it = openIter(prog, opts, false);
  try {
    for (;;) {
      const r = it.session.read(size);
      yield r;
      if (typeof r === 'number' || r.length === 0) return;
    }
  } finally {
    it.close();
  }
}

/** Reads the iterator to its end (like `cat`), keeping the bytes before any error. */
export function iterate(prog: Program, opts: IterateOptions): IterateResult {
  const chunks: (Uint8Array | number)[] = [];
  for (const r of iterChunks(prog, opts)) chunks.push(r);
  return collect(chunks);
}

export interface AsyncIterateResult extends IterateResult {
  /** Times a program run went to sleep (a sleepable helper waited for the host) and resumed. */
  sleeps: number;
}

/**
 * iterate() for programs that may sleep (`SEC("iter.s/...")` calling bpf_copy_from_user and
 * the like): a run whose helper waits for the host's user memory is suspended and resumed
 * when it arrives, on either engine. Other programs may run on the collection meanwhile.
 */
export async function iterateAsync(prog: Program, opts: IterateOptions): Promise<AsyncIterateResult> {
  const size = readSize(opts);
  const it = openIter(prog, opts, true);
  const chunks: (Uint8Array | number)[] = [];
  try {
    for (;;) {
      const r = await it.session.readAsync(size);
      chunks.push(r);
      if (typeof r === 'number' || r.length === 0) break;
    }
  } finally {
    it.close();
  }
  return { ...collect(chunks), sleeps: it.sleeps() };
}

function readSize(opts: IterateOptions): number {
  const size = opts.readSize ?? 131072;
  if (!Number.isInteger(size) || size <= 0) throw new UsageError(`iterate: bad read size ${size}`);
  return size;
}

function collect(chunks: readonly (Uint8Array | number)[]): IterateResult {
  const parts: Uint8Array[] = [];
  let error: IterateResult['error'];
  for (const r of chunks) {
    if (typeof r === 'number') error = { errno: -r, name: ERRNO_NAMES[-r] ?? `errno ${-r}` };
    else parts.push(r);
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return { bytes, text, reads: chunks.length, ...(error ? { error } : {}) };
}

interface OpenIter {
  session: SeqSession<unknown>;
  close(): void;
  sleeps(): number;
}

function openIter(prog: Program, opts: IterateOptions, sleep: boolean): OpenIter {
  const it = openTarget(prog, opts, sleep);
  return { session: it.session, close: () => it.close(), sleeps: () => it.frame.sleeps };
}

function openTarget(
  prog: Program,
  opts: IterateOptions,
  sleep: boolean,
): { session: SeqSession<unknown>; frame: IterFrame; close(): void } {
  const target = iterTarget(prog);
  // kernel: bpf_iter_link_attach() refuses sleepable programs on targets that walk under a
  // lock they cannot drop (bpf_iter_target_support_resched()).
  if (prog.section.startsWith('iter.s/') && !RESCHED_TARGETS.has(target))
    throw new UsageError(
      `program ${prog.name}: iter/${target} cannot run sleepable programs (kernel: -EINVAL at attach; iter.s/ needs task, task_file or task_vma)`,
    );
  if (target === 'bpf_map_elem') {
    if (!opts.map) throw new UsageError(`program ${prog.name}: iter/bpf_map_elem needs a map to walk`);
    return openMapElemIter(prog, opts.map, sleep);
  }
  if (opts.map) throw new UsageError(`program ${prog.name}: iter/${target} takes no map`);
  if (target === 'bpf_map') return openBpfMapIter(prog, opts.btf, sleep);
  const objTarget = OBJECT_TARGETS[target];
  if (objTarget) {
    if (!opts.objects) throw new UsageError(`program ${prog.name}: iter/${target} needs the host's objects`);
    return openObjectIter(prog, objTarget, opts.objects, opts.btf, sleep);
  }
  throw new UsageError(
    `program ${prog.name}: iter/${target} is not supported (bpf_map_elem, bpf_map, task, tcp are)`,
  );
}

/** "bpf_map_elem" for SEC("iter/bpf_map_elem"); throws for programs that are not iterators. */
export function iterTarget(prog: Program): string {
  const m = /^iter(?:\.s)?\/(.+)$/.exec(prog.section);
  if (!m) throw new UsageError(`program ${prog.name} (SEC("${prog.section}")) is not an iterator`);
  return m[1]!;
}
