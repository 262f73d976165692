// The verifier gate before a program is loaded into a collection (skippable with verify: false).
import type { Btf } from '../btf/btf.ts';
import type { LinkedProgram } from '../elf/link.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import { InputError, type Where } from '../errors.ts';
import type { BpfMap } from '../maps/map.ts';
import { verify } from '../verifier/index.ts';
import { objectMapInfo } from './map-info.ts';
import { linkedVerifyProgram } from './verify-btf.ts';

/**
 * Throws InputError('VERIFY') with the kernel-style message when the verifier refuses; returns
 * the pointer type of each instruction's memory access (VerifyResult.ptrTypes) and the ctx bytes
 * the program may touch (VerifyResult.maxCtxOffset) when it accepts.
 */
export function verifyBeforeLoad(
  linked: LinkedProgram,
  spec: CollectionSpec,
  maps: readonly BpfMap[],
  where: Where,
  coreTarget?: Btf,
): { ptrTypes: (string | undefined)[]; maxCtxOffset: number } {
  // the collection numbers maps as the object does (mapIndex 'object'), with their live facts
  const infos = spec.maps.map((s, i) => objectMapInfo(spec, s, maps[i]));
  const r = verify(linkedVerifyProgram(spec, linked, { maps: infos, ...(coreTarget ? { coreTarget } : {}) }));
  if (r.verdict === 'accept') return { ptrTypes: r.ptrTypes ?? [], maxCtxOffset: r.maxCtxOffset ?? 0 };
  const e = r.error;
  const line = e?.line ? ` (${e.line.file}:${e.line.line}: ${e.line.text.trim()})` : '';
  throw new InputError('VERIFY', `verifier rejected ${linked.name}: ${e?.message ?? 'rejected'}${line}`, {
    where: { ...where, ...(e ? { insnIdx: e.insnIdx } : {}) },
  });
}
