// BPF_MAP_TYPE_LPM_TRIE (kernel: kernel/bpf/lpm_trie.c). Keys are struct bpf_lpm_trie_key_u8:
// a host-endian u32 prefix length and data_size bytes, bits compared most significant first.
//
// Instead of the kernel's path-compressed trie, entries sit in a table keyed by (prefix length,
// masked prefix), and a lookup probes the prefix lengths present from the longest down. The
// observable behaviour is the same: the longest stored prefix not longer than the key's that
// matches it; get_next_key in the kernel's post-order (more specific prefixes first, a 0 bit
// before a 1 bit); stored keys keep the data bytes they were inserted with, bits past the
// prefix included.
import type { Arena } from '../vm/arena.ts';
import { EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC } from './errno.ts';
import {
  BPF_EXIST,
  BPF_F_ACCESS_MASK,
  BPF_F_NO_PREALLOC,
  BPF_F_NUMA_NODE,
  BPF_NOEXIST,
  KMALLOC_MAX_SIZE,
  mapFlagsAccessOk,
} from './flags.ts';
import { BpfMap, roundUp8 } from './map.ts';
import { SlotPool } from './slots.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';

const LPM_DATA_SIZE_MAX = 256;
const LPM_DATA_SIZE_MIN = 1;
const LPM_CREATE_FLAG_MASK = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;
/** kernel: LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node). */
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 24;

/** kernel: trie_alloc() checks. The kernel insists on BPF_F_NO_PREALLOC. */
export function lpmAllocCheck(s: NormalizedSpec): number {
  if (
    s.maxEntries === 0 ||
    !(s.flags & BPF_F_NO_PREALLOC) ||
    s.flags & ~LPM_CREATE_FLAG_MASK ||
    !mapFlagsAccessOk(s.flags) ||
    s.keySize < 4 + LPM_DATA_SIZE_MIN ||
    s.keySize > 4 + LPM_DATA_SIZE_MAX ||
    s.valueSize < 1 ||
    s.valueSize > LPM_VAL_SIZE_MAX
  )
    return -EINVAL;
  return 0;
}

interface Node {
  prefixlen: number;
  /** The key as inserted (prefix length + all data bytes). */
  key: Uint8Array;
  slot: number;
}

