// Verifier test cases in a PREVAIL-like text format, one rule per file:
//
//   -- type xdp                  program type (default socket_filter)
//   -- maps array:4:8:1 hash:4:8:16    maps, as kbpf's --map TYPE:KEY:VALUE:ENTRIES; lddw imm=i is map i
//                                (TYPE:4:VALUE:ENTRIES:timer: the value starts with a struct bpf_timer)
//   -- btf                       load with BTF func_info (test/verifier/case-btf.ts), as callbacks need
//   -- expect accept | reject
//   -- message <substring>       a line of the error (repeatable; all must occur in the log)
//   -- asm
//   <LLVM-syntax assembly>
// or, for programs the assembler refuses (it validates), instead of `-- asm`:
//   -- raw
//   <code dst src off imm> per 8-byte slot, numbers in C syntax (0xb7 10 0 0 0)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Insn } from '../../src/isa/index.ts';
import { assembleAuto } from '../../src/isa/index.ts';
import type { MapInfo, VerifyProgram } from '../../src/verifier/index.ts';
import { caseBtf } from './case-btf.ts';

export interface VerifierCase {
  name: string;
  file: string;
  progType: string;
  maps: string[];
  expect: 'accept' | 'reject';
  messages: string[];
  insns: Insn[];
  btf: boolean;
}

export const CASES_DIR = new URL('./cases/', import.meta.url).pathname;

export function parseCase(text: string, file: string): VerifierCase {
  const c: VerifierCase = {
    name: file.replace(/^.*\//, '').replace(/\.case$/, ''),
    file,
    progType: 'socket_filter',
    maps: [],
    expect: 'accept',
    messages: [],
    insns: [],
    btf: false,
  };
  const lines = text.split('\n');
  let i = 0;
  let sawExpect = false;
  for (; i < lines.length; i++) {
    const m = /^--\s*(\w+)\s*(.*)$/.exec(lines[i]!);
    if (!m) {
      if (lines[i]!.trim() === '' || lines[i]!.startsWith('#')) continue;
      throw new Error(`${file}:${i + 1}: expected a '-- key value' line`);
    }
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'asm' || key === 'raw') break;
    if (key === 'type') c.progType = value.trim();
    else if (key === 'maps') c.maps = value.trim().split(/\s+/).filter(Boolean);
    else if (key === 'expect') {
      if (value.trim() !== 'accept' && value.trim() !== 'reject')
        throw new Error(`${file}: bad expect ${value}`);
      c.expect = value.trim() as 'accept' | 'reject';
      sawExpect = true;
    } else if (key === 'message') c.messages.push(value.trim());
    else if (key === 'btf') c.btf = true;
    else if (key !== 'comment') throw new Error(`${file}:${i + 1}: unknown key ${key}`);
  }
  if (!sawExpect) throw new Error(`${file}: missing '-- expect'`);
  const body = lines.slice(i + 1);
  c.insns = /^--\s*raw/.test(lines[i] ?? '') ? parseRaw(body, file) : assembleAuto(body.join('\n'), file);
  return c;
}

function parseRaw(lines: string[], file: string): Insn[] {
  const insns: Insn[] = [];
  for (const line of lines) {
    const t = line.replace(/#.*$/, '').trim();
    if (!t) continue;
    const f = t.split(/\s+/).map(Number);
    if (f.length !== 5 || f.some((x) => !Number.isInteger(x)))
      throw new Error(`${file}: bad raw slot '${line}'`);
    insns.push({ code: f[0]!, dst: f[1]!, src: f[2]!, off: f[3]!, imm: f[4]! | 0 });
  }
  // lddw's first slot mirrors the second slot's imm
  for (let k = 0; k + 1 < insns.length; k++) {
    if (insns[k]!.code === 0x18) {
      insns[k]!.imm64Hi = insns[k + 1]!.imm;
      k++;
    }
  }
  return insns;
}

export function loadCases(): VerifierCase[] {
  return readdirSync(CASES_DIR)
    .filter((f) => f.endsWith('.case'))
    .sort()
    .map((f) => parseCase(readFileSync(join(CASES_DIR, f), 'utf8'), join(CASES_DIR, f)));
}

/** kbpf's map spec as the verifier's MapInfo. */
export function mapInfo(spec: string): MapInfo {
  const [type, k, v, n, extra] = spec.split(':');
  const m: MapInfo = { type: type!, keySize: Number(k), valueSize: Number(v), maxEntries: Number(n) };
  if (extra === 'timer') m.timerOff = 0;
  return m;
}

/** Map index -> value size of the case's maps marked `:timer`. */
export function timerMaps(c: VerifierCase): Map<number, number> {
  const out = new Map<number, number>();
  c.maps.forEach((spec, i) => {
    const f = spec.split(':');
    if (f[4] === 'timer') out.set(i, Number(f[2]));
  });
  return out;
}

/** The case as verify()'s input, with func_info when it asks for BTF. */
export function caseProgram(c: VerifierCase): VerifyProgram {
  const p: VerifyProgram = { insns: c.insns, progType: c.progType, maps: c.maps.map(mapInfo) };
  if (c.btf) p.funcInfo = caseBtf(c.insns, timerMaps(c)).funcInfo;
  return p;
}
