// BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK (kernel: kernel/bpf/queue_stack_maps.c).
// Programs only copy values in and out through push/pop/peek, so elements are kept as JS copies.
// The host API follows bpf(): lookup peeks, update pushes, lookupAndDelete pops; keys are empty.
import type { Arena } from '../vm/arena.ts';
import { E2BIG, EINVAL, ENOENT, MapError } from './errno.ts';
import {
  BPF_EXIST,
  BPF_F_ACCESS_MASK,
  BPF_F_NUMA_NODE,
  BPF_MAP_TYPE_STACK,
  BPF_NOEXIST,
  KMALLOC_MAX_SIZE,
  mapFlagsAccessOk,
} from './flags.ts';
import { BpfMap, flagsNum } from './map.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';

const QUEUE_STACK_CREATE_FLAG_MASK = BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;

/** kernel: queue_stack_map_alloc_check(). */
export function queueStackAllocCheck(s: NormalizedSpec): number {
  if (
    s.maxEntries === 0 ||
    s.keySize !== 0 ||
    s.valueSize === 0 ||
    s.flags & ~QUEUE_STACK_CREATE_FLAG_MASK ||
    !mapFlagsAccessOk(s.flags)
  )
    return -EINVAL;
  if (s.valueSize > KMALLOC_MAX_SIZE) return -E2BIG;
  return 0;
}

export class QueueStackMap extends BpfMap {
  readonly isStack: boolean;
  private readonly items: Uint8Array[] = [];

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.isStack = spec.type === BPF_MAP_TYPE_STACK;
  }

  get count(): number {
    return this.items.length;
  }

  // kernel: queue_stack_map_push_elem() — BPF_EXIST on a full map drops the oldest element.
  push(valueAddr: number, flags: bigint): number {
    const f = flagsNum(flags);
    if (f & BPF_NOEXIST || f > BPF_EXIST) return -EINVAL;
    if (this.items.length >= this.maxEntries) {
      if (!(f & BPF_EXIST)) return -E2BIG;
      this.items.shift();
    }
    this.items.push(this.arena.read(valueAddr, this.valueSize));
    return 0;
  }

  private take(valueAddr: number, remove: boolean): number {
    if (this.items.length === 0) return -ENOENT;
    const v = this.isStack ? this.items[this.items.length - 1]! : this.items[0]!;
    if (remove) {
      if (this.isStack) this.items.pop();
      else this.items.shift();
    }
    this.arena.write(valueAddr, v);
    return 0;
  }

  pop(valueAddr: number): number {
    return this.take(valueAddr, true);
  }

  peek(valueAddr: number): number {
    return this.take(valueAddr, false);
  }

  // kernel: queue_stack_map_lookup_elem() etc. — not how these maps are used.
  protected lookupElem(): number {
    return 0;
  }
  protected updateElem(): number {
    return -EINVAL;
  }
  protected deleteElem(): number {
    return -EINVAL;
  }
  protected getNextKey(): number {
    return -EINVAL;
  }

  // ---- host side ----

  protected override hostLookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const s = this.stage();
    const r = this.peek(s.value);
    return r === 0 ? this.arena.read(s.value, this.valueSize) : undefined;
  }

  protected override hostUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.checkHostWrite(key, value, 'push');
    const s = this.stage();
    this.arena.write(s.value, value);
    this.fail(this.push(s.value, BigInt(flags)), 'push');
  }

  protected override hostDelete(): void {
    throw new MapError(EINVAL, `map ${this.name}: delete is not supported on a ${this.typeName}`);
  }

  /** kernel: BPF_MAP_LOOKUP_AND_DELETE_ELEM — pops; undefined when empty. */
  override lookupAndDelete(key: Uint8Array = new Uint8Array(0), flags = 0): Uint8Array | undefined {
    this.checkHostWrite(key, undefined, 'pop');
    if (flags) throw new MapError(EINVAL, `map ${this.name}: pop takes no flags`);
    const s = this.stage();
    return this.pop(s.value) === 0 ? this.arena.read(s.value, this.valueSize) : undefined;
  }

  pushValue(value: Uint8Array, flags = 0): void {
    this.update(new Uint8Array(0), value, flags);
  }

  peekValue(): Uint8Array | undefined {
    return this.lookup(new Uint8Array(0));
  }

  popValue(): Uint8Array | undefined {
    return this.lookupAndDelete();
  }
}
