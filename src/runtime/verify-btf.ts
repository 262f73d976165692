// What the verifier needs from an object's BTF for one linked program: the BTF itself (global
// function signatures, kernel struct layouts), the CO-RE target if offsets were relocated
// against one, and the attach type and target (iter/task → 'trace_iter', 'task').
import type { Btf } from '../btf/btf.ts';
import type { LinkedProgram } from '../elf/link.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import type { MapInfo, VerifyProgram } from '../verifier/index.ts';
import { KFUNC_NAMES } from './kfunc-calls.ts';
import { objectMapInfo } from './map-info.ts';

export type VerifyBtfFields = Pick<VerifyProgram, 'btf' | 'kernelBtf' | 'attachType' | 'attachTo'>;

export function verifyBtfFields(
  spec: CollectionSpec,
  linked: Pick<LinkedProgram, 'section' | 'attachType'>,
  coreTarget?: Btf,
): VerifyBtfFields {
  const out: VerifyBtfFields = {};
  if (spec.btf) out.btf = spec.btf;
  if (coreTarget) out.kernelBtf = coreTarget;
  if (linked.attachType) out.attachType = linked.attachType;
  const slash = linked.section.indexOf('/');
  if (slash >= 0) out.attachTo = linked.section.slice(slash + 1);
  return out;
}

/**
 * The verifier's whole input for one linked program of an object: instructions, type,
 * sleepable, kfunc names, maps (by default the linked program's, as `mapIndex: 'used'` numbers
 * them), BTF func and line info, and the BTF fields above.
 */
export function linkedVerifyProgram(
  spec: CollectionSpec,
  linked: LinkedProgram,
  opts: { maps?: readonly MapInfo[]; coreTarget?: Btf } = {},
): VerifyProgram {
  return {
    insns: linked.insns,
    progType: linked.progType,
    sleepable: linked.sleepable,
    kfuncs: KFUNC_NAMES,
    maps: opts.maps ?? linked.maps.map((m) => objectMapInfo(spec, m)),
    funcInfo: linked.funcInfo,
    lineInfo: linked.lineInfo,
    ...verifyBtfFields(spec, linked, opts.coreTarget),
  };
}
