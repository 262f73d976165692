// tsbpf obj show / obj link: what an ELF object holds, and one program linked for loading.
import type { Btf } from '../../btf/btf.ts';
import { TsbpfError, UsageError } from '../../errors.ts';
import { exportProgramBtf } from '../../elf/btf-export.ts';
import { kbpfMapArgs, type LinkedProgram, linkProgram } from '../../elf/link.ts';
import { readElf } from '../../elf/reader.ts';
import { attachBtfTarget } from '../../elf/sections.ts';
import type { CollectionSpec, MapSpec } from '../../elf/spec.ts';
import { encodeProgram } from '../../isa/encode.ts';
import { flag, onePositional, type Parsed, parseCommandArgs, str } from '../args.ts';
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

/** --btf-out, --func-info-out, --line-info-out: what the kernel needs besides the bytecode. */
function writeProgramBtf(
  p: Parsed,
  path: string,
  bytes: Uint8Array,
  spec: CollectionSpec,
  linked: LinkedProgram,
  output: string,
): {
  btf_out?: string;
  func_info?: { output: string; records: number };
  line_info?: { output: string; records: number };
} {
  const btfOut = str(p, 'btf-out');
  const funcOut = str(p, 'func-info-out');
  const lineOut = str(p, 'line-info-out');
  if (btfOut === undefined && funcOut === undefined && lineOut === undefined) return {};
  if (!spec.btf) throw new UsageError(`${path} has no .BTF section; --btf-out and the info files need one`);
  const outs = [output, btfOut, funcOut, lineOut].filter((x): x is string => x !== undefined);
  if (new Set(outs).size !== outs.length) throw new UsageError('the output files must differ');
  const x = exportProgramBtf(bytes, path, spec.btf, linked);
  const res: ReturnType<typeof writeProgramBtf> = {};
  if (btfOut !== undefined) {
    writeOutput(btfOut, x.btf, [path]);
    res.btf_out = btfOut;
  }
  if (funcOut !== undefined) {
    writeOutput(funcOut, x.funcInfo, [path]);
    res.func_info = { output: funcOut, records: linked.funcInfo.length };
  }
  if (lineOut !== undefined) {
    writeOutput(lineOut, x.lineInfo, [path]);
    res.line_info = { output: lineOut, records: linked.lineInfo.length };
  }
  return res;
}

/** kbpf's --map TYPE:KEY:VALUE:MAX for a map the program does not reference itself. */
const kbpfSpec = (m: MapSpec): string => `${m.typeName}:${m.keySize}:${m.valueSize}:${m.maxEntries}`;

/**
 * Map-in-map: the inner map template (BPF_MAP_CREATE's inner_map_fd is made from it) and the
 * `values = {...}` slots libbpf fills after creating the map, each with the map or program it
 * holds; a map slot carries that map's spec, as the program need not reference it.
 */
function mapContents(spec: CollectionSpec, m: MapSpec) {
  const inner = m.innerMap && { spec: kbpfSpec(m.innerMap), flags: m.innerMap.flags };
  const values = m.initialValues?.map((v) => {
    const target = v.kind === 'map' ? spec.maps.find((x) => x.name === v.name) : undefined;
    return {
      key: v.index,
      kind: v.kind,
      name: v.name,
      ...(target ? { spec: kbpfSpec(target), flags: target.flags } : {}),
    };
  });
  return { ...(inner ? { inner_map: inner } : {}), ...(values?.length ? { values } : {}) };
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
          ...(spec.unsupported ? { unsupported: spec.unsupported } : {}),
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
    if (spec.unsupported) {
      out.push('', `not supported by tsbpf (${spec.unsupported.length}):`);
      for (const u of spec.unsupported) out.push(`  ${u.reason}`);
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
  --btf-out F   also write the BTF to load with it (BPF_BTF_LOAD): the object's .BTF
                with libbpf's load-time fixups (DATASEC sizes and offsets, extern linkage)
  --func-info-out F  struct bpf_func_info records (8 bytes: insn_off, type_id) of the
                linked image, for BPF_PROG_LOAD's func_info (needs .BTF.ext)
  --line-info-out F  struct bpf_line_info records (16 bytes) of the linked image
${btfUsage(14)}
  --json        {"output", "insns", "type", "attach_type", "maps": [{"index", "spec",
                "name", ...}]}; BTF-attached programs (tp_btf/, fentry/, iter/...) add
                "attach_btf": {"name", "kind"}, the vmlinux type whose id the kernel
                wants as attach_btf_id; maps of maps add "inner_map" (the template for
                inner_map_fd) and "values" (the slots the object's initialiser fills)`,
  run(argv, io) {
    const p = parseCommandArgs('obj link', argv, {
      prog: { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      'btf-out': { type: 'string' },
      'func-info-out': { type: 'string' },
      'line-info-out': { type: 'string' },
      ...BTF_OPTION,
    });
    const path = onePositional(p, 'obj link', 'FILE.o');
    const { spec, bytes } = requireObject(path);
    const prog = pickProgram(spec, str(p, 'prog'));
    const linked = linkProgram(spec, prog.name, { mapIndex: 'used', ...coreTargetOpt(p) });
    const explicit = str(p, 'output');
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
    const output = explicit ?? `${dir}${linked.name}.bin`;
    writeOutput(output, encodeProgram(linked.insns), [path], {
      keepExisting: explicit === undefined && !flag(p, 'force'),
    });
    const extra = writeProgramBtf(p, path, bytes, spec, linked, output);
    const specs = kbpfMapArgs(spec, linked);
    if (flag(p, 'json')) {
      const maps = linked.maps.map((m, i) => ({
        index: i,
        spec: specs[i],
        name: m.name,
        origin: m.origin,
        flags: m.flags,
        key_type_id: m.keyTypeId,
        value_type_id: m.valueTypeId,
        ...(m.frozen ? { frozen: true } : {}),
        ...(m.data?.some((b) => b !== 0) ? { initial_data: toHex(m.data) } : {}),
        ...mapContents(spec, m),
      }));
      const attachBtf = attachBtfTarget(linked.section);
      io.out(
        json({
          output,
          prog: linked.name,
          type: linked.progType,
          ...(linked.attachType ? { attach_type: linked.attachType } : {}),
          ...(attachBtf ? { attach_btf: attachBtf } : {}),
          license: linked.license,
          insns: linked.insns.length,
          maps,
          ...extra,
        }),
      );
      return 0;
    }
    io.out(specs.map((s) => `--map ${s}`).join('\n'));
    return 0;
  },
};
