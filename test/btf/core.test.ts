import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { essentialName, POISON_HELPER, parseBtf } from '../../src/btf/index.ts';
import { linkProgram, loadCollectionSpec, readElf } from '../../src/elf/index.ts';
import { BtfError } from '../../src/errors.ts';
import { OP_CALL } from '../../src/isa/opcode.ts';
import { base, fixture, hasTool, objectFiles, readObject, run } from '../elf/fixtures.ts';

const load = (path: string) => loadCollectionSpec(readObject(path), { file: base(path) });

function btfOfObject(path: string) {
  const elf = readElf(readObject(path), base(path));
  return parseBtf(elf.data(elf.section('.BTF')!), { file: base(path) });
}

test('relocating against the object’s own BTF changes nothing', () => {
  for (const f of objectFiles()) {
    const spec = load(f);
    for (const p of spec.programs) {
      if (p.unknownSection || p.relocs.some((r) => r.kind === 'unsupported')) continue;
      const before = linkProgram(spec, p.name);
      if (before.coreRelos.length === 0) continue;
      const after = linkProgram(spec, p.name, { coreTarget: spec.btf! });
      assert.deepEqual(after.insns, before.insns, `${f} ${p.name}`);
      assert.ok(after.coreResults!.every((r) => r.targetValue === r.localValue && !r.poisoned));
    }
  }
});

test('CO-RE against a differently laid-out target (core_target.bpf.c)', () => {
  const spec = load(fixture('core.bpf.o'));
  const target = btfOfObject(fixture('core_target.bpf.o'));
  const plain = linkProgram(spec, 'core_prog');
  const l = linkProgram(spec, 'core_prog', { coreTarget: target });
  const res = l.coreResults!;
  const byKind = (k: string, access: string) => res.find((r) => r.kind === k && r.accessStr === access)!;
  // Values from the C layout described in core_target.bpf.c.
  assert.equal(byKind('field_byte_offset', '0:2').targetValue, 40, 'parent');
  assert.equal(byKind('field_byte_offset', '0:0').targetValue, 48, 'pid');
  assert.equal(byKind('field_exists', '0:1').targetValue, 1, 'tgid exists (inside an anonymous struct)');
  assert.equal(byKind('field_byte_size', '0:1').targetValue, 8, 'tgid is a long');
  assert.equal(byKind('type_exists', '0').targetValue, 1);
  assert.equal(byKind('enumval_value', '1').targetValue, 7, 'SLEEPING');
  // The patched instructions carry the new values where the old ones were.
  for (const r of res) {
    const was = plain.insns[r.insnIdx]!;
    const now = l.insns[r.insnIdx]!;
    const field = was.imm === r.localValue ? 'imm' : 'off';
    assert.equal(was[field], r.localValue, `${r.kind} ${r.accessStr}: original value`);
    assert.equal(now[field], r.targetValue, `${r.kind} ${r.accessStr}: patched value`);
  }
});

test('missing fields, types and enums: existence is 0, the rest is poisoned', () => {
  const spec = load(fixture('core.bpf.o'));
  // A target that has none of core.bpf.c's types: the BTF of an unrelated object.
  const target = btfOfObject(fixture('subprogs.bpf.o'));
  const l = linkProgram(spec, 'core_prog', { coreTarget: target });
  for (const r of l.coreResults!) {
    if (r.kind.endsWith('exists')) {
      assert.equal(r.targetValue, 0, `${r.kind} ${r.accessStr}`);
      assert.equal(r.poisoned, false);
    } else {
      assert.equal(r.poisoned, true, `${r.kind} ${r.accessStr}`);
      assert.deepEqual([l.insns[r.insnIdx]!.code, l.insns[r.insnIdx]!.imm], [OP_CALL, POISON_HELPER]);
    }
  }
  assert.equal(essentialName('task_struct___v2'), 'task_struct');
  assert.equal(essentialName('plain'), 'plain');
});

const VMLINUX = '/sys/kernel/btf/vmlinux';

test('CO-RE against the running kernel matches bpftool’s view of vmlinux', {
  skip:
    (!existsSync(VMLINUX) && 'no /sys/kernel/btf/vmlinux') ||
    (!hasTool('bpftool') && 'bpftool not installed'),
}, () => {
  const vmlinux = parseBtf(new Uint8Array(readFileSync(VMLINUX)), { file: VMLINUX });
  type J = { id: number; kind: string; name: string; members?: { name: string; bits_offset: number }[] };
  const types = (JSON.parse(run('bpftool', ['-j', 'btf', 'dump', 'file', VMLINUX])!) as { types: J[] }).types;
  const task = types.find((t) => t.kind === 'STRUCT' && t.name === 'task_struct')!;
  const offsetOf = (name: string) => task.members!.find((m) => m.name === name)!.bits_offset / 8;
  const spec = load(fixture('core.bpf.o'));
  const l = linkProgram(spec, 'core_prog', { coreTarget: vmlinux });
  const r = (k: string, a: string) => l.coreResults!.find((x) => x.kind === k && x.accessStr === a)!;
  // core.bpf.c's task_struct: pid (0), tgid (1), parent (2).
  assert.equal(r('field_byte_offset', '0:2').targetValue, offsetOf('parent'));
  assert.equal(r('field_byte_offset', '0:0').targetValue, offsetOf('pid'));
  assert.equal(r('field_exists', '0:1').targetValue, 1);
  assert.equal(r('field_byte_size', '0:1').targetValue, 4);
});

test('candidates that disagree are an error, not a guess', () => {
  const spec = load(fixture('core.bpf.o'));
  const target = btfOfObject(fixture('core_ambiguous.bpf.o'));
  assert.throws(
    () => linkProgram(spec, 'core_prog', { coreTarget: target }),
    (e: unknown) => e instanceof BtfError && /ambiguous/.test(e.message) && e.where.insnIdx !== undefined,
  );
});