export class LpmTrieMap extends BpfMap {
  readonly dataSize: number;
  readonly maxPrefixlen: number;
  private readonly pool: SlotPool;
  private readonly nodes = new Map<string, Node>();
  /** How many nodes have each prefix length; lookups probe only lengths in use. */
  private readonly lengths = new Map<number, number>();
  private sortedLengths: number[] = [];
  private order?: Node[];

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.dataSize = spec.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    this.pool = new SlotPool(roundUp8(spec.valueSize), spec.maxEntries, false, (bytes) =>
      this.allocBlock(bytes, 8, 'map_value', this.progWritable, 'values'),
    );
  }

  get count(): number {
    return this.nodes.size;
  }

  private prefixlenAt(keyAddr: number): number {
    return this.arena.dv.getUint32(keyAddr, true);
  }

  /** Table key: prefix length and the data masked to it. */
  private tableKey(keyAddr: number, prefixlen: number): string {
    const u8 = this.arena.u8;
    let s = String.fromCharCode(prefixlen & 0xff, prefixlen >> 8);
    const full = prefixlen >> 3;
    for (let i = 0; i < full; i++) s += String.fromCharCode(u8[keyAddr + 4 + i]!);
    const rest = prefixlen & 7;
    if (rest) s += String.fromCharCode(u8[keyAddr + 4 + full]! & (0xff00 >> rest) & 0xff);
    return s;
  }

  private find(keyAddr: number): Node | undefined {
    const p = this.prefixlenAt(keyAddr);
    if (p > this.maxPrefixlen) return undefined;
    return this.nodes.get(this.tableKey(keyAddr, p));
  }

  // kernel: trie_lookup_elem() — longest match among prefixes no longer than the key's.
  protected lookupElem(keyAddr: number): number {
    const limit = this.prefixlenAt(keyAddr);
    if (limit > this.maxPrefixlen) return 0;
    for (const p of this.sortedLengths) {
      if (p > limit) continue;
      const n = this.nodes.get(this.tableKey(keyAddr, p));
      if (n) return this.pool.addr(n.slot);
    }
    return 0;
  }

  // kernel: trie_update_elem()
  protected updateElem(keyAddr: number, valueAddr: number, flags: number): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const p = this.prefixlenAt(keyAddr);
    if (p > this.maxPrefixlen) return -EINVAL;
    const id = this.tableKey(keyAddr, p);
    const old = this.nodes.get(id);
    if (old && flags === BPF_NOEXIST) return -EEXIST;
    if (!old && flags === BPF_EXIST) return -ENOENT;
    if (!old && this.nodes.size >= this.maxEntries) return -ENOSPC;
    let slot: number;
    try {
      slot = this.pool.take();
    } catch {
      return -ENOMEM;
    }
    // A replacement gets a new node (the kernel frees the old one after an RCU grace period).
    if (slot < 0) {
      if (!old) return -ENOSPC;
      slot = old.slot;
    }
    this.arena.u8.copyWithin(this.pool.addr(slot), valueAddr, valueAddr + this.valueSize);
    const key = this.arena.read(keyAddr, this.keySize);
    if (old) {
      if (old.slot !== slot) this.pool.give(old.slot);
      old.slot = slot;
      old.key = key;
    } else {
      this.nodes.set(id, { prefixlen: p, key, slot });
      this.countLength(p, 1);
    }
    this.order = undefined;
    return 0;
  }

  protected deleteElem(keyAddr: number): number {
    const p = this.prefixlenAt(keyAddr);
    if (p > this.maxPrefixlen) return -EINVAL;
    const id = this.tableKey(keyAddr, p);
    const n = this.nodes.get(id);
    if (!n) return -ENOENT;
    this.nodes.delete(id);
    this.pool.give(n.slot);
    this.countLength(p, -1);
    this.order = undefined;
    return 0;
  }

  private countLength(p: number, d: number): void {
    const c = (this.lengths.get(p) ?? 0) + d;
    if (c === 0) this.lengths.delete(p);
    else this.lengths.set(p, c);
    this.sortedLengths = [...this.lengths.keys()].sort((a, b) => b - a);
  }

  /** Bit i of the data (most significant bit of byte 0 first), as kernel extract_bit(). */
  private static bit(key: Uint8Array, i: number): number {
    return (key[4 + (i >> 3)]! >> (7 - (i & 7))) & 1;
  }

  /** Post-order: a more specific prefix before the prefix containing it; bit 0 before bit 1. */
  private static postorder(a: Node, b: Node): number {
    const m = Math.min(a.prefixlen, b.prefixlen);
    for (let i = 0; i < m; i++) {
      const x = LpmTrieMap.bit(a.key, i);
      const y = LpmTrieMap.bit(b.key, i);
      if (x !== y) return x - y;
    }
    return b.prefixlen - a.prefixlen;
  }

  // kernel: trie_get_next_key() — an invalid or unknown key restarts from the leftmost node.
  protected getNextKey(keyAddr: number, nextAddr: number): number {
    if (!this.order) this.order = [...this.nodes.values()].sort(LpmTrieMap.postorder);
    if (this.order.length === 0) return -ENOENT;
    const cur = keyAddr ? this.find(keyAddr) : undefined;
    const i = cur ? this.order.indexOf(cur) + 1 : 0;
    const n = this.order[i];
    if (!n) return -ENOENT;
    this.arena.write(nextAddr, n.key);
    return 0;
  }

  /** Host convenience: a key from a prefix length and data bytes. */
  static key(prefixlen: number, data: readonly number[] | Uint8Array, dataSize = data.length): Uint8Array {
    const k = new Uint8Array(4 + dataSize);
    new DataView(k.buffer).setUint32(0, prefixlen, true);
    k.set(data.slice(0, dataSize), 4);
    return k;
  }
}
