// The kernel's common LRU (kernel/bpf/bpf_lru_list.c) for one CPU, so LRU hash maps evict the
// same elements as the kernel does for a program running on one CPU: global active, inactive
// and free lists, a local free list refilled target_free nodes at a time, a local pending list
// for nodes handed out since the last refill, reference bits, and the kernel's rotation and
// shrinking rules (nr_scans = 128). Nodes are slot numbers; the owner removes evicted elements
// from its table through `evict`.

const ACTIVE = 0;
const INACTIVE = 1;
const FREE = 2;
const LOCAL_FREE = 3;
const LOCAL_PENDING = 4;
const NR_LISTS = 5;
/** kernel: LOCAL_NR_SCANS (= LOCAL_FREE_TARGET) */
const LOCAL_NR_SCANS = 128;
/** kernel: PERCPU_FREE_TARGET, PERCPU_NR_SCANS — for BPF_F_NO_COMMON_LRU lists. */
const PERCPU_FREE_TARGET = 4;
const PERCPU_NR_SCANS = 4;

export class KernelLru {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly type: Uint8Array;
  private readonly ref: Uint8Array;
  private readonly counts = new Int32Array(NR_LISTS);
  /** kernel: l->next_inactive_rotation (a node, or the inactive list head). */
  private nextInactiveRotation: number;

  constructor(
    private readonly nodes: number,
    private readonly targetFree: number,
    /** kernel: lru->del_from_htab — true when the node's element was removed from the table. */
    private readonly evict: (node: number) => boolean,
    /** Nodes this list starts with (default: all); a per-CPU list gets its share. */
    initial?: readonly number[],
    private readonly nrScans = LOCAL_NR_SCANS,
  ) {
    const n = nodes + NR_LISTS;
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.type = new Uint8Array(nodes);
    this.ref = new Uint8Array(nodes);
    for (let l = 0; l < NR_LISTS; l++) this.next[this.head(l)] = this.prev[this.head(l)] = this.head(l);
    // kernel: bpf_common_lru_populate() adds every node to the free list's head in order.
    for (const i of initial ?? Array.from({ length: nodes }, (_, k) => k)) {
      this.type[i] = FREE;
      this.add(i, FREE);
    }
    this.counts[FREE] = 0; // the kernel counts only active and inactive nodes
    this.nextInactiveRotation = this.head(INACTIVE);
  }

  private head(list: number): number {
    return this.nodes + list;
  }

  // ---- list_head primitives ----
  private add(node: number, list: number): void {
    const h = this.head(list);
    const first = this.next[h]!;
    this.next[node] = first;
    this.prev[node] = h;
    this.prev[first] = node;
    this.next[h] = node;
  }
  private del(node: number): void {
    const p = this.prev[node]!;
    const n = this.next[node]!;
    this.next[p] = n;
    this.prev[n] = p;
  }
  private moveTo(node: number, list: number): void {
    this.del(node);
    this.add(node, list);
  }
  private first(list: number): number {
    const f = this.next[this.head(list)]!;
    return f === this.head(list) ? -1 : f;
  }
  private isLocal(t: number): boolean {
    return t === LOCAL_FREE || t === LOCAL_PENDING;
  }
  private countsFor(t: number): boolean {
    return t === ACTIVE || t === INACTIVE;
  }

  setRef(node: number): void {
    this.ref[node] = 1;
  }

  // kernel: __bpf_lru_node_move()
  private move(node: number, list: number): void {
    const t = this.type[node]!;
    if (t !== list) {
      if (this.countsFor(t)) this.counts[t]!--;
      if (this.countsFor(list)) this.counts[list]!++;
      this.type[node] = list;
    }
    this.ref[node] = 0;
    if (node === this.nextInactiveRotation) this.nextInactiveRotation = this.prev[node]!;
    this.moveTo(node, list);
  }

  // kernel: __bpf_lru_node_move_in() — from the local pending list into the global lists.
  private moveIn(node: number, list: number): void {
    this.counts[list]!++;
    this.type[node] = list;
    this.ref[node] = 0;
    this.moveTo(node, list);
  }

  // kernel: __bpf_lru_node_move_to_free()
  private moveToFree(node: number, list: number): void {
    if (node === this.nextInactiveRotation) this.nextInactiveRotation = this.prev[node]!;
    const t = this.type[node]!;
    if (this.countsFor(t)) this.counts[t]!--;
    this.type[node] = list;
    this.moveTo(node, list);
  }

  // kernel: __bpf_lru_list_rotate_active()
  private rotateActive(): void {
    const h = this.head(ACTIVE);
    const firstNode = this.next[h]!;
    let i = 0;
    for (let node = this.prev[h]!; node !== h; ) {
      const p = this.prev[node]!;
      this.move(node, this.ref[node] ? ACTIVE : INACTIVE);
      if (++i === this.nrScans || node === firstNode) break;
      node = p;
    }
  }

  // kernel: __bpf_lru_list_rotate_inactive()
  private rotateInactive(): void {
    const h = this.head(INACTIVE);
    if (this.next[h] === h) return;
    let last = this.next[this.nextInactiveRotation]!;
    if (last === h) last = this.next[last]!;
    let cur = this.nextInactiveRotation;
    let next = h;
    let i = 0;
    while (i < this.nrScans) {
      if (cur === h) {
        cur = this.prev[cur]!;
        continue;
      }
      next = this.prev[cur]!;
      if (this.ref[cur]) this.move(cur, ACTIVE);
      if (cur === last) break;
      cur = next;
      i++;
    }
    this.nextInactiveRotation = next;
  }

