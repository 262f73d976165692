// An object's map as the verifier sees it (kernel: what BPF_MAP_CREATE and BTF tell
// BPF_PROG_LOAD): sizes and flags, where a bpf_timer / bpf_spin_lock sits in the value (from
// BTF), and the bytes of a frozen map (.rodata) so loads from it are constants.
import type { CollectionSpec, MapSpec } from '../elf/spec.ts';
import type { BpfMap } from '../maps/map.ts';
import type { MapInfo } from '../verifier/index.ts';
import { kptrFields, specialFieldOffset } from './btf-fields.ts';

const ZERO_KEY = new Uint8Array(4);

/** `live`: the created map, whose current bytes (after `--set`/rodata overrides) win over the spec's. */
export function objectMapInfo(spec: CollectionSpec, m: MapSpec, live?: BpfMap): MapInfo {
  const info: MapInfo = {
    type: m.typeName,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
    name: m.name,
  };
  const at = (s: 'bpf_timer' | 'bpf_spin_lock'): number | undefined => {
    try {
      return specialFieldOffset(spec.btf, m.valueTypeId, s);
    } catch {
      return undefined; // a dangling type id: the verifier then refuses the timer/lock call itself
    }
  };
  if (m.innerMap) info.inner = objectMapInfo(spec, m.innerMap);
  const timerOff = at('bpf_timer');
  const spinLockOff = at('bpf_spin_lock');
  if (timerOff !== undefined) info.timerOff = timerOff;
  if (spinLockOff !== undefined) info.spinLockOff = spinLockOff;
  try {
    const kptrs = kptrFields(spec.btf, m.valueTypeId);
    if (kptrs.length) info.kptrs = kptrs;
  } catch {
    // a dangling type id: no kptr fields, as for timers above
  }
  if (m.frozen && m.keySize === 4) {
    const current = live?.lookup(ZERO_KEY);
    const data = current instanceof Uint8Array ? current : m.data;
    if (data) info.frozenData = data;
  }
  return info;
}
