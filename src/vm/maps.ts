// The interface the VM needs from a map, and the map helpers built on it.
// src/maps implements VmMap for every map type; ArrayMap (array-map.ts) is a minimal stand-alone one.
// Optional members are the operations only some map types have (kernel: struct bpf_map_ops);
// a helper called on a map without the operation gets the kernel's error for it.
import type { Arena } from './arena.ts';
import { registerDynptrHelpers } from './dynptr-helpers.ts';
import type { FuncProto, HelperCtx, HelperImpl, HelperTable } from './helpers.ts';
import { BPF_FUNC_map_delete_elem, BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem } from './helpers.ts';

export interface VmMap {
  readonly name: string;
  /** Address of the map's descriptor in the arena: what `lddw rX, map` loads. */
  readonly ptr: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Address of the value for the key at keyAddr, or 0 (kernel: map->ops->map_lookup_elem). */
  lookup(keyAddr: number): number;
  /** 0 or a negative errno. */
  update(keyAddr: number, valueAddr: number, flags: bigint): number;
  delete(keyAddr: number): number;
  /** Address of value byte `off` for BPF_PSEUDO_MAP_VALUE, or undefined when not supported. */
  directValueAddr(off: number): number | undefined;

  /** kernel: enum bpf_map_type value (absent: treated as an array). */
  readonly type?: number;
  /** Per-CPU maps: the value address of `cpu`'s copy (lookup from a program, lookup_percpu_elem). */
  lookupOnCpu?(keyAddr: number, cpu: number): number;
  /** Per-CPU maps: update `cpu`'s copy (update from a program). */
  updateOnCpu?(keyAddr: number, valueAddr: number, flags: bigint, cpu: number): number;
  /** Queue, stack, bloom filter (kernel: map_push_elem / map_pop_elem / map_peek_elem). */
  push?(valueAddr: number, flags: bigint): number;
  pop?(valueAddr: number): number;
  peek?(valueAddr: number): number;
  /** Ring buffer: the sample address or 0. */
  ringbufReserve?(size: number, flags: bigint): number;
  ringbufOutput?(dataAddr: number, size: number, flags: bigint): number;
  ringbufQuery?(flags: bigint): bigint;
  /** Perf event array: append a sample for `cpu` (flags already decoded). */
  perfEventOutput?(index: number, cpu: number, dataAddr: number, size: number): number;
  /**
   * kernel: map->ops->map_for_each_callback. Calls visit(keyAddr, valueAddr) for each element
   * (per-CPU maps: `cpu`'s copy) until it returns non-zero; returns how many were visited.
   * For bpf_for_each_map_elem: the runtime runs the callback inside `visit`.
   */
  forEach?(cpu: number, visit: (keyAddr: number, valueAddr: number) => number): number;
  /**
   * User ring buffer (kernel: bpf_user_ringbuf_drain()): hands each committed sample to `visit`
   * as the arena address of a read-only local dynptr over it, until `visit` returns non-zero;
   * returns the helper's result (samples drained, or a negative errno).
   */
  userRingbufDrain?(visit: (dynptrAddr: number) => number, flags: bigint): number;
}

/** A ring buffer as bpf_ringbuf_submit/discard see it: found from a record, not from a map. */
export interface RingbufRecords {
  /** kernel: bpf_ringbuf_commit(). Returns false when addr is not a reserved record. */
  commit(sampleAddr: number, flags: bigint, discard: boolean): boolean;
}

// ---- per-arena registries ----
// Map pointers loaded by lddw are registered with the VM; inner maps (map-in-map) and ring
// buffer records are reached at run time, so every live map also registers with its arena.

const arenaMaps = new WeakMap<Arena, Map<number, VmMap>>();
const arenaRingbufs = new WeakMap<Arena, Map<number, RingbufRecords>>();

function mapsOf<T>(reg: WeakMap<Arena, Map<number, T>>, arena: Arena): Map<number, T> {
  let m = reg.get(arena);
  if (!m) {
    m = new Map();
    reg.set(arena, m);
  }
  return m;
}

