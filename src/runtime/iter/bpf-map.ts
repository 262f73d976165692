// iter/bpf_map: the program runs once per map, then once more with map NULL. The kernel walks
// every map of the system by id (kernel/bpf/map_iter.c bpf_map_seq_*); tsbpf walks the maps
// of the program's collection, by id, each shown as a struct bpf_map laid out by BTF.
import type { Btf } from '../../btf/btf.ts';
import type { Program } from '../collection.ts';
import type { IterFrame } from './frame.ts';
import type { SeqSession } from './seq-file.ts';
import { openObjectIter } from './objects.ts';

export function openBpfMapIter(
  prog: Program,
  btf?: Btf,
  sleep = false,
): { session: SeqSession<number>; frame: IterFrame; close(): void } {
  const maps = [...prog.collection.maps.values()].sort((x, y) => x.id - y.id);
  // kernel names (include/linux/bpf.h struct bpf_map)
  const records = maps.map((m) => ({
    map_type: m.type,
    key_size: m.keySize,
    value_size: m.valueSize,
    max_entries: m.maxEntries,
    map_extra: m.mapExtra,
    map_flags: m.flags,
    id: m.id,
    name: m.name,
  }));
  return openObjectIter(prog, 'bpf_map', records, btf, sleep);
}
