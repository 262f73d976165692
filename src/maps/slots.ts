// Fixed-size value slots in arena blocks, handed out and taken back by index. Preallocated maps
// get every slot at creation (as the kernel's prealloc_init); BPF_F_NO_PREALLOC maps grow in
// chunks of doubling size, so a map with a huge max_entries costs only what it holds.
export class SlotPool {
  private readonly chunks: { base: number; first: number; count: number }[] = [];
  private readonly free: number[] = [];
  private total = 0;

  constructor(
    /** Bytes per slot (a multiple of 8). */
    readonly slotSize: number,
    /** Most slots this pool will ever hold. */
    readonly capacity: number,
    prealloc: boolean,
    private readonly alloc: (bytes: number) => number,
  ) {
    if (prealloc) this.grow(capacity);
  }

  /** A free slot index, or -1 when all `capacity` slots are in use. Throws if the arena is full. */
  take(): number {
    if (this.free.length === 0) {
      if (this.total >= this.capacity) return -1;
      this.grow(Math.min(this.capacity - this.total, Math.max(16, this.total)));
    }
    // Lowest index first, so slot reuse is deterministic.
    return this.free.pop()!;
  }

  give(slot: number): void {
    this.free.push(slot);
  }

  get inUse(): number {
    return this.total - this.free.length;
  }

  addr(slot: number): number {
    // Chunks double in size, so a linear scan from the end touches few of them.
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i]!;
      if (slot >= c.first) return c.base + (slot - c.first) * this.slotSize;
    }
    return 0;
  }

  private grow(n: number): void {
    if (n <= 0) return;
    const base = this.alloc(n * this.slotSize);
    this.chunks.push({ base, first: this.total, count: n });
    for (let i = this.total + n - 1; i >= this.total; i--) this.free.push(i);
    this.total += n;
  }
}