  // kernel: __bpf_lru_list_shrink() — into the local free list (per-CPU lists: the free list).
  private shrink(want: number, into = LOCAL_FREE): number {
    const h = this.head(INACTIVE);
    let shrunk = 0;
    let i = 0;
    for (let node = this.prev[h]!; node !== h; ) {
      const p = this.prev[node]!;
      if (this.ref[node]) this.move(node, ACTIVE);
      else if (this.evict(node)) {
        this.moveToFree(node, into);
        if (++shrunk === want) break;
      }
      if (++i === this.nrScans) break;
      node = p;
    }
    if (shrunk) return shrunk;
    // Force: ignore reference bits, inactive list first.
    const list = this.next[h] !== h ? INACTIVE : ACTIVE;
    const lh = this.head(list);
    for (let node = this.prev[lh]!; node !== lh; node = this.prev[node]!) {
      if (this.evict(node)) {
        this.moveToFree(node, into);
        return 1;
      }
    }
    return 0;
  }

  // kernel: bpf_lru_list_pop_free_to_local()
  private refill(): void {
    // __local_list_flush(): pending nodes, oldest first, to the head of active/inactive.
    const ph = this.head(LOCAL_PENDING);
    for (let node = this.prev[ph]!; node !== ph; ) {
      const p = this.prev[node]!;
      this.moveIn(node, this.ref[node] ? ACTIVE : INACTIVE);
      node = p;
    }
    if (this.counts[INACTIVE]! < this.counts[ACTIVE]!) this.rotateActive();
    this.rotateInactive();
    let nfree = 0;
    for (let node = this.first(FREE); node >= 0 && nfree < this.targetFree; node = this.first(FREE)) {
      this.moveToFree(node, LOCAL_FREE);
      nfree++;
    }
    if (nfree < this.targetFree) this.shrink(this.targetFree - nfree);
  }

  /** kernel: bpf_common_lru_pop_free() — a node for a new element, or -1. */
  pop(): number {
    let node = this.first(LOCAL_FREE);
    if (node < 0) {
      this.refill();
      node = this.first(LOCAL_FREE);
    }
    if (node < 0) node = this.stealPending();
    if (node < 0) return -1;
    this.type[node] = LOCAL_PENDING;
    this.ref[node] = 0;
    this.moveTo(node, LOCAL_PENDING);
    return node;
  }

  // kernel: __local_list_pop_pending() — the oldest pending node, unreferenced ones first.
  private stealPending(): number {
    const ph = this.head(LOCAL_PENDING);
    for (const force of [false, true])
      for (let node = this.prev[ph]!; node !== ph; node = this.prev[node]!)
        if ((force || !this.ref[node]) && this.evict(node)) return node;
    return -1;
  }

  /** kernel: bpf_percpu_lru_pop_free() */
  popPercpu(): number {
    if (this.counts[INACTIVE]! < this.counts[ACTIVE]!) this.rotateActive();
    this.rotateInactive();
    if (this.first(FREE) < 0) this.shrink(PERCPU_FREE_TARGET, FREE);
    const node = this.first(FREE);
    if (node < 0) return -1;
    this.ref[node] = 0;
    this.move(node, INACTIVE);
    return node;
  }

  /** kernel: bpf_percpu_lru_push_free() */
  pushPercpu(node: number): void {
    this.move(node, FREE);
  }

  /** kernel: bpf_common_lru_push_free() — a node whose element was deleted or never added. */
  push(node: number): void {
    if (this.type[node] === LOCAL_PENDING) {
      this.type[node] = LOCAL_FREE;
      this.ref[node] = 0;
      this.moveTo(node, LOCAL_FREE);
      return;
    }
    if (this.isLocal(this.type[node]!)) return;
    this.move(node, FREE);
  }
}

/**
 * BPF_F_NO_COMMON_LRU: one LRU list per CPU, each with max_entries / nr_cpus nodes handed out
 * round-robin at creation (bpf_percpu_lru_populate()). A CPU takes free nodes only from its own
 * list, shrinking it by PERCPU_FREE_TARGET when empty; new nodes go straight to its inactive
 * list (bpf_percpu_lru_pop_free()).
 */
export class PercpuLru {
  private readonly lists: KernelLru[] = [];
  private readonly owner: Int32Array;

  constructor(nodes: number, nrCpus: number, evict: (node: number) => boolean) {
    this.owner = new Int32Array(nodes);
    const per = Math.floor(nodes / nrCpus);
    for (let c = 0; c < nrCpus; c++) {
      const mine: number[] = [];
      for (let i = c * per; i < (c === nrCpus - 1 ? nodes : (c + 1) * per); i++) {
        mine.push(i);
        this.owner[i] = c;
      }
      this.lists.push(new KernelLru(nodes, PERCPU_FREE_TARGET, evict, mine, PERCPU_NR_SCANS));
    }
  }

  setRef(node: number): void {
    this.lists[this.owner[node]!]!.setRef(node);
  }

  pop(cpu: number): number {
    const l = this.lists[cpu];
    return l ? l.popPercpu() : -1;
  }

  push(node: number): void {
    this.lists[this.owner[node]!]!.pushPercpu(node);
  }
}
