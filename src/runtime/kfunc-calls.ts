// kfunc calls between the ELF loader and the verifier: the ids tsbpf gives the kfuncs it
// implements, patched into calls as libbpf patches vmlinux BTF ids, and their names back.
import { type CollectionSpec, copyCollectionSpec, type ProgReloc } from '../elf/spec.ts';
import type { Insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import { KFUNC_IDS } from './helpers/kfuncs.ts';

/** kfunc id → name, for VerifyProgram.kfuncs. */
export const KFUNC_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(KFUNC_IDS).map(([name, id]) => [id, name]),
);

/**
 * libbpf: bpf_object__resolve_ksym_func_btf_id() — calls to `__ksym` functions tsbpf
 * implements become `call` src=BPF_PSEUDO_KFUNC_CALL imm=KFUNC_IDS[name]. Others keep their
 * "not supported" relocation, which linking reports with the function's name.
 */
export function resolveKfuncCalls(spec: CollectionSpec): CollectionSpec {
  const isKfuncCall = (r: ProgReloc, insns: readonly Insn[]) =>
    r.kind === 'unsupported' && KFUNC_IDS[r.symbol] !== undefined && insns[r.insnIdx]?.code === op.OP_CALL;
  const funcs = [...spec.programs, ...spec.subprograms];
  if (!funcs.some((p) => p.relocs.some((r) => isKfuncCall(r, p.insns)))) return spec;
  const copy = copyCollectionSpec(spec);
  for (const p of [...copy.programs, ...copy.subprograms]) {
    p.relocs = p.relocs.filter((r) => {
      if (!isKfuncCall(r, p.insns) || r.kind !== 'unsupported') return true;
      const insn = p.insns[r.insnIdx]!;
      insn.src = op.PSEUDO_KFUNC_CALL;
      insn.imm = KFUNC_IDS[r.symbol]!;
      return false;
    });
  }
  return copy;
}
