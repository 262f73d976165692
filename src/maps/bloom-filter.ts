// BPF_MAP_TYPE_BLOOM_FILTER (kernel: kernel/bpf/bloom_filter.c). push sets nr_hash_funcs bits
// per value, peek says "maybe present" (0) or "certainly absent" (-ENOENT). Bit array size and
// hashes follow the kernel, so with BPF_F_ZERO_SEED the same bits get set.
import type { Arena } from '../vm/arena.ts';
import { E2BIG, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP, MapError } from './errno.ts';
import {
  BPF_ANY,
  BPF_F_ACCESS_MASK,
  BPF_F_NUMA_NODE,
  BPF_F_ZERO_SEED,
  KMALLOC_MAX_SIZE,
  mapFlagsAccessOk,
} from './flags.ts';
import { BpfMap, flagsNum } from './map.ts';
import { MAX_MAP_BYTES } from './array.ts';
import { jhash, jhash2 } from './jhash.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';

const BLOOM_CREATE_FLAG_MASK = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_ACCESS_MASK;
const DEFAULT_NR_HASH_FUNCS = 5;

/** kernel: bloom_map_alloc_check() + the checks at the top of bloom_map_alloc(). */
export function bloomAllocCheck(s: NormalizedSpec): number {
  if (
    s.keySize !== 0 ||
    s.valueSize === 0 ||
    s.maxEntries === 0 ||
    s.flags & ~BLOOM_CREATE_FLAG_MASK ||
    !mapFlagsAccessOk(s.flags) ||
    (s.mapExtra & ~0xfn) !== 0n
  )
    return -EINVAL;
  // kernel: user space could not pass a larger value.
  if (s.valueSize > KMALLOC_MAX_SIZE) return -E2BIG;
  return 0;
}

export class BloomFilterMap extends BpfMap {
  readonly nrHashFuncs: number;
  /** Bit array size minus one (a power of two minus one). */
  readonly bitsetMask: number;
  readonly hashSeed: number;
  private readonly bits: Uint8Array;
  private readonly tmp: Uint8Array;

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.nrHashFuncs = Number(spec.mapExtra & 0xfn) || DEFAULT_NR_HASH_FUNCS;
    // kernel: n * k / ln(2) bits, with 7/5 for 1/ln(2), rounded up to a power of two (>= 64).
    let nrBits = spec.maxEntries * this.nrHashFuncs;
    nrBits = Math.floor(nrBits / 5) * 7;
    let bytes: number;
    if (nrBits > 2 ** 31) {
      this.bitsetMask = 0xffffffff;
      bytes = 2 ** 29;
    } else {
      nrBits = nrBits <= 64 ? 64 : 2 ** Math.ceil(Math.log2(nrBits));
      this.bitsetMask = nrBits - 1;
      bytes = nrBits / 8;
    }
    if (bytes > MAX_MAP_BYTES) {
      this.close();
      throw new MapError(ENOMEM, `map ${spec.name}: ${bytes}-byte bit array`);
    }
    this.bits = new Uint8Array(bytes);
    this.tmp = new Uint8Array(spec.valueSize);
    this.hashSeed =
      spec.flags & BPF_F_ZERO_SEED ? 0 : (opts.hashSeed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  }

  // kernel: hash() in bloom_filter.c
  private hash(i: number): number {
    const seed = (this.hashSeed + i) >>> 0;
    const h = this.valueSize % 4 === 0 ? jhash2(this.tmp, seed) : jhash(this.tmp, seed);
    return (h & this.bitsetMask) >>> 0;
  }

  private load(valueAddr: number): void {
    this.tmp.set(this.arena.u8.subarray(valueAddr, valueAddr + this.valueSize));
  }

  push(valueAddr: number, flags: bigint): number {
    if (flagsNum(flags) !== BPF_ANY) return -EINVAL;
    this.load(valueAddr);
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const b = this.hash(i);
      this.bits[b >>> 3]! |= 1 << (b & 7);
    }
    return 0;
  }

  peek(valueAddr: number): number {
    this.load(valueAddr);
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const b = this.hash(i);
      if (!(this.bits[b >>> 3]! & (1 << (b & 7)))) return -ENOENT;
    }
    return 0;
  }

  // kernel: lookup/delete/get_next_key are EOPNOTSUPP, update EINVAL.
  protected lookupElem(): number {
    return 0;
  }
  protected updateElem(): number {
    return -EINVAL;
  }
  protected deleteElem(): number {
    return -EOPNOTSUPP;
  }
  protected getNextKey(): number {
    return -EOPNOTSUPP;
  }

  // ---- host side: bpf() lookup peeks the value passed in, update pushes ----

  protected override hostLookup(): Uint8Array | undefined {
    throw new MapError(EINVAL, `map ${this.name}: use has(value) on a bloom filter`);
  }

  protected override hostUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.checkHostWrite(key, value, 'push');
    const s = this.stage();
    this.arena.write(s.value, value);
    this.fail(this.push(s.value, BigInt(flags)), 'push');
  }

  add(value: Uint8Array): void {
    this.update(new Uint8Array(0), value, 0);
  }

  /** True when the value may have been added; false when it certainly was not. */
  has(value: Uint8Array): boolean {
    this.checkOpen();
    if (value.length !== this.valueSize)
      throw new MapError(
        EINVAL,
        `map ${this.name}: value is ${value.length} bytes, expected ${this.valueSize}`,
      );
    const s = this.stage();
    this.arena.write(s.value, value);
    return this.peek(s.value) === 0;
  }
}
