// iter/bpf_map_elem: the program runs once per element of a map, then once more with key and
// value NULL. kernel: kernel/bpf/map_iter.c (context), kernel/bpf/hashtab.c and arraymap.c
// (bpf_hash_map_seq_*, bpf_array_map_seq_*: the walk and the per-CPU value copy).
import { UsageError } from '../../errors.ts';
import type { BpfMap } from '../../maps/map.ts';
import * as mt from '../../maps/flags.ts';
import type { VmMap } from '../../vm/maps.ts';
import type { Program } from '../collection.ts';
import { type IterFrame, openIterFrame } from './frame.ts';
import { type SeqOps, SeqSession } from './seq-file.ts';

/** Map types the kernel's bpf_map_elem target accepts (kernel: bpf_iter_attach_map()). */
const ITERABLE = new Set([
  mt.BPF_MAP_TYPE_HASH,
  mt.BPF_MAP_TYPE_LRU_HASH,
  mt.BPF_MAP_TYPE_PERCPU_HASH,
  mt.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  mt.BPF_MAP_TYPE_ARRAY,
  mt.BPF_MAP_TYPE_PERCPU_ARRAY,
]);
const PERCPU = new Set([
  mt.BPF_MAP_TYPE_PERCPU_HASH,
  mt.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  mt.BPF_MAP_TYPE_PERCPU_ARRAY,
]);

interface Elem {
  key: Uint8Array;
  valueAddr: number;
}

/**
 * Opens an iterator session of `prog` over `map`: the objects are the map's elements in the
 * kernel's walk order, taken when the session starts. Call `read(size)` until it returns an
 * empty array (or an errno), then `close()`.
 */
export function openMapElemIter(
  prog: Program,
  map: BpfMap,
  sleep = false,
): { session: SeqSession<Elem>; frame: IterFrame; close(): void } {
  if (!ITERABLE.has(map.type))
    throw new UsageError(
      `map ${map.name}: ${map.typeName} maps cannot be iterated (kernel: -EINVAL at attach)`,
    );
  const coll = prog.collection;
  const a = coll.vm.arena;
  const percpu = PERCPU.has(map.type);
  const elems: Elem[] = [];
  const walker: VmMap = map;
  walker.forEach?.(0, (keyAddr, valueAddr) => {
    elems.push({ key: a.read(keyAddr, map.keySize), valueAddr });
    return 0;
  });
  const keyBuf = a.alloc(Math.max(map.keySize, 1), 8, {
    kind: 'map_value',
    writable: false,
    name: 'iter key',
  });
  // kernel: info->percpu_value_buf — every CPU's copy, each rounded up to 8 bytes.
  const pcpuSize = Math.ceil(map.valueSize / 8) * 8 * map.nrCpus;
  const pcpuBuf = percpu
    ? a.alloc(pcpuSize, 8, { kind: 'map_value', writable: true, name: 'iter percpu value' })
    : 0;
  const ops: SeqOps<Elem> = {
    start: (i) => elems[i] ?? null,
    show: (e, seqNum) => {
      a.write(keyBuf, e.key);
      let value = e.valueAddr;
      if (percpu) {
        const v = map.lookup(e.key);
        if (!(v instanceof Uint8Array)) return 0; // deleted since the walk began: skip
        a.write(pcpuBuf, v.subarray(0, pcpuSize));
        value = pcpuBuf;
      }
      return frame.run(seqNum, [map.ptr, keyBuf, value]);
    },
    stop: (seqNum) => frame.run(seqNum, [map.ptr, 0, 0]),
  };
  const session = new SeqSession(ops);
  // struct bpf_iter__bpf_map_elem { meta; map; key; value; }
  const frame = openIterFrame(prog, 3, session.buffer, sleep);
  return {
    session,
    frame,
    close() {
      frame.close();
      for (const b of [keyBuf, pcpuBuf]) if (b) a.freeBlock(b);
    },
  };
}
