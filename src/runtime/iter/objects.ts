// Iterator targets whose context is one BTF object pointer after meta (iter/bpf_map,
// iter/task, iter/tcp, ...), maybe followed by scalars (tcp's uid): the host gives the objects
// as records of field values, each is laid out as the target's struct by BTF and shown in
// turn, the scalars taken from the record by their ctx member names; the final call has every
// member 0.
import type { Btf } from '../../btf/btf.ts';
import { UsageError } from '../../errors.ts';
import type { Program } from '../collection.ts';
import { type FieldValue, layoutBtfObject } from './btf-object.ts';
import { type IterFrame, openIterFrame } from './frame.ts';
import { type SeqOps, SeqSession } from './seq-file.ts';

export type HostObject = Readonly<Record<string, FieldValue>>;

export interface ObjectTarget {
  /** The struct the object pointer points at (kernel: bpf_iter_reg.ctx_arg_info). */
  struct: string;
  /** The scalar ctx members after it, by kernel name (struct bpf_iter__<target>), 8 bytes each. */
  scalars: readonly string[];
}

/** Targets with one object pointer in their context, then scalars. */
export const OBJECT_TARGETS: Readonly<Record<string, ObjectTarget>> = {
  bpf_map: { struct: 'bpf_map', scalars: [] },
  task: { struct: 'task_struct', scalars: [] },
  // kernel: struct bpf_iter__tcp { meta; sk_common; uid_t uid __aligned(8); }
  tcp: { struct: 'sock_common', scalars: ['uid'] },
};

export function openObjectIter(
  prog: Program,
  target: ObjectTarget | string,
  records: readonly HostObject[],
  btf?: Btf,
  sleep = false,
): { session: SeqSession<number>; frame: IterFrame; close(): void } {
  const { struct: structName, scalars } =
    typeof target === 'string' ? { struct: target, scalars: [] } : target;
  const coll = prog.collection;
  const b = btf ?? coll.spec.btf;
  if (!b)
    throw new UsageError(`${coll.spec.file}: ${prog.section} needs BTF describing struct ${structName}`);
  const a = coll.vm.arena;
  const images = records.map((r) => layoutBtfObject(b, structName, r));
  const extra = records.map((r) => scalars.map((n) => scalarOf(r, n)));
  const size = Math.max(8, ...images.map((i) => i.length));
  // One read-only block, rewritten per object: programs read it, never keep it.
  const obj = a.alloc(size, 8, { kind: 'mem', writable: false, name: `struct ${structName}` });
  const ops: SeqOps<number> = {
    start: (i) => (i < images.length ? i : null),
    show: (i, seqNum) => {
      a.u8.fill(0, obj, obj + size);
      a.write(obj, images[i]!);
      return frame.run(seqNum, [obj, ...extra[i]!]);
    },
    stop: (seqNum) => frame.run(seqNum, []),
  };
  const session = new SeqSession(ops);
  const frame = openIterFrame(prog, 1 + scalars.length, session.buffer, sleep);
  return {
    session,
    frame,
    close() {
      frame.close();
      a.freeBlock(obj);
    },
  };
}

/** A ctx scalar from the host's record: an integer, 0 when absent. */
function scalarOf(record: HostObject, name: string): number {
  const v = record[name];
  if (v === undefined) return 0;
  if (typeof v === 'string' || !Number.isSafeInteger(Number(v)))
    throw new UsageError(`iterator object: ${name} must be an integer, got ${String(v)}`);
  return Number(v);
}
