import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ElfError } from '../../src/errors.ts';
import { EM_BPF, readElf } from '../../src/elf/reader.ts';
import { base, fixture, hasTool, objectFiles, readObject, run } from './fixtures.ts';

const READOBJ = 'llvm-readobj-19';

interface RoSection {
  Section: {
    Index: number;
    Name: { Name: string };
    Type: { Value: number };
    Offset: number;
    Size: number;
    Link: number;
    Info: number;
  };
}
interface RoSymbol {
  Symbol: {
    Name: { Name: string };
    Value: number;
    Size: number;
    Binding: { Value: number };
    Type: { Value: number };
    Section: { Value: number };
  };
}
interface RoRelocs {
  SectionIndex: number;
  Relocs: { Relocation: { Offset: number; Type: { Value: number }; Symbol: { Value: number } } }[];
}

test('sections, symbols and relocations match llvm-readobj on every object', {
  skip: !hasTool(READOBJ) && `${READOBJ} not installed`,
}, () => {
  const files = objectFiles();
  assert.ok(files.length >= 6, 'fixtures exist');
  for (const f of files) {
    const elf = readElf(readObject(f), base(f));
    const out = JSON.parse(run(READOBJ, ['--elf-output-style=JSON', '-S', '-s', '-r', f])!)[0] as {
      Sections: RoSection[];
      Symbols: RoSymbol[];
      Relocations: RoRelocs[];
    };
    assert.equal(elf.header.machine, EM_BPF);
    assert.equal(elf.sections.length, out.Sections.length, `${f}: section count`);
    for (const { Section: s } of out.Sections) {
      const ours = elf.sections[s.Index]!;
      assert.deepEqual(
        [ours.name, ours.type, ours.offset, ours.size, ours.link, ours.info],
        [s.Name.Name, s.Type.Value, s.Offset, s.Size, s.Link, s.Info],
        `${f}: section ${s.Index}`,
      );
    }
    assert.equal(elf.symbols.length, out.Symbols.length, `${f}: symbol count`);
    out.Symbols.forEach(({ Symbol: s }, i) => {
      const ours = elf.symbols[i]!;
      // llvm names section symbols after their section; the string table has them empty.
      if (s.Type.Value !== 3) assert.equal(ours.name, s.Name.Name, `${f}: symbol ${i} name`);
      assert.deepEqual(
        [ours.value, ours.size, ours.bind, ours.type, ours.shndx],
        [s.Value, s.Size, s.Binding.Value, s.Type.Value, s.Section.Value],
        `${f}: symbol ${i} (${s.Name.Name})`,
      );
    });
    // Relocation sections are listed by their own index in llvm-readobj's JSON.
    const bySection = new Map(elf.relocSections.map((r) => [r.section.index, r]));
    assert.equal(bySection.size, out.Relocations.length, `${f}: relocation section count`);
    for (const rs of out.Relocations) {
      const ours = bySection.get(rs.SectionIndex)!;
      assert.ok(ours, `${f}: relocation section ${rs.SectionIndex}`);
      assert.deepEqual(
        ours.relocs.map((r) => [r.offset, r.type, r.sym]),
        rs.Relocs.map(({ Relocation: r }) => [r.Offset, r.Type.Value, r.Symbol.Value]),
        `${f}: relocations of section ${rs.SectionIndex}`,
      );
    }
  }
});

// --- malformed input: every case is an ElfError that names the file and a byte offset ---

const good = readObject(fixture('subprogs.bpf.o'));
const set8 = (b: Uint8Array, at: number, v: number): Uint8Array => {
  b[at] = v;
  return b;
};
const u16 = (b: Uint8Array, at: number, v: number): Uint8Array => {
  new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);
  return b;
};
const u32 = (b: Uint8Array, at: number, v: number): Uint8Array => {
  new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
  return b;
};
const u64 = (b: Uint8Array, at: number, v: bigint): Uint8Array => {
  new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, true);
  return b;
};
const shoff = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(40, true));
const elfGood = readElf(good, 'good.o');
const shdr = (name: string) => shoff + elfGood.section(name)!.index * 64;

