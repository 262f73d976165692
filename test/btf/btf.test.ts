import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type Btf, btfToJson, formatBtf, parseBtf, parseBtfExt } from '../../src/btf/index.ts';
import { readElf } from '../../src/elf/reader.ts';
import { BtfError } from '../../src/errors.ts';
import { base, fixture, hasTool, objectFiles, readObject, run } from '../elf/fixtures.ts';

function btfOf(path: string): { btf: Btf; bytes: Uint8Array; off: number } {
  const elf = readElf(readObject(path), base(path));
  const sec = elf.section('.BTF')!;
  const bytes = elf.data(sec);
  return { btf: parseBtf(bytes, { file: base(path), baseOff: sec.offset }), bytes, off: sec.offset };
}

const noBpftool = !hasTool('bpftool') && 'bpftool not installed';

test('JSON form equals `bpftool btf dump -j` on every object', { skip: noBpftool }, () => {
  for (const f of objectFiles()) {
    const theirs = JSON.parse(run('bpftool', ['-j', 'btf', 'dump', 'file', f])!) as { types: unknown[] };
    // Our enum64 values past 2^53 are decimal strings; JSON.parse rounded bpftool's to doubles.
    const ours = JSON.parse(JSON.stringify(btfToJson(btfOf(f).btf)), (_k, v: unknown) =>
      typeof v === 'string' && /^-?\d{16,}$/.test(v) ? Number(v) : v,
    );
    assert.equal(ours.types.length, theirs.types.length, `${f}: type count`);
    assert.deepEqual(ours.types, theirs.types, f);
  }
});

/** Top-level C declarations, whitespace- and wrapper-insensitive. */
function cDecls(text: string): string[] {
  const body = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  const decls: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    cur += ch;
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === ';' && depth === 0) {
      decls.push(
        cur
          .replace(/\s+/g, ' ')
          .replace(/\s*\*\s*/g, '*')
          .trim(),
      );
      cur = '';
    }
  }
  return decls;
}

test('C dump has the same declarations as `bpftool btf dump format c`', { skip: noBpftool }, () => {
  for (const f of objectFiles()) {
    const theirs = cDecls(run('bpftool', ['btf', 'dump', 'file', f, 'format', 'c'])!);
    const ours = cDecls(formatBtf(btfOf(f).btf));
    assert.deepEqual([...ours].sort(), [...theirs].sort(), f);
  }
});

test('C dump orders definitions before by-value uses', () => {
  const text = formatBtf(btfOf(fixture('btf_kinds.bpf.o')).btf);
  const at = (s: string) => {
    const i = text.indexOf(s);
    assert.ok(i >= 0, s);
    return i;
  };
  assert.ok(at('struct flags {') < at('struct everything {'));
  assert.ok(at('union num {') < at('struct everything {'));
  assert.ok(at('typedef unsigned long long u64_t;') < at('struct flags {'));
  assert.match(text, /int \(\*callback\)\(int, struct everything \*\);/);
  assert.match(text, /int grid\[3\]\[4\];/);
  assert.match(text, /struct opaque;/);
});