export function registerArenaMap(arena: Arena, m: VmMap): void {
  mapsOf(arenaMaps, arena).set(m.ptr, m);
}
export function unregisterArenaMap(arena: Arena, m: VmMap): void {
  arenaMaps.get(arena)?.delete(m.ptr);
}
export function arenaMapAt(arena: Arena, ptr: number): VmMap | undefined {
  return arenaMaps.get(arena)?.get(ptr);
}

// kernel: the ring buffer's data starts RINGBUF_PGOFF pages after struct bpf_ringbuf, and every
// record header carries the page offset of the header from the struct (bpf_ringbuf_rec_pg_off).
export const RB_PAGE = 4096;
export const RINGBUF_PGOFF = 3;
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;

/** `dataAddr` must be page aligned: records find it again from their pg_off. */
export function registerRingbuf(arena: Arena, dataAddr: number, rb: RingbufRecords): void {
  mapsOf(arenaRingbufs, arena).set(dataAddr, rb);
}
export function unregisterRingbuf(arena: Arena, dataAddr: number): void {
  arenaRingbufs.get(arena)?.delete(dataAddr);
}

/** kernel: bpf_ringbuf_restore_from_rec() — the ring buffer owning the record at sampleAddr. */
export function ringbufOfRecord(arena: Arena, sampleAddr: number): RingbufRecords | undefined {
  const hdr = sampleAddr - BPF_RINGBUF_HDR_SZ;
  if (!arena.check(hdr, BPF_RINGBUF_HDR_SZ, false) || hdr % 8 !== 0) return undefined;
  const pgOff = arena.dv.getUint32(hdr + 4, true);
  const data = hdr - (hdr % RB_PAGE) - (pgOff - RINGBUF_PGOFF) * RB_PAGE;
  return arenaRingbufs.get(arena)?.get(data);
}

// ---- errno values helpers return ----
const E2BIG = 7;
const EINVAL = 22;
const EOPNOTSUPP = 95;

// ---- protos (kernel: kernel/bpf/helpers.c, ringbuf.c, kernel/trace/bpf_trace.c) ----
const mapPtr = { type: 'ARG_CONST_MAP_PTR' } as const;
const mapKey = { type: 'ARG_PTR_TO_MAP_KEY' } as const;
const mapValue = { type: 'ARG_PTR_TO_MAP_VALUE' } as const;
const anything = { type: 'ARG_ANYTHING' } as const;
const roMem = { type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] } as const;
const sizeOrZero = { type: 'ARG_CONST_SIZE_OR_ZERO' } as const;
const uninitValue = { type: 'ARG_PTR_TO_MAP_VALUE', flags: ['MEM_UNINIT', 'MEM_WRITE'] } as const;

export const mapProtos = {
  lookup: { ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [mapPtr, mapKey] },
  update: { ret: 'RET_INTEGER', args: [mapPtr, mapKey, mapValue, anything] },
  delete: { ret: 'RET_INTEGER', args: [mapPtr, mapKey] },
  // kernel: bpf_map_push_elem_proto reads the value only (MEM_RDONLY)
  push: {
    ret: 'RET_INTEGER',
    args: [mapPtr, { type: 'ARG_PTR_TO_MAP_VALUE', flags: ['MEM_RDONLY'] }, anything],
  },
  pop: { ret: 'RET_INTEGER', args: [mapPtr, uninitValue] },
  peek: { ret: 'RET_INTEGER', args: [mapPtr, uninitValue] },
  lookupPercpu: { ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [mapPtr, mapKey, anything] },
  ringbufOutput: { ret: 'RET_INTEGER', args: [mapPtr, roMem, sizeOrZero, anything] },
  ringbufReserve: {
    ret: 'RET_PTR_TO_MEM_OR_NULL',
    retFlags: ['MEM_RINGBUF'],
    args: [mapPtr, { type: 'ARG_CONST_ALLOC_SIZE_OR_ZERO' }, anything],
  },
  ringbufSubmit: {
    ret: 'RET_VOID',
    args: [{ type: 'ARG_PTR_TO_RINGBUF_MEM', flags: ['OBJ_RELEASE'] }, anything],
  },
  ringbufDiscard: {
    ret: 'RET_VOID',
    args: [{ type: 'ARG_PTR_TO_RINGBUF_MEM', flags: ['OBJ_RELEASE'] }, anything],
  },
  ringbufQuery: { ret: 'RET_INTEGER', args: [mapPtr, anything] },
  perfEventOutput: {
    ret: 'RET_INTEGER',
    gplOnly: true,
    args: [{ type: 'ARG_PTR_TO_CTX' }, mapPtr, anything, roMem, sizeOrZero],
  },
} as const satisfies Record<string, FuncProto>;

