// A model of the kernel's seq_file as BPF iterators use it: one buffer of PAGE_SIZE << 3
// bytes, filled by show() calls until a read() is satisfied, overflow making the object that
// did not fit run again in the next read (kernel: bpf_seq_read() in kernel/bpf/bpf_iter.c,
// seq_write()/seq_bprintf() in fs/seq_file.c). Keeping the same buffer and the same read
// sizes means programs see the same -EOVERFLOW returns and run the same times as in Linux.
import { InternalError } from '../../errors.ts';

/** kernel: seq->size = PAGE_SIZE << 3 in bpf_seq_read() */
export const SEQ_BUF_SIZE = 4096 << 3;
/** kernel: MAX_ITER_OBJECTS — objects visited in one read() before it gives up (-EAGAIN). */
export const MAX_ITER_OBJECTS = 1_000_000;

export const EAGAIN = 11;
export const E2BIG = 7;
export const EOVERFLOW = 75;

export class SeqBuf {
  readonly buf = new Uint8Array(SEQ_BUF_SIZE);
  count = 0;
  from = 0;

  get overflowed(): boolean {
    return this.count === SEQ_BUF_SIZE;
  }

  /** kernel: seq_write() — all or nothing; false (and overflow) when it does not fit. */
  write(bytes: Uint8Array): boolean {
    if (this.count + bytes.length < SEQ_BUF_SIZE) {
      this.buf.set(bytes, this.count);
      this.count += bytes.length;
      return true;
    }
    this.count = SEQ_BUF_SIZE; // kernel: seq_set_overflow()
    return false;
  }
}

/**
 * What one object source offers the read loop (kernel: struct seq_operations). show and stop
 * return promises only for sessions read with readAsync (sleepable programs).
 */
export interface SeqOps<T> {
  /** The object at position `index`, or null past the end (kernel: ->start). */
  start(index: number): T | null;
  /** Runs the program on `obj`: 0, or a negative errno such as -EAGAIN (kernel: ->show). */
  show(obj: T, seqNum: number): number | Promise<number>;
  /** The walk is over: the program runs once more with no object (kernel: ->stop(seq, NULL)). */
  stop(seqNum: number): unknown;
}

/** A program run the read loop asks for: show(obj) or, with `obj` absent, stop. */
interface RunStep<T> {
  obj?: T;
  seqNum: number;
}

/** One open iterator file: session state plus the kernel's read loop. */
export class SeqSession<T> {
  private readonly seq = new SeqBuf();
  private index = 0;
  private seqNum = 0;
  private doneStop = false;

  constructor(private readonly ops: SeqOps<T>) {}

  /** The seq buffer the program's bpf_seq_* calls write to. */
  get buffer(): SeqBuf {
    return this.seq;
  }

  /**
   * kernel: bpf_seq_read(). Returns up to `size` bytes (an empty array at the end of the
   * stream) or a negative errno.
   */
  read(size: number): Uint8Array | number {
    const g = this.readSteps(size);
    let s = g.next();
    while (!s.done) {
      const r = this.runStep(s.value);
      if (typeof r !== 'number') throw new InternalError('seq_file: a sleeping run in a synchronous read');
      s = g.next(r);
    }
    return s.value;
  }

  /** read() for sessions whose program runs may sleep: each run is awaited. */
  async readAsync(size: number): Promise<Uint8Array | number> {
    const g = this.readSteps(size);
    let s = g.next();
    while (!s.done) s = g.next(await this.runStep(s.value));
    return s.value;
  }

  private runStep(step: RunStep<T>): number | Promise<number> {
    if (step.obj !== undefined) return this.ops.show(step.obj, step.seqNum);
    const r = this.ops.stop(step.seqNum);
    return r instanceof Promise ? r.then(() => 0) : 0;
  }

  /** The read loop, yielding each program run it needs and going on with its result. */
  private *readSteps(size: number): Generator<RunStep<T>, Uint8Array | number, number> {
    const seq = this.seq;
    if (seq.count) {
      const n = Math.min(seq.count, size);
      const out = seq.buf.slice(seq.from, seq.from + n);
      seq.count -= n;
      seq.from += n;
      return out;
    }
    seq.from = 0;
    let p = this.ops.start(this.index);
    if (p !== null) {
      const err = yield { obj: p, seqNum: this.seqNum };
      if (err < 0 || seq.overflowed) {
        seq.count = 0;
        return err < 0 ? err : -E2BIG;
      }
      let objs = 0;
      for (;;) {
        objs++;
        const offs = seq.count;
        this.index++;
        p = this.ops.start(this.index);
        if (p === null) break;
        this.seqNum++; // a valid next object
        if (seq.count >= size) break;
        if (objs >= MAX_ITER_OBJECTS) {
          if (offs === 0) return -EAGAIN;
          break;
        }
        const e = yield { obj: p, seqNum: this.seqNum };
        if (e < 0 || seq.overflowed) {
          seq.count = offs;
          if (offs === 0) return e < 0 ? e : -E2BIG;
          break;
        }
      }
    }
    const offs = seq.count;
    // kernel: ->stop(seq, NULL) runs the program unless an earlier read already did.
    if (p === null && !this.doneStop) {
      yield { seqNum: this.seqNum };
      if (!seq.overflowed) this.doneStop = true;
      else {
        seq.count = offs;
        if (offs === 0) return -E2BIG;
      }
    }
    const n = Math.min(seq.count, size);
    const out = seq.buf.slice(0, n);
    seq.count -= n;
    seq.from = n;
    return out;
  }
}
