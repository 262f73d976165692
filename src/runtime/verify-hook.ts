// The verifier gate before a program is loaded into a collection (skippable with verify: false).
import type { LinkedProgram } from '../elf/link.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import { InputError, type Where } from '../errors.ts';
import type { BpfMap } from '../maps/map.ts';
import { type MapInfo, verify } from '../verifier/index.ts';
import { specialFieldOffset } from './btf-fields.ts';

const ZERO_KEY = new Uint8Array(4);

/** Throws InputError('VERIFY') with the kernel-style message when the verifier refuses. */
export function verifyBeforeLoad(
  linked: LinkedProgram,
  spec: CollectionSpec,
  maps: readonly BpfMap[],
  where: Where,
): void {
  const infos: MapInfo[] = spec.maps.map((s, i) => {
    const info: MapInfo = {
      type: s.typeName,
      keySize: s.keySize,
      valueSize: s.valueSize,
      maxEntries: s.maxEntries,
      flags: s.flags,
      name: s.name,
    };
    const timerOff = specialFieldOffset(spec.btf, s.valueTypeId, 'bpf_timer');
    const spinLockOff = specialFieldOffset(spec.btf, s.valueTypeId, 'bpf_spin_lock');
    if (timerOff !== undefined) info.timerOff = timerOff;
    if (spinLockOff !== undefined) info.spinLockOff = spinLockOff;
    const live = maps[i];
    if (s.frozen && live && s.keySize === 4) {
      const v = live.lookup(ZERO_KEY);
      if (v instanceof Uint8Array) info.frozenData = v;
    }
    return info;
  });
  const r = verify({
    insns: linked.insns,
    progType: linked.progType,
    maps: infos,
    lineInfo: linked.lineInfo,
    funcInfo: linked.funcInfo,
  });
  if (r.verdict === 'accept') return;
  const e = r.error;
  const line = e?.line ? ` (${e.line.file}:${e.line.line}: ${e.line.text.trim()})` : '';
  throw new InputError('VERIFY', `verifier rejected ${linked.name}: ${e?.message ?? 'rejected'}${line}`, {
    where: { ...where, ...(e ? { insnIdx: e.insnIdx } : {}) },
  });
}