// kernel: enum bpf_func_id
export const BPF_FUNC_perf_event_output = 25;
export const BPF_FUNC_map_push_elem = 87;
export const BPF_FUNC_map_pop_elem = 88;
export const BPF_FUNC_map_peek_elem = 89;
export const BPF_FUNC_ringbuf_output = 130;
export const BPF_FUNC_ringbuf_reserve = 131;
export const BPF_FUNC_ringbuf_submit = 132;
export const BPF_FUNC_ringbuf_discard = 133;
export const BPF_FUNC_ringbuf_query = 134;
export const BPF_FUNC_for_each_map_elem = 164;
export const BPF_FUNC_map_lookup_percpu_elem = 195;

// kernel: BPF_F_INDEX_MASK, BPF_F_CURRENT_CPU, BPF_F_CTXLEN_MASK
const BPF_F_INDEX_MASK = 0xffffffffn;
const BPF_F_CURRENT_CPU = 0xffffffff;
const BPF_F_CTXLEN_MASK = 0xfffffn << 32n;

/**
 * Registers every map helper (lookup/update/delete, push/pop/peek, lookup_percpu_elem,
 * ringbuf_*, perf_event_output), resolving map pointers with `mapAt` and then the arena's
 * registry (inner maps).
 */
export function registerMapHelpers(t: HelperTable, mapAt: (ptr: number) => VmMap | undefined): void {
  const mapArg = (ctx: HelperCtx, n: number): VmMap => {
    const ptr = ctx.argLo(n) >>> 0;
    const m = ctx.argHi(n) === 0 ? (mapAt(ptr) ?? arenaMapAt(ctx.arena, ptr)) : undefined;
    if (!m) return ctx.fault('helper', `r${n} is not a map pointer (0x${ptr.toString(16)})`);
    return m;
  };
  const readable = (ctx: HelperCtx, m: VmMap, addr: number, len: number, what: string): void => {
    if (!ctx.arena.check(addr, len, false))
      ctx.fault('helper', `map ${m.name}: ${what} pointer 0x${addr.toString(16)} not readable`);
  };
  const writable = (ctx: HelperCtx, m: VmMap, addr: number, len: number): void => {
    if (!ctx.arena.check(addr, len, true))
      ctx.fault('helper', `map ${m.name}: value pointer 0x${addr.toString(16)} not writable`);
  };
  const withKey = (ctx: HelperCtx, keyAddr: number): VmMap => {
    const m = mapArg(ctx, 1);
    readable(ctx, m, keyAddr, m.keySize, 'key');
    return m;
  };
  const reg = (id: number, name: string, proto: FuncProto, impl: HelperImpl): void => {
    t.register({ id, name, proto, impl });
  };

  reg(BPF_FUNC_map_lookup_elem, 'bpf_map_lookup_elem', mapProtos.lookup, (ctx, _p, key) => {
    const m = withKey(ctx, key);
    return m.lookupOnCpu ? m.lookupOnCpu(key, ctx.cpu) : m.lookup(key);
  });
  reg(BPF_FUNC_map_update_elem, 'bpf_map_update_elem', mapProtos.update, (ctx, _p, key, value) => {
    const m = withKey(ctx, key);
    if (!ctx.arena.check(value, m.valueSize, false)) return -EINVAL;
    const flags = ctx.arg64(4);
    return m.updateOnCpu ? m.updateOnCpu(key, value, flags, ctx.cpu) : m.update(key, value, flags);
  });
  reg(BPF_FUNC_map_delete_elem, 'bpf_map_delete_elem', mapProtos.delete, (ctx, _p, key) =>
    withKey(ctx, key).delete(key),
  );
  reg(
    BPF_FUNC_map_lookup_percpu_elem,
    'bpf_map_lookup_percpu_elem',
    mapProtos.lookupPercpu,
    (ctx, _p, key) => {
      const m = withKey(ctx, key);
      const cpu = ctx.arg64(3);
      // kernel: percpu_array_map_lookup_percpu_elem() — cpu >= nr_cpu_ids gives NULL.
      if (!m.lookupOnCpu || cpu > 0xffffffffn) return 0;
      return m.lookupOnCpu(key, Number(cpu));
    },
  );

  reg(BPF_FUNC_map_push_elem, 'bpf_map_push_elem', mapProtos.push, (ctx, _p, value) => {
    const m = mapArg(ctx, 1);
    readable(ctx, m, value, m.valueSize, 'value');
    return m.push ? m.push(value, ctx.arg64(3)) : -EOPNOTSUPP;
  });
  reg(BPF_FUNC_map_pop_elem, 'bpf_map_pop_elem', mapProtos.pop, (ctx, _p, value) => {
    const m = mapArg(ctx, 1);
    writable(ctx, m, value, m.valueSize);
    return m.pop ? m.pop(value) : -EOPNOTSUPP;
  });
  reg(BPF_FUNC_map_peek_elem, 'bpf_map_peek_elem', mapProtos.peek, (ctx, _p, value) => {
    const m = mapArg(ctx, 1);
    // A bloom filter's peek only reads the value.
    if (m.pop) writable(ctx, m, value, m.valueSize);
    else readable(ctx, m, value, m.valueSize, 'value');
    return m.peek ? m.peek(value) : -EOPNOTSUPP;
  });

  reg(BPF_FUNC_ringbuf_output, 'bpf_ringbuf_output', mapProtos.ringbufOutput, (ctx, _p, data, size) => {
    const m = mapArg(ctx, 1);
    readable(ctx, m, data, size, 'data');
    return m.ringbufOutput ? m.ringbufOutput(data, size, ctx.arg64(4)) : -EINVAL;
  });
  reg(BPF_FUNC_ringbuf_reserve, 'bpf_ringbuf_reserve', mapProtos.ringbufReserve, (ctx) => {
    const m = mapArg(ctx, 1);
    return m.ringbufReserve ? m.ringbufReserve(ctx.argLo(2) >>> 0, ctx.arg64(3)) : 0;
  });
  const commit =
    (discard: boolean): HelperImpl =>
    (ctx, sample) => {
      const rb = ringbufOfRecord(ctx.arena, sample);
      if (!rb?.commit(sample, ctx.arg64(2), discard))
        ctx.fault('helper', `0x${sample.toString(16)} is not a reserved ring buffer record`);
      return 0;
    };
  reg(BPF_FUNC_ringbuf_submit, 'bpf_ringbuf_submit', mapProtos.ringbufSubmit, commit(false));
  reg(BPF_FUNC_ringbuf_discard, 'bpf_ringbuf_discard', mapProtos.ringbufDiscard, commit(true));
  reg(BPF_FUNC_ringbuf_query, 'bpf_ringbuf_query', mapProtos.ringbufQuery, (ctx) => {
    const m = mapArg(ctx, 1);
    return m.ringbufQuery ? m.ringbufQuery(ctx.arg64(2)) : 0;
  });
  registerDynptrHelpers(t, mapArg);

  // kernel: bpf_perf_event_output() / __bpf_perf_event_output(); the ctx argument is unused
  // here because the BPF_F_CTXLEN_MASK part (appending packet bytes) is not emulated.
  reg(
    BPF_FUNC_perf_event_output,
    'bpf_perf_event_output',
    mapProtos.perfEventOutput,
    (ctx, _c, _m, _f, data, size) => {
      const m = mapArg(ctx, 2);
      const flags = ctx.arg64(3);
      if ((flags & ~(BPF_F_INDEX_MASK | BPF_F_CTXLEN_MASK)) !== 0n) return -EINVAL;
      if ((flags & BPF_F_CTXLEN_MASK) !== 0n) return -EOPNOTSUPP;
      if (!m.perfEventOutput) return -EINVAL;
      readable(ctx, m, data, size, 'data');
      let index = Number(flags & BPF_F_INDEX_MASK);
      if (index === BPF_F_CURRENT_CPU) index = ctx.cpu;
      if (index >= m.maxEntries) return -E2BIG;
      return m.perfEventOutput(index, ctx.cpu, data, size);
    },
  );
}