test('resolution helpers agree with bpftool and with the C layout', { skip: noBpftool }, () => {
  const path = fixture('btf_kinds.bpf.o');
  const { btf } = btfOf(path);
  type J = {
    id: number;
    name: string;
    size?: number;
    members?: { name: string; bits_offset: number; bitfield_size?: number }[];
  };
  const theirs = (JSON.parse(run('bpftool', ['-j', 'btf', 'dump', 'file', path])!) as { types: J[] }).types;
  const tj = (name: string) => theirs.find((t) => t.name === name && t.members)!;
  const everything = btf.typeByName('everything', 'struct');
  assert.equal(btf.sizeof(everything.id), tj('everything').size);
  // Offsets add up through nested members and bitfields.
  const flOff = tj('everything').members!.find((m) => m.name === 'fl')!.bits_offset;
  const cInFlags = tj('flags').members!.find((m) => m.name === 'c')!;
  const loc = btf.memberOffset(everything.id, 'fl.c');
  assert.equal(loc.bitOffset, flOff + cInFlags.bits_offset);
  assert.equal(loc.bitfieldSize, 7);
  // Members of an anonymous union are found by name, as in C.
  const anonUnion = tj('everything').members!.find((m) => m.name === '(anon)')!;
  assert.equal(btf.memberOffset(everything.id, 'l').bitOffset, anonUnion.bits_offset);
  // int grid[3][4] is 48 bytes; typedef u64_t resolves to an 8-byte int.
  const grid = btf.memberOffset(everything.id, 'grid');
  assert.equal(btf.sizeof(grid.type), 3 * 4 * 4);
  const u64t = btf.typeByName('u64_t', 'typedef');
  const r = btf.resolve(u64t.id);
  assert.equal(r.kind, 'int');
  assert.equal(btf.sizeof(u64t.id), 8);
  assert.equal(btf.alignof(everything.id), 8);
  assert.throws(() => btf.memberOffset(everything.id, 'nope'), BtfError);
  // const volatile char *restrict: skipModifiers strips restrict and stops at the pointer.
  const name = btf.memberOffset(everything.id, 'name');
  assert.equal(btf.skipModifiers(name.type).kind, 'ptr');
  const e = btf.typeByName('big', 'enum64');
  assert.ok(e.kind === 'enum64' && e.values[0]!.value === 0x1122334455667788n);
  const c = btf.typeByName('color', 'enum');
  assert.ok(c.kind === 'enum' && c.values.find((v) => v.name === 'BLUE')!.value === -1n);
});

test('line info matches the DWARF line table and the source text', {
  skip: !hasTool('llvm-objdump-19') && 'llvm-objdump-19 not installed',
}, () => {
  for (const name of ['subprogs.bpf.o', 'globals.bpf.o', 'btf_kinds.bpf.o']) {
    const path = fixture(name);
    const elf = readElf(readObject(path), name);
    const { btf } = btfOf(path);
    const sec = elf.section('.BTF.ext')!;
    const ext = parseBtfExt(elf.data(sec), btf, { file: name, baseOff: sec.offset });
    // Per section: insn index → DWARF line, from llvm-objdump -l.
    const dwarf = new Map<string, Map<number, number>>();
    let cur: Map<number, number> | undefined;
    let line = 0;
    for (const l of run('llvm-objdump-19', ['-d', '-l', '--no-show-raw-insn', path])!.split('\n')) {
      const s = /^Disassembly of section (.*):$/.exec(l);
      if (s) {
        cur = new Map();
        dwarf.set(s[1]!, cur);
      }
      const m = /^; .*:(\d+)$/.exec(l);
      if (m) line = Number(m[1]);
      const i = /^\s+(\d+):\t/.exec(l);
      if (i && cur) cur.set(Number(i[1]), line);
    }
    const src = readFileSync(fixture(name.replace(/\.o$/, '.c')), 'utf8').split('\n');
    let checked = 0;
    for (const block of ext.lineInfo) {
      for (const r of block.records) {
        assert.equal(
          r.line,
          dwarf.get(block.section)?.get(r.insnIdx),
          `${name} ${block.section} insn ${r.insnIdx}`,
        );
        assert.equal(r.lineText, src[r.line - 1], `${name}:${r.line} text`);
        assert.match(r.fileName, /\.bpf\.c$/);
        checked++;
      }
    }
    assert.ok(checked > 5, `${name}: ${checked} line records`);
    assert.ok(ext.funcInfo.length > 0);
  }
});

