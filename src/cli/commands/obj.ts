// tsbpf obj show / obj link: what an ELF object holds, and one program linked for loading.
import type { Btf } from '../../btf/btf.ts';
import { TsbpfError, UsageError } from '../../errors.ts';
import { kbpfMapArgs, linkProgram } from '../../elf/link.ts';
import { readElf } from '../../elf/reader.ts';
import type { CollectionSpec } from '../../elf/spec.ts';
import { encodeProgram } from '../../isa/encode.ts';
import { flag, onePositional, parseCommandArgs, str } from '../args.ts';
import type { Command } from '../command.ts';
import { json, toHex, writeOutput } from '../io.ts';
import { loadInput, pickProgram } from '../program-input.ts';
import { BTF_OPTION, btfUsage, coreTargetOpt } from '../target-btf.ts';

const STT_OBJECT = 1;
const DATA_SECTION = /^\.(data|rodata|bss)(\.|$)/;

function requireObject(path: string): { spec: CollectionSpec; bytes: Uint8Array } {
  const input = loadInput(path);
  if (!input.spec) throw new UsageError(`${path} is not an ELF object`);
  return { spec: input.spec, bytes: input.bytes };
}

/** Global and static variables: STT_OBJECT symbols in .data/.rodata/.bss sections. */
function globalVariables(
  bytes: Uint8Array,
  file: string,
): { name: string; section: string; offset: number; size: number }[] {
  const elf = readElf(bytes, file);
  const out: { name: string; section: string; offset: number; size: number }[] = [];
  for (const s of elf.symbols) {
    if (s.type !== STT_OBJECT) continue;
    const sec = elf.sections[s.shndx];
    if (!sec || !DATA_SECTION.test(sec.name)) continue;
    out.push({ name: s.name, section: sec.name, offset: s.value, size: s.size });
  }
  return out.sort((a, b) => a.section.localeCompare(b.section) || a.offset - b.offset);
}

/** With --btf: each program's CO-RE relocations against the target (links every program). */
function coreSummary(
  spec: CollectionSpec,
  target: { coreTarget?: Btf },
): { prog: string; relocations: number; poisoned: number; error?: string }[] | undefined {
  if (!target.coreTarget) return undefined;
  return spec.programs.map((x) => {
    try {
      const l = linkProgram(spec, x.name, { coreTarget: target.coreTarget! });
      const res = l.coreResults ?? [];
      return { prog: x.name, relocations: res.length, poisoned: res.filter((r) => r.poisoned).length };
    } catch (e) {
      // One unlinkable program (an unknown section) must not hide the others' results.
      if (!(e instanceof TsbpfError)) throw e;
      return { prog: x.name, relocations: x.coreRelos.length, poisoned: 0, error: e.message };
    }
  });
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
}

