// What every iterator target shares: the context block (the target's struct bpf_iter__X,
// whose first member points at struct bpf_iter_meta { seq; session_id; seq_num; } placed
// right after it), the seq_file the bpf_seq_* helpers write to, and one program run.
// kernel: bpf_iter_get_info() and bpf_iter_run_prog() in kernel/bpf/bpf_iter.c
import type { Program } from '../collection.ts';
import { bindSeqFile } from './seq-helpers.ts';
import { EAGAIN, type SeqBuf } from './seq-file.ts';

const META_SIZE = 24;
let lastSessionId = 0n;

export interface IterFrame {
  /** Runs the program with ctx pointers 1.. set to `ptrs` (0 = NULL): 0 or -EAGAIN. */
  run(seqNum: number, ptrs: readonly number[]): number;
  close(): void;
}

/** `pointers`: the ctx members after meta (e.g. 3 for bpf_map_elem: map, key, value). */
export function openIterFrame(prog: Program, pointers: number, seq: SeqBuf): IterFrame {
  const coll = prog.collection;
  const a = coll.vm.arena;
  const ctxSize = 8 * (1 + pointers);
  const block = a.alloc(ctxSize + META_SIZE, 8, {
    kind: 'ctx',
    writable: false,
    name: `${prog.section} ctx`,
  });
  const seqFile = a.alloc(8, 8, { kind: 'scratch', writable: false, name: 'seq_file' });
  const meta = block + ctxSize;
  lastSessionId++;
  a.dv.setBigUint64(block, BigInt(meta), true);
  a.dv.setBigUint64(meta, BigInt(seqFile), true);
  a.dv.setBigUint64(meta + 8, lastSessionId, true);
  const unbind = bindSeqFile(coll.env, seqFile, seq);
  return {
    run(seqNum, ptrs) {
      a.dv.setBigUint64(meta + 16, BigInt(seqNum), true);
      for (let i = 0; i < pointers; i++) a.dv.setBigUint64(block + 8 * (i + 1), BigInt(ptrs[i] ?? 0), true);
      coll.env.progType = prog.type;
      const r = coll.vm.run(prog.loaded, { args: [block] });
      // kernel: bpf_iter_run_prog() — 0 goes on, anything else means "retry this object".
      return r.value === 0n ? 0 : -EAGAIN;
    },
    close() {
      unbind();
      a.freeBlock(block);
      a.freeBlock(seqFile);
    },
  };
}
