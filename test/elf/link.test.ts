import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kbpfMapArgs, linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import {
  OP_CALL,
  OP_LDDW,
  PSEUDO_CALL,
  PSEUDO_FUNC,
  PSEUDO_MAP_FD,
  PSEUDO_MAP_VALUE,
} from '../../src/isa/opcode.ts';
import { base, fixture, hasTool, objectFiles, readObject, run } from './fixtures.ts';
import { prepareKbpf, runKbpfSync } from '../oracles.ts';

const load = (path: string) => loadCollectionSpec(readObject(path), { file: base(path) });

/** Function sizes in slots, from llvm-readobj's symbol table (not from our reader). */
function funcSizes(path: string): Map<string, number> {
  type S = { Symbol: { Name: { Name: string }; Size: number; Type: { Value: number } } };
  const syms = JSON.parse(run('llvm-readobj-19', ['--elf-output-style=JSON', '-s', path])!)[0].Symbols as S[];
  return new Map(
    syms.filter((s) => s.Symbol.Type.Value === 2).map((s) => [s.Symbol.Name.Name, s.Symbol.Size / 8]),
  );
}

test('linked size is the program plus every function it reaches', {
  skip: !hasTool('llvm-readobj-19') && 'llvm-readobj-19 not installed',
}, () => {
  const path = fixture('subprogs.bpf.o');
  const sizes = funcSizes(path);
  const spec = load(path);
  // Call graphs read off subprogs.bpf.c.
  const reach: Record<string, string[]> = {
    first: ['first', 'mark', 'add_total', 'loop_body'],
    second: ['second', 'leaf'],
    third: ['third', 'add_total'],
  };
  for (const [name, fns] of Object.entries(reach)) {
    const l = linkProgram(spec, name);
    const expected = fns.reduce((n, f) => n + sizes.get(f)!, 0);
    assert.equal(l.insns.length, expected, name);
    assert.deepEqual(l.functions.map((f) => f.name).sort(), [...fns].sort(), `${name}: functions`);
    assert.equal(l.functions[0]!.name, name);
  }
});

test('calls and callbacks land on function starts; maps become pseudo lddw', () => {
  for (const f of objectFiles()) {
    const spec = load(f);
    for (const p of spec.programs) {
      if (p.unknownSection || p.relocs.some((r) => r.kind === 'unsupported')) continue;
      for (const mapIndex of ['object', 'used'] as const) {
        const l = linkProgram(spec, p.name, { mapIndex });
        const starts = new Set(l.functions.map((x) => x.insnOff));
        const maps = mapIndex === 'object' ? spec.maps : l.maps;
        for (let i = 0; i < l.insns.length; i++) {
          const insn = l.insns[i]!;
          if (insn.code === OP_CALL && insn.src === PSEUDO_CALL) {
            assert.ok(starts.has(i + insn.imm + 1), `${f} ${p.name}: call at ${i} → ${i + insn.imm + 1}`);
          }
          if (insn.code === OP_LDDW) {
            if (insn.src === PSEUDO_FUNC)
              assert.ok(starts.has(i + insn.imm + 1), `${f} ${p.name}: func at ${i}`);
            if (insn.src === PSEUDO_MAP_FD || insn.src === PSEUDO_MAP_VALUE) {
              const m = maps[insn.imm];
              assert.ok(m, `${f} ${p.name}: map index ${insn.imm} at ${i}`);
              if (insn.src === PSEUDO_MAP_VALUE) {
                assert.equal(insn.imm64Hi, l.insns[i + 1]!.imm);
                assert.ok(insn.imm64Hi! >= 0 && insn.imm64Hi! < m.valueSize, `${f}: value offset in bounds`);
              }
            }
            i++;
          }
        }
        // func_info: one per function, at its start, naming it; line info sorted and in range.
        assert.deepEqual(
          l.funcInfo.map((x) => x.insnIdx),
          l.functions.map((x) => x.insnOff),
          `${f} ${p.name}: func_info`,
        );
        l.funcInfo.forEach((fi, k) => {
          assert.equal(spec.btf!.typeById(fi.typeId).name, l.functions[k]!.name);
        });
        const li = l.lineInfo.map((x) => x.insnIdx);
        assert.ok(
          li.every((x, k) => x < l.insns.length && (k === 0 || x >= li[k - 1]!)),
          `${f} ${p.name}: line info`,
        );
        assert.ok(l.maps.every((m, k) => spec.maps[l.objectMapIndex[k]!] === m));
      }
    }
  }
});