test('CO-RE relocation records are kept with their kinds', () => {
  const path = fixture('core.bpf.o');
  const elf = readElf(readObject(path), 'core.bpf.o');
  const { btf } = btfOf(path);
  const sec = elf.section('.BTF.ext')!;
  const ext = parseBtfExt(elf.data(sec), btf, { file: 'core.bpf.o' });
  const relos = ext.coreRelos.flatMap((b) => b.records);
  const kinds = new Set(relos.map((r) => r.kind));
  // core.bpf.c uses BPF_CORE_READ (field offsets), field_exists, field_size, type_exists, enum value.
  for (const k of ['field_byte_offset', 'field_exists', 'field_byte_size', 'type_exists', 'enumval_value']) {
    assert.ok(kinds.has(k as never), k);
  }
  const task = btf.typeByName('task_struct', 'struct');
  const parent = relos.find(
    (r) => r.kind === 'field_byte_offset' && r.typeId === task.id && r.accessStr === '0:2',
  );
  assert.ok(parent, 'access string 0:2 names task_struct.parent');
});

// --- malformed BTF ---

function expectBtfError(mutate: (b: Uint8Array) => Uint8Array, pattern: RegExp, what: string): void {
  const { bytes } = btfOf(fixture('btf_kinds.bpf.o'));
  const b = mutate(bytes.slice());
  try {
    parseBtf(b, { file: 'x.o', baseOff: 1000 });
  } catch (e) {
    assert.ok(e instanceof BtfError, `${what}: ${String(e)}`);
    assert.equal(e.where.file, 'x.o');
    assert.ok(typeof e.where.byteOff === 'number' && e.where.byteOff >= 1000, `${what}: byteOff`);
    assert.match(e.message, pattern, what);
    return;
  }
  assert.fail(`${what}: no error`);
}

test('malformed BTF gives BtfError with a byte offset', () => {
  const set = (b: Uint8Array, how: 'setUint16' | 'setUint32', at: number, v: number): Uint8Array => {
    new DataView(b.buffer, b.byteOffset, b.byteLength)[how](at, v, true);
    return b;
  };
  const hdr = 24;
  expectBtfError((b) => b.subarray(0, 10), /too short/, 'truncated header');
  expectBtfError((b) => set(b, 'setUint16', 0, 0x9feb), /magic/, 'magic');
  expectBtfError(
    (b) => {
      b[2] = 2;
      return b;
    },
    /version/,
    'version',
  );
  expectBtfError((b) => set(b, 'setUint32', 12, 0xffffff), /outside/, 'type_len');
  expectBtfError((b) => set(b, 'setUint32', 20, 0xffffff), /outside/, 'str_len');
  expectBtfError((b) => b.subarray(0, b.length - 200), /outside/, 'truncated body');
  // First type: PTR → its kind becomes 31 (unknown).
  expectBtfError((b) => set(b, 'setUint32', hdr + 4, 31 << 24), /unknown BTF kind/, 'kind');
  // First type's name offset past the strings.
  expectBtfError((b) => set(b, 'setUint32', hdr, 0xfffffff), /string/, 'name offset');
  // First type (a PTR) pointing at a type that does not exist.
  expectBtfError((b) => set(b, 'setUint32', hdr + 8, 99999), /only \d+ exist/, 'type reference');
  // A struct whose vlen runs past the type section.
  expectBtfError(
    (b) => set(b, 'setUint32', hdr + 12 + 4, (4 << 24) | 0xffff),
    /runs past|past the end/,
    'vlen',
  );
});

test('cyclic modifiers are reported, not followed forever', () => {
  const { bytes } = btfOf(fixture('btf_kinds.bpf.o'));
  const { btf } = btfOf(fixture('btf_kinds.bpf.o'));
  const ptr = btf.types[0]!;
  assert.equal(ptr.kind, 'ptr');
  // Make type 1 a CONST pointing at itself.
  const b = bytes.slice();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  dv.setUint32(24 + 4, 10 << 24, true);
  dv.setUint32(24 + 8, 1, true);
  const bad = parseBtf(b);
  assert.throws(
    () => bad.resolve(1),
    (e: unknown) => e instanceof BtfError && /cyclic/.test(e.message),
  );
  assert.throws(() => bad.sizeof(1), BtfError);
});
