// tsbpf disasm: raw bytecode, assembly or an object's program sections → instruction text.
import { UsageError } from '../../errors.ts';
import { linkProgram } from '../../elf/link.ts';
import type { CollectionSpec, ProgramSpec } from '../../elf/spec.ts';
import { disassemble } from '../../isa/disasm.ts';
import { formatKernelInsn } from '../../isa/disasm-kernel.ts';
import type { Insn } from '../../isa/insn.ts';
import * as op from '../../isa/opcode.ts';
import { flag, onePositional, parseCommandArgs, str } from '../args.ts';
import type { Command } from '../command.ts';
import { json } from '../io.ts';
import { loadInput, pickProgram, programFromBytes } from '../program-input.ts';

/** One listing: a program or function, with labels and notes keyed by slot. */
interface Listing {
  name: string;
  section?: string;
  insns: Insn[];
  /** Extra labels (function symbols) shown before a slot. */
  labels: Map<number, string[]>;
  /** A comment after a slot's text: the relocation that fills it in. */
  notes: Map<number, string>;
}

function listingOf(p: ProgramSpec): Listing {
  const notes = new Map<number, string>();
  for (const r of p.relocs) {
    const note =
      r.kind === 'map'
        ? `map ${r.map}`
        : r.kind === 'data'
          ? `${r.symbol} (${r.map}+${r.offset})`
          : r.kind === 'unsupported'
            ? `${r.symbol}: ${r.reason}`
            : `${r.kind} ${r.target.name ?? `${r.target.section}+${r.target.insnIdx}`}`;
    notes.set(r.insnIdx, note);
  }
  return { name: p.name, section: p.section, insns: p.insns, labels: new Map([[0, [p.name]]]), notes };
}

function linkedListing(spec: CollectionSpec, p: ProgramSpec): Listing {
  const l = linkProgram(spec, p.name, { mapIndex: 'used' });
  const labels = new Map<number, string[]>();
  for (const f of l.functions) labels.set(f.insnOff, [...(labels.get(f.insnOff) ?? []), f.name]);
  const notes = new Map<number, string>();
  l.insns.forEach((i, idx) => {
    if (i.code !== op.OP_LDDW) return;
    if (i.src === op.PSEUDO_MAP_FD || i.src === op.PSEUDO_MAP_VALUE) {
      const m = l.maps[i.imm];
      if (m) notes.set(idx, `--map ${i.imm}: ${m.name}`);
    }
  });
  return { name: l.name, section: l.section, insns: l.insns, labels, notes };
}

/** Slot-numbered lines; kernel style follows the verifier log, otherwise LLVM syntax with labels. */
function render(l: Listing, kernelStyle: boolean): { idx?: number; text: string }[] {
  const out: { idx?: number; text: string }[] = [];
  const withNote = (idx: number, text: string): string => {
    const n = l.notes.get(idx);
    return n ? `${text} ; ${n}` : text;
  };
  if (kernelStyle) {
    for (let idx = 0; idx < l.insns.length; idx++) {
      for (const name of l.labels.get(idx) ?? []) out.push({ text: `${name}:` });
      out.push({ idx, text: withNote(idx, formatKernelInsn(l.insns, idx)) });
      if (l.insns[idx]!.code === op.OP_LDDW) idx++;
    }
    return out;
  }
  const text = disassemble(l.insns, { labels: true, helperNames: true, slotNumbers: true });
  for (const line of text.split('\n')) {
    const m = /^(\d+): (.*)$/.exec(line);
    if (!m) {
      out.push({ text: line });
      continue;
    }
    const idx = Number(m[1]);
    for (const name of l.labels.get(idx) ?? []) out.push({ text: `${name}:` });
    out.push({ idx, text: withNote(idx, m[2]!) });
  }
  return out;
}

export const disasmCommand: Command = {
  name: 'disasm',
  summary: 'Disassemble raw bytecode, assembly, or the programs of an ELF object',
  usage: `disasm FILE.bin|FILE.o|FILE.s [--prog NAME] [--linked] [--kernel-style] [--json]

  FILE '-' reads standard input. For an object, every program section and .text function is listed (or only
  --prog NAME), under its symbol name, with a comment on each instruction a
  relocation fills in.

  --prog NAME      one program of an object
  --linked         the program as loaded: subprograms appended, maps as pseudo lddw
                   (imm = index into the program's maps, as 'tsbpf obj link' prints)
  --kernel-style   the verifier log's text: "0: (b7) r0 = 1"
  --json           {"programs": [{"name", "section", "insns": [{"idx", "text"}]}]}`,
  run(argv, io) {
    const p = parseCommandArgs('disasm', argv, {
      prog: { type: 'string' },
      linked: { type: 'boolean' },
      'kernel-style': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const path = onePositional(p, 'disasm', 'FILE');
    const kernel = flag(p, 'kernel-style');
    const progName = str(p, 'prog');
    const input = loadInput(path);
    let listings: Listing[];
    if (input.spec) {
      const spec = input.spec;
      if (progName !== undefined || flag(p, 'linked')) {
        const prog = pickProgram(spec, progName);
        listings = [flag(p, 'linked') ? linkedListing(spec, prog) : listingOf(prog)];
      } else {
        listings = [...spec.programs, ...spec.subprograms].map(listingOf);
      }
    } else {
      if (progName !== undefined || flag(p, 'linked'))
        throw new UsageError(`${path} is not an ELF object; --prog and --linked apply to objects`);
      const insns = programFromBytes(path, input.bytes, input.kind);
      listings = [{ name: path, insns, labels: new Map(), notes: new Map() }];
    }
    const rendered = listings.map((l) => ({ l, lines: render(l, kernel) }));
    if (flag(p, 'json')) {
      const programs = rendered.map(({ l, lines }) => ({
        name: l.name,
        ...(l.section !== undefined ? { section: l.section } : {}),
        insns: lines.filter((x) => x.idx !== undefined).map((x) => ({ idx: x.idx, text: x.text })),
        labels: lines.filter((x) => x.idx === undefined).map((x) => x.text.slice(0, -1)),
      }));
      io.out(json({ file: path, programs }));
      return 0;
    }
    const blocks = rendered.map(({ l, lines }) => {
      const head =
        l.section !== undefined ? [`; SEC("${l.section}") ${l.name}: ${l.insns.length} slots`] : [];
      return [...head, ...lines.map((x) => (x.idx === undefined ? x.text : `${x.idx}: ${x.text}`))].join(
        '\n',
      );
    });
    io.out(blocks.join('\n\n'));
    return 0;
  },
};
