// One WebAssembly.Memory holds every byte a program can touch: stacks, contexts, packets,
// map values and helper scratch. Program-visible pointers are byte offsets into it, so a u32
// context field (xdp_md.data) can hold a real pointer, and a Wasm JIT can import the same memory.
//
// Bytes 0..GUARD_SIZE-1 are never allocated: address 0 is NULL and small offsets from it fault.
// Blocks start on GRANULE-byte boundaries and never share a granule, so the region table is a
// granule → block id array: checking an access costs one array load and two compares.
import { InternalError, UsageError } from '../errors.ts';

export const PAGE_SIZE = 65536;
export const GUARD_SIZE = 4096;
/** Allocation granule; every block starts on one and owns every granule it covers. */
export const GRANULE = 64;
const GRANULE_SHIFT = 6;
/** Addresses stay below 2^31 so they fit a signed 32-bit lane everywhere. */
const MAX_PAGES = 32768;
export const REGION_STRIDE = 4;

export type RegionKind = 'stack' | 'ctx' | 'packet' | 'map' | 'map_value' | 'scratch' | 'mem';

export interface AllocOptions {
  kind: RegionKind;
  writable: boolean;
  name?: string;
}

export interface Region {
  id: number;
  /** First byte of the block (the address alloc() returned). */
  base: number;
  /** Bytes reserved for the block, a multiple of GRANULE. */
  capacity: number;
  /** Accessible window [start, end); starts as [base, base+size). */
  start: number;
  end: number;
  writable: boolean;
  kind: RegionKind;
  name: string;
}

export interface ArenaOptions {
  /** Initial size in 64 KiB pages (default 16 = 1 MiB). */
  initialPages?: number;
  /** Upper bound in pages (default 32768 = 2 GiB). */
  maxPages?: number;
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  /** Views over memory.buffer; replaced whenever the memory grows (check `generation`). */
  u8!: Uint8Array;
  dv!: DataView;
  i32!: Int32Array;
  /** Bumped on every grow, so cached views can be refreshed cheaply. */
  generation = 0;

  /** Granule index → block id (0 = unmapped). */
  gran!: Int32Array;
  /**
   * Per block id, REGION_STRIDE words: accessible window [start, end) and writable (0/1).
   * Read directly by the interpreter's checks; replaced when it grows.
   */
  regTable = new Int32Array(64 * REGION_STRIDE);

  private readonly maxPages: number;
  private readonly regions = new Map<number, Region>();
  private readonly freeIds: number[] = [];
  private nextId = 1;
  /** Free list of [start, size] granule-aligned spans, sorted by start. */
  private freeList: [number, number][] = [];

  constructor(opts: ArenaOptions = {}) {
    const initial = opts.initialPages ?? 16;
    this.maxPages = Math.min(opts.maxPages ?? MAX_PAGES, MAX_PAGES);
    if (initial < 1 || initial > this.maxPages)
      throw new UsageError(`arena: bad initial size ${initial} pages`);
    this.memory = new WebAssembly.Memory({ initial, maximum: this.maxPages });
    this.refresh();
    this.freeList.push([GUARD_SIZE, this.size - GUARD_SIZE]);
  }

  /**
   * Refreshes the views if someone else grew the memory (e.g. Wasm code calling memory.grow):
   * growing detaches the old ArrayBuffer, which makes the old views empty.
   */
  sync(): void {
    if (this.u8.byteLength !== this.memory.buffer.byteLength) {
      const oldSize = this.gran.length << GRANULE_SHIFT;
      this.refresh();
      if (this.size > oldSize) this.release(oldSize, this.size - oldSize);
    }
  }

  get size(): number {
    return this.memory.buffer.byteLength;
  }

  /** Allocates `size` bytes (zeroed) and registers them as a region. Returns the address. */
  alloc(size: number, align: number, opts: AllocOptions): number {
    if (!Number.isInteger(size) || size < 0) throw new UsageError(`arena: bad allocation size ${size}`);
    if (align > GRANULE && (align & (align - 1)) !== 0) throw new UsageError(`arena: bad alignment ${align}`);
    const a = Math.max(align, GRANULE);
    const cap = Math.max(GRANULE, roundUp(size, GRANULE));
    this.sync();
    let base = this.take(cap, a);
    if (base < 0) {
      this.grow(cap + a);
      base = this.take(cap, a);
      if (base < 0) throw new InternalError('arena: allocation failed after grow');
    }
    this.u8.fill(0, base, base + cap);
    const id = this.freeIds.pop() ?? this.nextId++;
    this.ensureIdCapacity(id);
    const r: Region = {
      id,
      base,
      capacity: cap,
      start: base,
      end: base + size,
      writable: opts.writable,
      kind: opts.kind,
      name: opts.name ?? opts.kind,
    };
    this.regions.set(base, r);
    this.gran.fill(id, base >>> GRANULE_SHIFT, (base + cap) >>> GRANULE_SHIFT);
    this.publish(r);
    return base;
  }

  /** Releases a block returned by alloc() (alias of freeBlock). */
  free(addr: number): void {
    this.freeBlock(addr);
  }

