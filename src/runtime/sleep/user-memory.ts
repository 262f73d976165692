// "User memory" that sleepable helpers read (bpf_copy_from_user and friends): ranges of bytes
// at 64-bit user addresses that the host maps now (`provide`), promises to map later
// (`provideLater`), or fetches on demand through `source` (a file, a worker, the network, a
// timer in tests). A read of a range that is not there yet puts the program to sleep.
import { UsageError } from '../../errors.ts';

/** Fetches [addr, addr+len): bytes (at least len, or fewer where the mapping ends), or undefined when unmapped. */
export type UserMemorySource = (
  addr: number,
  len: number,
) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/** The path bpf_d_path prints for a `struct path *` (now, later, or undefined: -EFAULT... unknown). */
export type PathResolver = (path: number) => string | undefined | Promise<string | undefined>;

export interface UserMemoryOptions {
  source?: UserMemorySource;
  /** For bpf_d_path: the path each `struct path` pointer names. */
  dPath?: PathResolver;
}

interface Range {
  addr: number;
  bytes: Uint8Array;
}

interface Pending {
  addr: number;
  len: number;
  ready: Promise<void>;
}

/** What a read finds: the bytes, a promise to wait for, or a fault (unmapped: -EFAULT). */
export type UserRead =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'wait'; until: Promise<void> }
  | { kind: 'fault' };

const FAULT: UserRead = { kind: 'fault' };

export class UserMemory {
  source: UserMemorySource | undefined;
  dPath: PathResolver | undefined;
  private readonly ranges: Range[] = [];
  private readonly pending: Pending[] = [];
  /** Reads whose fetch failed or came back short: the next read of it faults once. */
  private readonly failed = new Set<string>();

  constructor(opts: UserMemoryOptions = {}) {
    this.source = opts.source;
    this.dPath = opts.dPath;
  }

  /** Maps `bytes` at `addr` (replacing a range that starts there). */
  provide(addr: number | bigint, bytes: Uint8Array): void {
    const a = toAddr(addr);
    const i = this.ranges.findIndex((r) => r.addr === a);
    const r = { addr: a, bytes: bytes.slice() };
    if (i >= 0) this.ranges[i] = r;
    else this.ranges.push(r);
  }

  /** Declares [addr, addr+len) mapped once `bytes` settles; reads of it sleep until then. */
  provideLater(addr: number | bigint, len: number, bytes: Promise<Uint8Array | undefined>): void {
    this.track(toAddr(addr), len, bytes);
  }

  /** Unmaps the range that starts at `addr`. */
  unmap(addr: number | bigint): void {
    const a = toAddr(addr);
    const i = this.ranges.findIndex((r) => r.addr === a);
    if (i >= 0) this.ranges.splice(i, 1);
  }

  /** Forgets everything mapped, pending and failed. */
  clear(): void {
    this.ranges.length = 0;
    this.pending.length = 0;
    this.failed.clear();
  }

  /** Mapped ranges and reads in flight (for tests that check nothing piles up). */
  get size(): { ranges: number; pending: number } {
    return { ranges: this.ranges.length, pending: this.pending.length };
  }

  /**
   * [addr, addr+len) if it is all mapped; else a promise to wait for (a pending range, or a
   * fetch through `source`, started here); else a fault.
   */
  read(addr: number, len: number): UserRead {
    const key = `${addr}:${len}`;
    if (this.failed.delete(key)) return FAULT;
    const bytes = this.mapped(addr, len);
    if (bytes) return { kind: 'bytes', bytes };
    const p = this.pending.find((q) => addr < q.addr + q.len && q.addr < addr + len);
    if (p) return { kind: 'wait', until: p.ready };
    if (!this.source) return FAULT;
    let got: ReturnType<UserMemorySource>;
    try {
      got = this.source(addr, len);
    } catch {
      return FAULT;
    }
    if (got instanceof Promise) return { kind: 'wait', until: this.track(addr, len, got, key) };
    if (!got) return FAULT;
    this.provide(addr, got);
    return this.mapped(addr, len) ? { kind: 'bytes', bytes: this.mapped(addr, len)! } : FAULT;
  }

  /** The longest mapped run of bytes from addr, at most max (for strings). */
  readUpTo(addr: number, max: number): Uint8Array | undefined {
    for (const r of this.ranges)
      if (addr >= r.addr && addr < r.addr + r.bytes.length)
        return r.bytes.subarray(addr - r.addr, Math.min(r.bytes.length, addr - r.addr + max));
    return undefined;
  }

  private mapped(addr: number, len: number): Uint8Array | undefined {
    for (const r of this.ranges)
      if (addr >= r.addr && addr + len <= r.addr + r.bytes.length)
        return r.bytes.subarray(addr - r.addr, addr - r.addr + len);
    return undefined;
  }

  private track(
    addr: number,
    len: number,
    bytes: Promise<Uint8Array | undefined>,
    key?: string,
  ): Promise<void> {
    const entry: Pending = { addr, len, ready: Promise.resolve() };
    entry.ready = bytes.then(
      (b) => {
        this.settle(entry);
        if (b) this.provide(addr, b);
        if ((!b || b.length < len) && key) this.failed.add(key);
      },
      () => {
        this.settle(entry);
        if (key) this.failed.add(key);
      },
    );
    this.pending.push(entry);
    return entry.ready;
  }

  private settle(entry: Pending): void {
    const i = this.pending.indexOf(entry);
    if (i >= 0) this.pending.splice(i, 1);
  }
}

function toAddr(a: number | bigint): number {
  const n = typeof a === 'bigint' ? Number(a) : a;
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`user address ${String(a)} is not a safe u64`);
  return n;
}