function expectElfError(
  mutate: (b: Uint8Array) => Uint8Array | undefined,
  pattern: RegExp,
  what: string,
): ElfError {
  const b = good.slice();
  const input = mutate(b) ?? b;
  try {
    readElf(input, 'bad.o');
  } catch (e) {
    assert.ok(e instanceof ElfError, `${what}: got ${String(e)}`);
    assert.equal(e.where.file, 'bad.o', what);
    assert.equal(typeof e.where.byteOff, 'number', `${what}: byte offset`);
    assert.match(e.message, pattern, what);
    return e;
  }
  assert.fail(`${what}: no error`);
}

test('header errors', () => {
  expectElfError((b) => b.subarray(0, 10), /too short/, 'truncated header');
  expectElfError((b) => set8(b, 0, 0x7e), /magic/, 'bad magic');
  expectElfError((b) => set8(b, 4, 1), /ELFCLASS64/, '32-bit class');
  expectElfError((b) => set8(b, 5, 2), /little-endian/, 'big-endian');
  expectElfError((b) => u16(b, 18, 62), /EM_BPF/, 'x86-64 machine');
  expectElfError((b) => u64(b, 40, 0xffff_ffff_ffffn), /e_shoff|outside/, 'shoff past the end');
  expectElfError((b) => u64(b, 40, 0xffff_ffff_ffff_ffffn), /absurd/, 'shoff absurd');
  expectElfError((b) => u16(b, 60, 0xffff), /do not fit/, 'absurd section count');
  expectElfError((b) => u16(b, 62, 500), /e_shstrndx/, 'shstrndx out of range');
  expectElfError((b) => b.subarray(0, b.length - 100), /do not fit|outside/, 'truncated file');
});

test('section errors name the section and offset', () => {
  const e = expectElfError((b) => u64(b, shdr('.text') + 32, 1n << 40n), /outside/, 'text size too large');
  assert.equal(e.where.byteOff, shdr('.text') + 24);
  expectElfError((b) => u32(b, shdr('.text'), 0xfffffff), /string offset/, 'bad section name offset');
  expectElfError(
    (b) => u64(b, shdr('socket') + 24, BigInt(elfGood.section('.text')!.offset)),
    /overlaps/,
    'overlapping sections',
  );
  expectElfError((b) => u64(b, shdr('.symtab') + 56, 16n), /entry size/, 'symtab entsize');
  expectElfError((b) => u32(b, shdr('.symtab') + 40, 999), /sh_link/, 'symtab link');
});

test('symbol and relocation errors', () => {
  const sym = elfGood.section('.symtab')!;
  const strtab = elfGood.sections[sym.link]!;
  const e = expectElfError(
    (b) => u32(b, sym.offset + 24 * 4, strtab.size + 5),
    /string offset/,
    'symbol name',
  );
  assert.equal(e.where.section, strtab.name);
  expectElfError((b) => u16(b, sym.offset + 24 * 4 + 6, 900), /out of range/, 'symbol section index');
  const rel = elfGood.relocSections.find((r) => r.section.name === '.rel.text')!.section;
  const r = expectElfError((b) => u32(b, rel.offset + 12, 5000), /symbol 5000/, 'reloc symbol index');
  assert.equal(r.where.section, '.rel.text');
  assert.equal(r.where.byteOff, rel.offset + 12);
  expectElfError((b) => u64(b, rel.offset, 1n << 30n), /past the end/, 'reloc offset');
  expectElfError((b) => u32(b, shoff + rel.index * 64 + 44, 999), /target section/, 'reloc target');
});

test('a string without a terminating NUL is an error, not a scan to the end', () => {
  const b = good.slice();
  const sh = elfGood.sections[elfGood.header.shstrndx]!;
  b.fill(0x41, sh.offset, sh.offset + sh.size);
  assert.throws(
    () => readElf(b, 'bad.o'),
    (e: unknown) => e instanceof ElfError && /NUL|string/.test(e.message),
  );
});