  /** Releases a block returned by alloc(). */
  freeBlock(addr: number): void {
    const r = this.regions.get(addr);
    if (!r) throw new InternalError(`arena: free of unknown block 0x${addr.toString(16)}`);
    this.regions.delete(addr);
    this.gran.fill(0, r.base >>> GRANULE_SHIFT, (r.base + r.capacity) >>> GRANULE_SHIFT);
    this.regTable.fill(0, r.id * REGION_STRIDE, (r.id + 1) * REGION_STRIDE);
    this.freeIds.push(r.id);
    this.release(r.base, r.capacity);
  }

  /**
   * Moves the accessible window of a block, e.g. after xdp_adjust_head. The window must stay
   * inside the block's capacity.
   */
  setWindow(addr: number, start: number, end: number): void {
    const r = this.regions.get(addr);
    if (!r) throw new InternalError(`arena: unknown block 0x${addr.toString(16)}`);
    if (start < r.base || end < start || end > r.base + r.capacity)
      throw new InternalError(`arena: window [0x${start.toString(16)}, 0x${end.toString(16)}) outside block`);
    r.start = start;
    r.end = end;
    this.publish(r);
  }

  /** The region containing addr, if any (slow path: error messages, helpers). */
  regionAt(addr: number): Region | undefined {
    if (addr < 0 || addr >= this.size) return undefined;
    const id = this.gran[addr >>> GRANULE_SHIFT]!;
    if (id === 0) return undefined;
    for (const r of this.regions.values()) if (r.id === id) return r;
    return undefined;
  }

  /** True when [addr, addr+len) lies in one live region (and it is writable, if asked). */
  check(addr: number, len: number, write: boolean): boolean {
    // u8.length, not this.size: memory.buffer costs a runtime call per map helper, and views
    // detached by an unsynced grow have length 0, so a stale arena refuses (never allows).
    if (!(addr >= 0) || addr + len > this.u8.length || len < 0) return false;
    const id = this.gran[addr >>> GRANULE_SHIFT]!;
    if (id === 0) return false;
    const t = this.regTable;
    const k = id * REGION_STRIDE;
    if (addr < t[k]! || addr + len > t[k + 1]!) return false;
    return !write || t[k + 2] === 1;
  }

  /** Copies bytes in; for the host (test setup), not bounds-checked against regions. */
  write(addr: number, bytes: Uint8Array): void {
    this.u8.set(bytes, addr);
  }

  read(addr: number, len: number): Uint8Array {
    return this.u8.slice(addr, addr + len);
  }

  /** Reads a NUL-terminated string of at most `max` bytes from a checked region. */
  readCString(addr: number, max: number): string | undefined {
    let s = '';
    for (let i = 0; i < max; i++) {
      if (!this.check(addr + i, 1, false)) return undefined;
      const c = this.u8[addr + i]!;
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
    return s;
  }

  private publish(r: Region): void {
    const k = r.id * REGION_STRIDE;
    this.regTable[k] = r.start;
    this.regTable[k + 1] = r.end;
    this.regTable[k + 2] = r.writable ? 1 : 0;
  }

  private ensureIdCapacity(id: number): void {
    if ((id + 1) * REGION_STRIDE <= this.regTable.length) return;
    const t = new Int32Array(this.regTable.length * 2);
    t.set(this.regTable);
    this.regTable = t;
  }

  /** First fit from the free list; returns -1 when nothing fits. */
  private take(cap: number, align: number): number {
    for (let i = 0; i < this.freeList.length; i++) {
      const [start, len] = this.freeList[i]!;
      const base = roundUp(start, align);
      const pad = base - start;
      if (len < pad + cap) continue;
      const rest: [number, number][] = [];
      if (pad > 0) rest.push([start, pad]);
      if (len - pad - cap > 0) rest.push([base + cap, len - pad - cap]);
      this.freeList.splice(i, 1, ...rest);
      return base;
    }
    return -1;
  }

  private release(start: number, len: number): void {
    let i = 0;
    while (i < this.freeList.length && this.freeList[i]![0] < start) i++;
    this.freeList.splice(i, 0, [start, len]);
    // Merge with the following and the preceding span.
    const cur = this.freeList[i]!;
    const next = this.freeList[i + 1];
    if (next && cur[0] + cur[1] === next[0]) {
      cur[1] += next[1];
      this.freeList.splice(i + 1, 1);
    }
    const prev = this.freeList[i - 1];
    if (prev && prev[0] + prev[1] === cur[0]) {
      prev[1] += cur[1];
      this.freeList.splice(i, 1);
    }
  }

  private grow(minBytes: number): void {
    const oldSize = this.size;
    const cur = oldSize / PAGE_SIZE;
    const want = Math.max(Math.ceil(minBytes / PAGE_SIZE), cur); // at least double
    if (cur + want > this.maxPages) {
      const need = Math.ceil(minBytes / PAGE_SIZE);
      if (cur + need > this.maxPages)
        throw new UsageError(`arena: out of memory (${oldSize} bytes in use, limit ${this.maxPages} pages)`);
      this.memory.grow(need);
    } else {
      this.memory.grow(want);
    }
    this.refresh();
    this.release(oldSize, this.size - oldSize);
  }

  private refresh(): void {
    const buf = this.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
    this.i32 = new Int32Array(buf);
    const g = new Int32Array(buf.byteLength >>> GRANULE_SHIFT);
    if (this.gran) g.set(this.gran);
    this.gran = g;
    this.generation++;
  }
}

function roundUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
