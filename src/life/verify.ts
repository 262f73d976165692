// tsbpf's verifier over the Life programs, with the facts BPF_PROG_LOAD would know about the
// maps: the bpf_timer offset from BTF and the frozen .rodata bytes after the overrides (so that
// width/height are the constants the bounded loops are checked against).
import { linkProgram } from '../elf/link.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import type { Collection } from '../runtime/index.ts';
import { objectMapInfo } from '../runtime/map-info.ts';
import { type MapInfo, type VerifyResult, verify } from '../verifier/index.ts';

/** The MapInfo list (object map order) for verifying programs of `coll`. */
export function mapInfos(spec: CollectionSpec, coll: Collection): MapInfo[] {
  return spec.maps.map((s) => objectMapInfo(spec, s, coll.maps.get(s.name)));
}

export interface ProgramVerdict {
  name: string;
  result: VerifyResult;
  /** Wall time of the verification. */
  ms: number;
  /** Each function of the linked image with the slot it starts at (the program first). */
  functions: { name: string; insnOff: number }[];
  insns: number;
}

/** Verifies program `name` of `spec` as loaded into `coll` (its maps carry the overrides). */
export function verifyLifeProgram(
  spec: CollectionSpec,
  coll: Collection,
  name: string,
  opts: { logLevel?: number; insnLimit?: number } = {},
): ProgramVerdict {
  const linked = linkProgram(spec, name, { mapIndex: 'object' });
  const t0 = performance.now();
  const result = verify(
    {
      insns: linked.insns,
      progType: linked.progType,
      maps: mapInfos(spec, coll),
      lineInfo: linked.lineInfo,
      funcInfo: linked.funcInfo,
    },
    { logLevel: opts.logLevel ?? 0, ...(opts.insnLimit !== undefined ? { insnLimit: opts.insnLimit } : {}) },
  );
  return {
    name,
    result,
    ms: performance.now() - t0,
    functions: linked.functions.map((f) => ({ name: f.name, insnOff: f.insnOff })),
    insns: linked.insns.length,
  };
}
