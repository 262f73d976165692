// iter/bpf_map: the program runs once per map, then once more with map NULL. The kernel walks
// every map of the system by id (kernel/bpf/map_iter.c bpf_map_seq_*); tsbpf walks the maps
// of the program's collection, by id. Each map is shown as a struct bpf_map laid out by BTF.
import type { Btf } from '../../btf/btf.ts';
import { UsageError } from '../../errors.ts';
import type { Program } from '../collection.ts';
import { layoutBtfObject } from './btf-object.ts';
import { openIterFrame } from './frame.ts';
import { type SeqOps, SeqSession } from './seq-file.ts';

export function openBpfMapIter(prog: Program, btf?: Btf): { session: SeqSession<number>; close(): void } {
  const coll = prog.collection;
  const b = btf ?? coll.spec.btf;
  if (!b) throw new UsageError(`${coll.spec.file}: iter/bpf_map needs BTF describing struct bpf_map`);
  const a = coll.vm.arena;
  const maps = [...coll.maps.values()].sort((x, y) => x.id - y.id);
  // kernel names (include/linux/bpf.h struct bpf_map)
  const images = maps.map((m) =>
    layoutBtfObject(b, 'bpf_map', {
      map_type: m.type,
      key_size: m.keySize,
      value_size: m.valueSize,
      max_entries: m.maxEntries,
      map_extra: m.mapExtra,
      map_flags: m.flags,
      id: m.id,
      name: m.name,
    }),
  );
  const size = Math.max(8, ...images.map((i) => i.length));
  const obj = a.alloc(size, 8, { kind: 'mem', writable: false, name: 'struct bpf_map' });
  const ops: SeqOps<number> = {
    start: (i) => (i < maps.length ? i : null),
    show: (i, seqNum) => {
      a.u8.fill(0, obj, obj + size);
      a.write(obj, images[i]!);
      return frame.run(seqNum, [obj]);
    },
    stop: (seqNum) => {
      frame.run(seqNum, [0]);
    },
  };
  const session = new SeqSession(ops);
  // struct bpf_iter__bpf_map { meta; map; }
  const frame = openIterFrame(prog, 1, session.buffer);
  return {
    session,
    close() {
      frame.close();
      a.freeBlock(obj);
    },
  };
}
