// What a command's FILE argument holds: an ELF object, assembly text, or raw bytecode.
// The kind comes from the bytes (ELF magic) first, then from the extension, so a
// misnamed object is still read as an object.
import { UsageError } from '../errors.ts';
import { loadCollectionSpec } from '../elf/collection-spec.ts';
import type { CollectionSpec, ProgramSpec } from '../elf/spec.ts';
import { assembleAuto } from '../isa/asm/index.ts';
import { decodeProgram } from '../isa/decode.ts';
import type { Insn } from '../isa/insn.ts';
import { readInput } from './io.ts';

export type InputKind = 'object' | 'asm' | 'raw';

const ASM_EXT = /\.(s|S|asm|bpf\.s)$/;

export function inputKind(path: string, bytes: Uint8Array): InputKind {
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)
    return 'object';
  if (ASM_EXT.test(path)) return 'asm';
  return 'raw';
}

export function decodeText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}

/** Assembly text or raw bytecode → instructions (validated structurally). */
export function programFromBytes(path: string, bytes: Uint8Array, kind: InputKind): Insn[] {
  if (kind === 'asm') return assembleAuto(decodeText(bytes), path);
  if (kind === 'raw') {
    if (bytes.length === 0) throw new UsageError(`${path}: empty program`);
    return decodeProgram(bytes, { file: path });
  }
  throw new UsageError(`${path}: an ELF object, not a program`);
}

export interface LoadedInput {
  path: string;
  kind: InputKind;
  bytes: Uint8Array;
  /** Set for objects. */
  spec?: CollectionSpec;
}

export function loadInput(path: string): LoadedInput {
  const bytes = readInput(path);
  const kind = inputKind(path, bytes);
  if (kind !== 'object') return { path, kind, bytes };
  return { path, kind, bytes, spec: loadCollectionSpec(bytes, { file: path }) };
}

/** The program a `--prog NAME` selects, or the only one; a usage error otherwise. */
export function pickProgram(spec: CollectionSpec, name: string | undefined): ProgramSpec {
  const names = spec.programs.map((p) => p.name);
  if (name === undefined) {
    if (spec.programs.length === 1) return spec.programs[0]!;
    if (spec.programs.length === 0) throw new UsageError(`${spec.file}: the object has no programs`);
    throw new UsageError(
      `${spec.file}: ${spec.programs.length} programs, pick one with --prog (${names.join(', ')})`,
    );
  }
  const p = spec.programs.find((x) => x.name === name) ?? spec.subprograms.find((x) => x.name === name);
  if (!p)
    throw new UsageError(
      `${spec.file}: no program named '${name}' (programs: ${names.join(', ') || 'none'})`,
    );
  return p;
}
