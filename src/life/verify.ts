// tsbpf's verifier over the Life programs, with the facts BPF_PROG_LOAD would know about the
// maps: the bpf_timer offset from BTF and the frozen .rodata bytes after the overrides (so that
// width/height are the constants the bounded loops are checked against).
import type { Btf } from '../btf/btf.ts';
import { linkProgram } from '../elf/link.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import type { Collection } from '../runtime/index.ts';
import { type MapInfo, type VerifyResult, verify } from '../verifier/index.ts';

const ZERO_KEY = new Uint8Array(4);

/** kernel: btf_find_field() for BPF_TIMER — the offset of a struct bpf_timer in a map value. */
function timerOffset(btf: Btf | undefined, typeId: number): number | undefined {
  if (!btf || typeId === 0) return undefined;
  const t = btf.skipModifiers(typeId);
  if (t.kind !== 'struct') return undefined;
  for (const m of t.members) {
    const mt = btf.skipModifiers(m.type);
    if (mt.kind === 'struct' && mt.name === 'bpf_timer') return m.bitOffset / 8;
  }
  return undefined;
}

/** The MapInfo list (object map order) for verifying programs of `coll`. */
export function mapInfos(spec: CollectionSpec, coll: Collection): MapInfo[] {
  return spec.maps.map((s) => {
    const info: MapInfo = {
      type: s.typeName,
      keySize: s.keySize,
      valueSize: s.valueSize,
      maxEntries: s.maxEntries,
      flags: s.flags,
      name: s.name,
    };
    const timerOff = timerOffset(spec.btf, s.valueTypeId);
    if (timerOff !== undefined) info.timerOff = timerOff;
    const live = coll.maps.get(s.name);
    if (s.frozen && live && s.keySize === 4) {
      const v = live.lookup(ZERO_KEY);
      if (v instanceof Uint8Array) info.frozenData = v;
    }
    return info;
  });
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
