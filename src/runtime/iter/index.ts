// BPF iterators: run an `iter/...` program the way `cat /sys/fs/bpf/<pinned iterator>` does.
//
//   const coll = newCollection(spec, { verify: false });
//   const { text } = iterate(coll.program('dump_stats'), { map: coll.map('stats') });
import { UsageError } from '../../errors.ts';
import type { BpfMap } from '../../maps/map.ts';
import type { Program } from '../collection.ts';
import { openMapElemIter } from './map-elem.ts';

export { bprintf, MAX_BPRINTF_VARARGS } from './bprintf.ts';
export { BPF_FUNC_seq_printf, BPF_FUNC_seq_write, registerSeqHelpers, seqProtos } from './seq-helpers.ts';
export { MAX_ITER_OBJECTS, SEQ_BUF_SIZE, type SeqOps, SeqSession } from './seq-file.ts';

export interface IterateOptions {
  /** The map an iter/bpf_map_elem program walks (the kernel's link_info.map.map_fd). */
  map: BpfMap;
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

const ERRNO_NAMES: Record<number, string> = { 7: 'E2BIG', 11: 'EAGAIN', 75: 'EOVERFLOW' };

/** Each read()'s bytes in turn; ends at end of file, or throws nothing and yields an errno. */
export function* iterChunks(prog: Program, opts: IterateOptions): Generator<Uint8Array | number> {
  const attach = iterTarget(prog);
  if (attach !== 'bpf_map_elem')
    throw new UsageError(`program ${prog.name}: iter/${attach} is not supported (iter/bpf_map_elem is)`);
  const size = opts.readSize ?? 131072;
  if (!Number.isInteger(size) || size <= 0) throw new UsageError(`iterate: bad read size ${size}`);
  const it = openMapElemIter(prog, opts.map);
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
  const parts: Uint8Array[] = [];
  let reads = 0;
  let error: IterateResult['error'];
  for (const r of iterChunks(prog, opts)) {
    reads++;
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
  return { bytes, text, reads, ...(error ? { error } : {}) };
}

/** "bpf_map_elem" for SEC("iter/bpf_map_elem"); throws for programs that are not iterators. */
export function iterTarget(prog: Program): string {
  const m = /^iter(?:\.s)?\/(.+)$/.exec(prog.section);
  if (!m) throw new UsageError(`program ${prog.name} (SEC("${prog.section}")) is not an iterator`);
  return m[1]!;
}
