// What every iterator target shares: the context block (the target's struct bpf_iter__X,
// whose first member points at struct bpf_iter_meta { seq; session_id; seq_num; } placed
// right after it), the seq_file the bpf_seq_* helpers write to, and one program run.
// kernel: bpf_iter_get_info() and bpf_iter_run_prog() in kernel/bpf/bpf_iter.c
import type { RunResult } from '../../vm/vm.ts';
import { SleepRequest } from '../../vm/sleep.ts';
import type { Program } from '../collection.ts';
import { bindSeqFile } from './seq-helpers.ts';
import { EAGAIN, type SeqBuf } from './seq-file.ts';

const META_SIZE = 24;
let lastSessionId = 0n;

export interface IterFrame {
  /**
   * Runs the program with ctx members 1.. set to `ptrs` (pointers, 0 = NULL, or scalars; missing
   * ones 0): 0 or -EAGAIN; a promise
   * of it when the frame was opened to sleep.
   */
  run(seqNum: number, ptrs: readonly number[]): number | Promise<number>;
  /** Times a run went to sleep (a sleepable helper waited for the host) and resumed. */
  readonly sleeps: number;
  close(): void;
}

/**
 * `pointers`: the 8-byte ctx members after meta (3 for bpf_map_elem: map, key, value; 2 for
 * tcp: sk_common, uid).
 * `sleep`: runs may sleep (iter.s/ programs read through iterateAsync): each SleepRequest
 * saves the VM's state, awaits, restores it and resumes, as runtime/sleep's runSleepable does.
 */
export function openIterFrame(prog: Program, pointers: number, seq: SeqBuf, sleep = false): IterFrame {
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
  const vm = coll.vm;
  const setCtx = (seqNum: number, ptrs: readonly number[]) => {
    a.dv.setBigUint64(meta + 16, BigInt(seqNum), true);
    for (let i = 0; i < pointers; i++)
      a.dv.setBigUint64(block + 8 * (i + 1), BigInt.asUintN(64, BigInt(ptrs[i] ?? 0)), true);
    coll.env.progType = prog.type;
  };
  // kernel: bpf_iter_run_prog() — 0 goes on, anything else means "retry this object".
  const verdict = (r: RunResult) => (r.value === 0n ? 0 : -EAGAIN);
  const runSleeping = async (): Promise<number> => {
    let step = (): RunResult => vm.run(prog.loaded, { args: [block] });
    for (;;) {
      let req: SleepRequest;
      vm.sleepAllowed = true;
      try {
        return verdict(step());
      } catch (e) {
        if (!(e instanceof SleepRequest)) throw e;
        req = e;
      } finally {
        vm.sleepAllowed = false;
      }
      const snap = vm.snapshotSleep(req);
      frame.sleeps++;
      // a failed fetch is the helper's business when its call runs again (-EFAULT)
      await req.until.then(
        () => {},
        () => {},
      );
      // other programs may have run meanwhile: the ctx is ours again for the resumed run
      coll.env.progType = prog.type;
      step = () => vm.resume(snap);
    }
  };
  const frame = {
    sleeps: 0,
    run(seqNum: number, ptrs: readonly number[]): number | Promise<number> {
      setCtx(seqNum, ptrs);
      if (sleep) return runSleeping();
      return verdict(vm.run(prog.loaded, { args: [block] }));
    },
    close() {
      unbind();
      a.freeBlock(block);
      a.freeBlock(seqFile);
    },
  };
  return frame;
}
