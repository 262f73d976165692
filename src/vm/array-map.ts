// BPF_MAP_TYPE_ARRAY from a minimal spec, for test runs and lddw map pseudo-instructions: the
// maps module's array (kernel semantics, host API) with the small constructor testRun uses.
import { UsageError } from '../errors.ts';
import { ArrayMap as KernelArrayMap } from '../maps/array.ts';
import { normalizeSpec } from '../maps/spec.ts';
import type { Arena } from './arena.ts';

export interface ArrayMapSpec {
  type: 'array';
  valueSize: number;
  maxEntries: number;
  name?: string;
}

export class ArrayMap extends KernelArrayMap {
  constructor(arena: Arena, spec: ArrayMapSpec) {
    if (
      !(spec.valueSize > 0) ||
      !(spec.maxEntries > 0) ||
      !Number.isInteger(spec.valueSize + spec.maxEntries)
    )
      throw new UsageError(`array map: bad sizes (value ${spec.valueSize}, entries ${spec.maxEntries})`);
    const s = normalizeSpec({
      type: 'array',
      keySize: 4,
      valueSize: spec.valueSize,
      maxEntries: spec.maxEntries,
      name: spec.name ?? 'array',
    });
    super(arena, s);
  }

  /** Value of element k, copied out (host side). */
  get(k: number): Uint8Array {
    return this.arena.read(this.elemAddr(k), this.valueSize);
  }

  set(k: number, value: Uint8Array): void {
    this.arena.write(this.elemAddr(k), value.subarray(0, this.valueSize));
  }
}
