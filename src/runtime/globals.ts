// Setting global variables before load, as libbpf skeletons do: `const volatile` values in
// .rodata (and .data/.bss variables) by name, found through the BTF DATASEC of their section,
// and `.kconfig` externs.
import type { Btf } from '../btf/btf.ts';
import type { BtfDatasec } from '../btf/types.ts';
import type { ExternSpec, MapSpec } from '../elf/spec.ts';
import { UsageError } from '../errors.ts';

export type GlobalValue = number | bigint | boolean | string | Uint8Array;

interface VarSlot {
  map: MapSpec;
  offset: number;
  size: number;
}

/** Variable name → where it lives, for every global data map with BTF. */
function dataVars(btf: Btf | undefined, maps: readonly MapSpec[]): Map<string, VarSlot> {
  const out = new Map<string, VarSlot>();
  if (!btf) return out;
  for (const map of maps) {
    if (map.origin !== 'rodata' && map.origin !== 'data' && map.origin !== 'bss') continue;
    for (const ds of btf.findByName(map.section, 'datasec') as BtfDatasec[]) {
      for (const v of ds.vars) {
        const t = btf.typeById(v.type);
        if (t.kind === 'var' && !out.has(t.name)) out.set(t.name, { map, offset: v.offset, size: v.size });
      }
    }
  }
  return out;
}

/** Little-endian bytes of `value` for a variable of `size` bytes. */
export function encodeGlobal(name: string, value: GlobalValue, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (value instanceof Uint8Array || typeof value === 'string') {
    const b = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    const need = typeof value === 'string' ? b.length + 1 : b.length;
    if (need > size) throw new UsageError(`global ${name}: ${need} bytes do not fit its ${size}`);
    out.set(b);
    return out;
  }
  let v: bigint;
  if (typeof value === 'boolean') v = value ? 1n : 0n;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new UsageError(`global ${name}: ${value} is not an integer`);
    v = BigInt(value);
  } else v = value;
  if (size > 8) throw new UsageError(`global ${name}: a ${size}-byte variable takes bytes, not a number`);
  const bits = BigInt(size * 8);
  if (v >= 1n << bits || v < -(1n << (bits - 1n)))
    throw new UsageError(`global ${name}: ${v} does not fit in ${size} bytes`);
  const u = BigInt.asUintN(Number(bits), v);
  for (let i = 0; i < size; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return out;
}

/**
 * Returns map specs with the overrides written into their initial data (the inputs are not
 * modified). Throws UsageError naming an unknown variable.
 */
export function applyGlobals(
  btf: Btf | undefined,
  maps: readonly MapSpec[],
  values: Readonly<Record<string, GlobalValue>>,
  file: string,
): MapSpec[] {
  const vars = dataVars(btf, maps);
  const out = maps.map((m) => ({ ...m }));
  for (const [name, value] of Object.entries(values)) {
    const slot = vars.get(name);
    if (!slot) {
      const known = [...vars.keys()].join(', ') || '(none: the object has no BTF for its globals)';
      throw new UsageError(`${file}: no global variable "${name}" (known: ${known})`);
    }
    const i = maps.indexOf(slot.map);
    const m = out[i]!;
    const data = new Uint8Array(m.valueSize);
    if (m.data) data.set(m.data.subarray(0, m.valueSize));
    data.set(encodeGlobal(name, value, slot.size), slot.offset);
    m.data = data;
  }
  return out;
}

/** kernel version libbpf reports for LINUX_KERNEL_VERSION: KERNEL_VERSION(6, 18, 0). */
export const DEFAULT_KERNEL_VERSION = (6 << 16) | (18 << 8);

/**
 * Initial bytes of the `.kconfig` map. libbpf reads /proc/config.gz; here the host passes the
 * values (booleans and tristates as true/false/'y'/'n'/'m'). A strong extern without a value fails.
 */
export function kconfigData(
  map: MapSpec,
  externs: readonly ExternSpec[],
  values: Readonly<Record<string, GlobalValue>>,
  file: string,
): Uint8Array {
  const data = new Uint8Array(map.valueSize);
  for (const e of externs) {
    if (e.kind !== 'kconfig') continue;
    let v: GlobalValue | undefined = values[e.name];
    if (v === undefined && e.name === 'LINUX_KERNEL_VERSION') v = DEFAULT_KERNEL_VERSION;
    if (v === undefined) {
      if (e.weak) continue;
      throw new UsageError(`${file}: kconfig extern ${e.name} has no value (pass it in options.kconfig)`);
    }
    // libbpf: enum libbpf_tristate { TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 }
    if (v === 'y' && e.size <= 4) v = 1;
    else if (v === 'n' && e.size <= 4) v = 0;
    else if (v === 'm' && e.size <= 4) v = 2;
    data.set(encodeGlobal(e.name, v, e.size), e.offset);
  }
  return data;
}
