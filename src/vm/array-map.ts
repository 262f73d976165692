// A minimal BPF_MAP_TYPE_ARRAY living in the arena: enough for test runs and lddw map
// pseudo-instructions until the maps module lands.
import { UsageError } from '../errors.ts';
import type { Arena } from './arena.ts';
import type { VmMap } from './maps.ts';

const EINVAL = 22;
const EEXIST = 17;
const E2BIG = 7;
// kernel: BPF_ANY, BPF_NOEXIST, BPF_EXIST
const BPF_NOEXIST = 1n;
const BPF_EXIST = 2n;

export interface ArrayMapSpec {
  type: 'array';
  valueSize: number;
  maxEntries: number;
  name?: string;
}

export class ArrayMap implements VmMap {
  readonly name: string;
  readonly ptr: number;
  readonly keySize = 4;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Address of element 0; elements are round_up(valueSize, 8) apart, as in the kernel. */
  readonly values: number;
  readonly elemSize: number;

  constructor(
    private readonly arena: Arena,
    spec: ArrayMapSpec,
  ) {
    if (
      !(spec.valueSize > 0) ||
      !(spec.maxEntries > 0) ||
      !Number.isInteger(spec.valueSize + spec.maxEntries)
    )
      throw new UsageError(`array map: bad sizes (value ${spec.valueSize}, entries ${spec.maxEntries})`);
    this.name = spec.name ?? 'array';
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.elemSize = Math.ceil(spec.valueSize / 8) * 8;
    this.ptr = arena.alloc(64, 8, { kind: 'map', writable: false, name: `map ${this.name}` });
    this.values = arena.alloc(this.elemSize * this.maxEntries, 8, {
      kind: 'map_value',
      writable: true,
      name: `map ${this.name} values`,
    });
  }

  lookup(keyAddr: number): number {
    const k = this.arena.dv.getUint32(keyAddr, true);
    return k < this.maxEntries ? this.values + k * this.elemSize : 0;
  }

  update(keyAddr: number, valueAddr: number, flags: bigint): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const k = this.arena.dv.getUint32(keyAddr, true);
    if (k >= this.maxEntries) return -E2BIG;
    if (flags === BPF_NOEXIST) return -EEXIST; // every array element always exists
    this.arena.u8.copyWithin(this.values + k * this.elemSize, valueAddr, valueAddr + this.valueSize);
    return 0;
  }

  delete(): number {
    return -EINVAL; // kernel: array_map_delete_elem()
  }

  /** kernel: array_map_direct_value_addr() — only single-element arrays. */
  directValueAddr(off: number): number | undefined {
    if (this.maxEntries !== 1) return undefined;
    return off >= 0 && off < this.valueSize ? this.values + off : undefined;
  }

  /** Value of element k, copied out (host side). */
  get(k: number): Uint8Array {
    return this.arena.read(this.values + k * this.elemSize, this.valueSize);
  }

  set(k: number, value: Uint8Array): void {
    this.arena.write(this.values + k * this.elemSize, value.subarray(0, this.valueSize));
  }
}
