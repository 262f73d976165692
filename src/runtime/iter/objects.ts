// Iterator targets whose context is one BTF object pointer after meta (iter/bpf_map,
// iter/task, ...): the host gives the objects as records of field values, each is laid out
// as the target's struct by BTF and shown in turn; the final call has the pointer NULL.
import type { Btf } from '../../btf/btf.ts';
import { UsageError } from '../../errors.ts';
import type { Program } from '../collection.ts';
import { type FieldValue, layoutBtfObject } from './btf-object.ts';
import { type IterFrame, openIterFrame } from './frame.ts';
import { type SeqOps, SeqSession } from './seq-file.ts';

export type HostObject = Readonly<Record<string, FieldValue>>;

/** Targets with one object pointer in their context (kernel: bpf_iter_reg.ctx_arg_info). */
export const OBJECT_TARGETS: Readonly<Record<string, string>> = {
  bpf_map: 'bpf_map',
  task: 'task_struct',
};

export function openObjectIter(
  prog: Program,
  structName: string,
  records: readonly HostObject[],
  btf?: Btf,
  sleep = false,
): { session: SeqSession<number>; frame: IterFrame; close(): void } {
  const coll = prog.collection;
  const b = btf ?? coll.spec.btf;
  if (!b)
    throw new UsageError(`${coll.spec.file}: ${prog.section} needs BTF describing struct ${structName}`);
  const a = coll.vm.arena;
  const images = records.map((r) => layoutBtfObject(b, structName, r));
  const size = Math.max(8, ...images.map((i) => i.length));
  // One read-only block, rewritten per object: programs read it, never keep it.
  const obj = a.alloc(size, 8, { kind: 'mem', writable: false, name: `struct ${structName}` });
  const ops: SeqOps<number> = {
    start: (i) => (i < images.length ? i : null),
    show: (i, seqNum) => {
      a.u8.fill(0, obj, obj + size);
      a.write(obj, images[i]!);
      return frame.run(seqNum, [obj]);
    },
    stop: (seqNum) => frame.run(seqNum, [0]),
  };
  const session = new SeqSession(ops);
  const frame = openIterFrame(prog, 1, session.buffer, sleep);
  return {
    session,
    frame,
    close() {
      frame.close();
      a.freeBlock(obj);
    },
  };
}