export const objShowCommand: Command = {
  name: 'obj show',
  summary: 'List the programs, maps and global variables of an ELF object',
  usage: `obj show FILE.o [--btf FILE] [--json]

${btfUsage(14)}
              and list per program how many CO-RE relocations resolved or were poisoned`,
  run(argv, io) {
    const p = parseCommandArgs('obj show', argv, { json: { type: 'boolean' }, ...BTF_OPTION });
    const path = onePositional(p, 'obj show', 'FILE.o');
    const { spec, bytes } = requireObject(path);
    const programs = spec.programs.map((x) => ({
      name: x.name,
      section: x.section,
      type: x.progType,
      ...(x.attachType ? { attach_type: x.attachType } : {}),
      insns: x.insns.length,
    }));
    const functions = spec.subprograms.map((x) => ({
      name: x.name,
      section: x.section,
      insns: x.insns.length,
    }));
    const maps = spec.maps.map((m) => ({
      name: m.name,
      type: m.typeName,
      key_size: m.keySize,
      value_size: m.valueSize,
      max_entries: m.maxEntries,
      flags: m.flags,
      origin: m.origin,
    }));
    const variables = globalVariables(bytes, path);
    const externs = spec.externs.map((e) => ({ name: e.name, kind: e.kind, weak: e.weak }));
    const core = coreSummary(spec, coreTargetOpt(p));
    if (flag(p, 'json')) {
      io.out(
        json({
          file: path,
          license: spec.license,
          programs,
          functions,
          maps,
          variables,
          externs,
          ...(core ? { core } : {}),
        }),
      );
      return 0;
    }
    const out: string[] = [`${path}: license "${spec.license}"`, ''];
    out.push(`programs (${programs.length}):`);
    if (programs.length)
      out.push(
        ...table([
          ['NAME', 'SECTION', 'TYPE', 'INSNS'],
          ...programs.map((x) => [x.name, x.section, x.type, String(x.insns)]),
        ]).map((l) => `  ${l}`),
      );
    if (functions.length) {
      out.push('', `functions (${functions.length}):`);
      out.push(
        ...table([
          ['NAME', 'SECTION', 'INSNS'],
          ...functions.map((x) => [x.name, x.section, String(x.insns)]),
        ]).map((l) => `  ${l}`),
      );
    }
    out.push('', `maps (${maps.length}):`);
    if (maps.length)
      out.push(
        ...table([
          ['NAME', 'TYPE', 'KEY', 'VALUE', 'MAX_ENTRIES', 'FLAGS', 'ORIGIN'],
          ...maps.map((m) => [
            m.name,
            m.type,
            String(m.key_size),
            String(m.value_size),
            String(m.max_entries),
            `0x${m.flags.toString(16)}`,
            m.origin,
          ]),
        ]).map((l) => `  ${l}`),
      );
    out.push('', `global variables (${variables.length}):`);
    if (variables.length)
      out.push(
        ...table([
          ['NAME', 'SECTION', 'OFFSET', 'SIZE'],
          ...variables.map((v) => [v.name, v.section, String(v.offset), String(v.size)]),
        ]).map((l) => `  ${l}`),
      );
    if (externs.length) {
      out.push('', `externs (${externs.length}):`);
      for (const e of externs) out.push(`  ${e.name} (${e.kind}${e.weak ? ', weak' : ''})`);
    }
    if (core) {
      out.push('', `CO-RE against ${str(p, 'btf')}:`);
      for (const c of core)
        out.push(
          `  ${c.prog}: ${c.relocations} relocations, ${c.poisoned} poisoned${c.error ? ` (${c.error})` : ''}`,
        );
    }
    io.out(out.join('\n'));
    return 0;
  },
};

export const objLinkCommand: Command = {
  name: 'obj link',
  summary: 'Link one program of an object into raw bytecode for kbpf or tsbpf run',
  usage: `obj link FILE.o [--prog NAME] [-o PROG.bin] [--force] [--json]

  Appends the subprograms the program calls and turns map and global data
  references into lddw src=1/src=2 with imm = the index of a --map option.
  Prints those options, one per line ("--map array:4:8:1"), for kbpf or
  'tsbpf run'. Global data keeps its initial value only in 'tsbpf run FILE.o'.

  --prog NAME   the program (needed when the object has several)
  -o FILE       output (default: NAME.bin beside the object, kept unless --force;
                an explicit -o is replaced, never an input)
${btfUsage(14)}
  --json        {"output", "insns", "type", "maps": [{"index", "spec", "name", ...}]}`,
  run(argv, io) {
    const p = parseCommandArgs('obj link', argv, {
      prog: { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      ...BTF_OPTION,
    });
    const path = onePositional(p, 'obj link', 'FILE.o');
    const { spec } = requireObject(path);
    const prog = pickProgram(spec, str(p, 'prog'));
    const linked = linkProgram(spec, prog.name, { mapIndex: 'used', ...coreTargetOpt(p) });
    const explicit = str(p, 'output');
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
    const output = explicit ?? `${dir}${linked.name}.bin`;
    writeOutput(output, encodeProgram(linked.insns), [path], {
      keepExisting: explicit === undefined && !flag(p, 'force'),
    });
    const specs = kbpfMapArgs(spec, linked);
    if (flag(p, 'json')) {
      const maps = linked.maps.map((m, i) => ({
        index: i,
        spec: specs[i],
        name: m.name,
        origin: m.origin,
        ...(m.data?.some((b) => b !== 0) ? { initial_data: toHex(m.data) } : {}),
      }));
      io.out(json({ output, prog: linked.name, type: linked.progType, insns: linked.insns.length, maps }));
      return 0;
    }
    io.out(specs.map((s) => `--map ${s}`).join('\n'));
    return 0;
  },
};