// --- the kernel as oracle ---

const SPECIAL = new Set([
  'bpf_timer',
  'bpf_spin_lock',
  'bpf_wq',
  'bpf_list_head',
  'bpf_rb_root',
  'bpf_refcount',
]);

function holdsSpecialField(spec: ReturnType<typeof load>, id: number, depth = 0): boolean {
  if (!id || !spec.btf || depth > 16) return false;
  const t = spec.btf.resolve(id);
  if (t.kind === 'array') return holdsSpecialField(spec, t.type, depth + 1);
  if (t.kind !== 'struct' && t.kind !== 'union') return false;
  return SPECIAL.has(t.name) || t.members.some((m) => holdsSpecialField(spec, m.type, depth + 1));
}

const KBPF_TYPES = new Set([
  'socket_filter',
  'xdp',
  'sched_cls',
  'syscall',
  'tracepoint',
  'kprobe',
  'raw_tracepoint',
  'perf_event',
]);

const kbpf = prepareKbpf();
const noKernel = kbpf.skip ? `skipped: ${kbpf.skip}` : false;

test('the kernel accepts linked programs with subprograms, maps and global data', { skip: noKernel }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-link-'));
  const cases: [string, string][] = [
    [fixture('subprogs.bpf.o'), 'second'],
    [fixture('subprogs.bpf.o'), 'third'],
    [fixture('legacy.bpf.o'), 'cls'],
    [fixture('globals.bpf.o'), 'use_globals'],
  ];
  // The examples' programs, where their program and map types are ones kbpf can create.
  for (const f of objectFiles().filter((x) => x.includes('/examples/'))) {
    const spec = load(f);
    for (const p of spec.programs) cases.push([f, p.name]);
  }
  let accepted = 0;
  const rejected: string[] = [];
  for (const [f, name] of cases) {
    const spec = load(f);
    const l = linkProgram(spec, name, { mapIndex: 'used' });
    const maps = kbpfMapArgs(spec, l);
    const kbpfMaps = /^(array|hash|percpu_array|lru_hash|ringbuf|prog_array):/;
    // Callbacks and global functions need BTF func_info, which kbpf does not pass.
    const needsBtf =
      l.insns.some((i) => i.code === OP_LDDW && i.src === PSEUDO_FUNC) ||
      l.functions.some((fn, k) => k > 0 && spec.subprograms.find((s) => s.name === fn.name)?.global);
    // Maps holding timers or locks need map BTF, which kbpf does not pass either.
    const special = l.maps.some((m) => holdsSpecialField(spec, m.valueTypeId));
    if (!KBPF_TYPES.has(l.progType) || !maps.every((m) => kbpfMaps.test(m)) || needsBtf || special) continue;
    const bin = join(dir, `${name}.bin`);
    writeFileSync(bin, encodeProgram(l.insns));
    const args = ['--type', l.progType, ...maps.flatMap((m) => ['--map', m]), '--log', '1', bin];
    const r = runKbpfSync(kbpf.path, args);
    if (r.verdict === 'accept') accepted++;
    else rejected.push(`${base(f)} ${name}: ${r.stdout.split('\n').slice(-6).join(' | ')} ${r.stderr}`);
  }
  t.diagnostic(`kernel accepted ${accepted} linked programs`);
  assert.deepEqual(rejected, []);
  assert.ok(accepted >= 6, `kernel accepted ${accepted} linked programs`);
});
