// Mutates fixture objects (bit flips, truncations, header/section/symbol/BTF field overwrites)
// and checks that loading and linking either work or fail with ElfError/BtfError that says where.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { btfToJson, formatBtf } from '../../src/btf/index.ts';
import { linkProgram, loadCollectionSpec, readElf } from '../../src/elf/index.ts';
import { BtfError, ElfError } from '../../src/errors.ts';
import { fixture, readObject } from './fixtures.ts';
import { mulberry32Float } from '../../src/prng.ts';

// FUZZ_N and FUZZ_SEED let a longer run explore further; the default is what `npm test` runs.
const ITERATIONS = Number(process.env.FUZZ_N ?? 10_000);

const FILES = [
  'subprogs.bpf.o',
  'maps.bpf.o',
  'globals.bpf.o',
  'legacy.bpf.o',
  'core.bpf.o',
  'btf_kinds.bpf.o',
];

interface Target {
  name: string;
  bytes: Uint8Array;
  /** [offset, width] of fields worth overwriting: ELF header, section headers, symbols, relocations, BTF headers. */
  fields: [number, number][];
}

function targets(): Target[] {
  return FILES.map((name) => {
    const bytes = readObject(fixture(name));
    const elf = readElf(bytes, name);
    const fields: [number, number][] = [
      [16, 2],
      [18, 2],
      [20, 4],
      [24, 8],
      [32, 8],
      [40, 8],
      [48, 4],
      [52, 2],
      [54, 2],
      [56, 2],
      [58, 2],
      [60, 2],
      [62, 2],
    ];
    for (const s of elf.sections) {
      const at = elf.header.shoff + s.index * 64;
      for (const [o, w] of [
        [0, 4],
        [4, 4],
        [8, 8],
        [24, 8],
        [32, 8],
        [40, 4],
        [44, 4],
        [56, 8],
      ] as const)
        fields.push([at + o, w]);
      if (s.name === '.BTF' || s.name === '.BTF.ext') {
        for (let o = 0; o < Math.min(s.size, 512); o += 4) fields.push([s.offset + o, 4]);
      }
    }
    const symtab = elf.sections[elf.symtabIndex]!;
    for (let o = 0; o < symtab.size; o += 24)
      fields.push([symtab.offset + o, 4], [symtab.offset + o + 6, 2], [symtab.offset + o + 8, 8]);
    for (const rs of elf.relocSections) {
      if (rs.section.name.startsWith('.rel.debug')) continue;
      for (let o = 0; o < rs.section.size; o += 16)
        fields.push([rs.section.offset + o, 8], [rs.section.offset + o + 8, 8]);
    }
    return { name, bytes, fields };
  });
}

function interesting(rnd: () => number, size: number): bigint {
  const picks = [
    0n,
    1n,
    7n,
    8n,
    0x7fn,
    0xffn,
    0xffffn,
    0xffffffffn,
    0x80000000n,
    BigInt(size),
    BigInt(size - 1),
    BigInt(size + 1),
  ];
  if (rnd() < 0.5) return picks[Math.floor(rnd() * picks.length)]!;
  return (
    BigInt(Math.floor(rnd() * 2 ** 32)) | (rnd() < 0.2 ? BigInt(Math.floor(rnd() * 2 ** 32)) << 32n : 0n)
  );
}

function mutate(t: Target, rnd: () => number): { bytes: Uint8Array; how: string } {
  const b = t.bytes.slice();
  const dv = new DataView(b.buffer);
  const kind = Math.floor(rnd() * 4);
  if (kind === 0) {
    const n = 1 + Math.floor(rnd() * 8);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(rnd() * b.length);
      b[at]! ^= 1 << Math.floor(rnd() * 8);
    }
    return { bytes: b, how: `${n} bit flips` };
  }
  if (kind === 1) {
    const len = Math.floor(rnd() * b.length);
    return { bytes: b.subarray(0, len), how: `truncated to ${len}` };
  }
  const n = kind === 2 ? 1 : 1 + Math.floor(rnd() * 4);
  const hows: string[] = [];
  for (let i = 0; i < n; i++) {
    const [at, w] = t.fields[Math.floor(rnd() * t.fields.length)]!;
    const v = interesting(rnd, b.length);
    if (w === 2) dv.setUint16(at, Number(v & 0xffffn), true);
    else if (w === 4) dv.setUint32(at, Number(v & 0xffffffffn), true);
    else dv.setBigUint64(at, v, true);
    hows.push(`${w}@${at}=${v}`);
  }
  return { bytes: b, how: hows.join(',') };
}

test(`${ITERATIONS} mutated objects load or fail with a located ElfError/BtfError`, (t) => {
  const rnd = mulberry32Float(Number(process.env.FUZZ_SEED ?? 0x7eb9f));
  const all = targets();
  let ok = 0;
  let elfErrors = 0;
  let btfErrors = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const target = all[i % all.length]!;
    const { bytes, how } = mutate(target, rnd);
    const check = (e: unknown, stage: string) => {
      const what = `iteration ${i} (${target.name}, ${how}) ${stage}: ${e instanceof Error ? e.stack : String(e)}`;
      if (!(e instanceof ElfError || e instanceof BtfError)) assert.fail(what);
      assert.equal(e.where.file, target.name, what);
      assert.ok(e.where.byteOff !== undefined || e.where.section !== undefined, what);
      if (e instanceof ElfError) elfErrors++;
      else btfErrors++;
    };
    let spec: ReturnType<typeof loadCollectionSpec>;
    try {
      spec = loadCollectionSpec(bytes, { file: target.name });
    } catch (e) {
      check(e, 'load');
      continue;
    }
    ok++;
    if (spec.btf) {
      // The dumpers must cope with whatever the parser accepted.
      try {
        formatBtf(spec.btf, { file: target.name });
        JSON.stringify(btfToJson(spec.btf));
      } catch (e) {
        check(e, 'formatBtf');
      }
    }
    for (const p of spec.programs) {
      try {
        linkProgram(spec, p.name);
      } catch (e) {
        check(e, `link ${p.name}`);
      }
    }
  }
  t.diagnostic(`${ok} loaded, ${elfErrors} ElfError, ${btfErrors} BtfError`);
  assert.ok(ok > 0 && elfErrors > 0 && btfErrors > 0, 'the mutations exercise all three outcomes');
});
