// Maps whose values are references to other kernel objects rather than bytes (kernel: the
// fd_array maps in arraymap.c, and hash_of_maps in hashtab.c): PROG_ARRAY (programs for tail
// calls), PERF_EVENT_ARRAY (event buffers), ARRAY_OF_MAPS and HASH_OF_MAPS (inner maps).
// On the host side values are u32 ids where bpf() takes fds and returns ids.
import type { Arena } from '../vm/arena.ts';
import { arrayAllocCheck, IndexedMap } from './array.ts';
import { E2BIG, EINVAL, ENOENT, ENOSPC, EOPNOTSUPP, MapError } from './errno.ts';
import { BPF_ANY, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG } from './flags.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';

/** kernel: fd_array_map_alloc_check(). */
export function fdArrayAllocCheck(s: NormalizedSpec): number {
  if (s.valueSize !== 4) return -EINVAL;
  if (s.flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EINVAL;
  return arrayAllocCheck(s);
}

/** Objects an fd array holds, indexed by u32, with the kernel's update/delete errors. */
abstract class FdArray<T> extends IndexedMap {
  protected readonly slots: (T | undefined)[];

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions) {
    super(arena, spec, opts);
    this.slots = new Array<T | undefined>(spec.maxEntries);
  }

  // Programs cannot look these maps up or change them (the verifier refuses the calls).
  protected lookupElem(): number {
    return 0;
  }
  protected updateElem(): number {
    return -EINVAL;
  }
  // kernel: fd_array_map_delete_elem()
  protected deleteElem(keyAddr: number): number {
    return this.clear(this.index(keyAddr));
  }

  protected clear(i: number): number {
    if (i >= this.maxEntries) return -E2BIG;
    if (this.slots[i] === undefined) return -ENOENT;
    this.slots[i] = undefined;
    return 0;
  }

  /** kernel: bpf_fd_array_map_update_elem() checks, then stores obj. */
  protected store(i: number, obj: T, flags: number): void {
    if (flags !== BPF_ANY) throw new MapError(EINVAL, `map ${this.name}: fd arrays take only BPF_ANY`);
    if (i >= this.maxEntries) throw new MapError(E2BIG, `map ${this.name}: index ${i} out of range`);
    if (this.frozen) throw new MapError(1, `map ${this.name} is frozen`);
    this.slots[i] = obj;
  }

  protected idxOf(key: Uint8Array): number {
    this.checkKey(key, 'access');
    return new DataView(key.buffer, key.byteOffset).getUint32(0, true);
  }

  protected override get supportsBatch(): boolean {
    return false;
  }
}

/** What a prog array holds: the tail-call machinery decides what a program object is. */
export interface ProgRef {
  readonly name: string;
}

const progIds = new WeakMap<ProgRef, number>();
let nextProgId = 1;
/** A stable u32 id for a program object (what bpf() reports for a prog array lookup). */
export function progId(p: ProgRef): number {
  let id = progIds.get(p);
  if (id === undefined) {
    id = nextProgId++;
    progIds.set(p, id);
  }
  return id;
}

export class ProgArrayMap extends FdArray<ProgRef> {
  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
  }

  /** The program at `index`, for bpf_tail_call; undefined when the slot is empty or out of range. */
  getProg(index: number): ProgRef | undefined {
    return index >= 0 && index < this.maxEntries ? this.slots[index] : undefined;
  }

  setProg(index: number, prog: ProgRef, flags = 0): void {
    this.store(index >>> 0, prog, flags);
  }

  clearProg(index: number): void {
    this.fail(this.clear(index >>> 0), 'delete');
  }

  protected override hostLookup(key: Uint8Array): Uint8Array | undefined {
    const p = this.getProg(this.idxOf(key));
    return p ? u32Bytes(progId(p)) : undefined;
  }

  protected override hostUpdate(): void {
    throw new MapError(EINVAL, `map ${this.name}: use setProg(index, prog) on a prog array`);
  }
}

/** One perf event per slot: a per-CPU buffer the host reads (perf_event_open + mmap). */
export interface PerfBuffer {
  cpu: number;
  /** Capacity in bytes of the data area (the kernel's mmap'd pages). */
  capacity: number;
  used: number;
  records: Uint8Array[];
  lost: number;
}

export interface PerfRecord {
  cpu: number;
  data: Uint8Array;
}

/** kernel: struct perf_event_header (8) + u32 raw size, then the sample, padded to 8. */
const PERF_SAMPLE_OVERHEAD = 12;

export class PerfEventArrayMap extends FdArray<PerfBuffer> {
  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
  }

  /**
   * Attaches a buffer of `bytes` to slot `index` for events of `cpu` (default: cpu = index,
   * as cilium/ebpf's perf reader does for every possible CPU).
   */
  open(index: number, opts: { cpu?: number; bytes?: number } = {}): void {
    const capacity = opts.bytes ?? 64 * 4096;
    this.store(index >>> 0, { cpu: opts.cpu ?? index, capacity, used: 0, records: [], lost: 0 }, 0);
  }

  /** Opens one buffer per CPU. */
  openAll(bytes?: number): void {
    for (let c = 0; c < Math.min(this.nrCpus, this.maxEntries); c++) this.open(c, { bytes });
  }

  // kernel: __bpf_perf_event_output() — -ENOENT without an event, -EOPNOTSUPP for another CPU's.
  perfEventOutput(index: number, cpu: number, dataAddr: number, size: number): number {
    const b = this.slots[index];
    if (!b) return -ENOENT;
    if (b.cpu !== cpu) return -EOPNOTSUPP;
    const rec = Math.ceil((size + PERF_SAMPLE_OVERHEAD) / 8) * 8;
    if (b.used + rec > b.capacity) {
      b.lost++;
      return -ENOSPC;
    }
    b.used += rec;
    b.records.push(this.arena.read(dataAddr, size));
    return 0;
  }

  /** Drains every buffer: samples in order per buffer, and the lost counts since the last read. */
  read(): { records: PerfRecord[]; lost: { cpu: number; count: number }[] } {
    const records: PerfRecord[] = [];
    const lost: { cpu: number; count: number }[] = [];
    for (const b of this.slots) {
      if (!b) continue;
      for (const data of b.records) records.push({ cpu: b.cpu, data });
      if (b.lost) lost.push({ cpu: b.cpu, count: b.lost });
      b.records = [];
      b.used = 0;
      b.lost = 0;
    }
    return { records, lost };
  }

  protected override hostLookup(): Uint8Array | undefined {
    throw new MapError(EOPNOTSUPP, `map ${this.name}: perf event arrays cannot be looked up`);
  }

  protected override hostUpdate(): void {
    throw new MapError(EINVAL, `map ${this.name}: use open(index) on a perf event array`);
  }
}

export function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
