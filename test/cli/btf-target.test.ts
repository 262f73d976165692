// `--btf FILE`: CO-RE against a target BTF given on the command line (the running kernel's
// /sys/kernel/btf/vmlinux, or an ELF object's .BTF), and bad target files as exit-2 errors.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeProgram } from '../../src/isa/decode.ts';
import { cli, root, scratch } from './helpers.ts';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const CORE = `${root}examples/core/core.bpf.o`;
const noVmlinux = !existsSync(VMLINUX) && 'no /sys/kernel/btf/vmlinux';

test('run --btf vmlinux: existence and size checks answer for the running kernel', {
  skip: noVmlinux,
}, async () => {
  const r = await cli('run', CORE, '--prog', 'core_rawtp', '--btf', VMLINUX, '--dump-maps', '--json');
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as { maps: { name: string; entries: { value: string }[] }[] };
  const bss = out.maps.find((m) => m.name === 'core.bss')!.entries[0]!.value;
  const u32 = (i: number) => Buffer.from(bss, 'hex').readUInt32LE(i * 4);
  // struct core_results: has_pid, has_fantasy_field, has_mm_struct, has_fantasy_type, pid_size,
  // comm_size. Every kernel has task_struct.pid (pid_t, 4 bytes), mm_struct and comm[16]
  // (TASK_COMM_LEN); the "fantasy" names exist in no kernel.
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(u32), [1, 0, 1, 0, 4, 16]);
});

test('obj show --btf: the unresolvable read is the one poisoned relocation', {
  skip: noVmlinux,
}, async () => {
  const r = await cli('obj', 'show', CORE, '--btf', VMLINUX, '--json');
  assert.equal(r.code, 0, r.err);
  const core = (JSON.parse(r.out) as { core: { prog: string; poisoned: number; relocations: number }[] })
    .core;
  // record_existence() (inlined into core_rawtp and core_kprobe) reads no_such_field_in_any_kernel
  // once; core_exec reads only fields every kernel has.
  assert.deepEqual(
    core.map((c) => [c.prog, c.poisoned]),
    [
      ['core_exec', 0],
      ['core_rawtp', 1],
      ['core_kprobe', 1],
    ],
  );
  assert.ok(core.every((c) => c.relocations > 0));
  const text = await cli('obj', 'show', CORE, '--btf', VMLINUX);
  assert.match(text.out, /CO-RE against .*vmlinux:\n {2}core_exec: \d+ relocations, 0 poisoned/);
});

test('obj link --btf: the output carries the kernel’s task_struct offsets', { skip: noVmlinux }, async () => {
  const s = scratch('tsbpf-btf-');
  try {
    const plain = await cli('obj', 'link', CORE, '--prog', 'core_rawtp', '-o', s.path('plain.bin'));
    const kern = await cli(
      'obj',
      'link',
      CORE,
      '--prog',
      'core_rawtp',
      '--btf',
      VMLINUX,
      '-o',
      s.path('k.bin'),
    );
    assert.equal(plain.code, 0, plain.err);
    assert.equal(kern.code, 0, kern.err);
    // bpftool's own reading of vmlinux gives the offset of task_struct.real_parent.
    const { execFileSync } = await import('node:child_process');
    let offset: number | undefined;
    try {
      const dump = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', VMLINUX]).toString()) as {
        types: { kind: string; name: string; members?: { name: string; bits_offset: number }[] }[];
      };
      const task = dump.types.find((t) => t.kind === 'STRUCT' && t.name === 'task_struct')!;
      offset = task.members!.find((m) => m.name === 'real_parent')!.bits_offset / 8;
    } catch {
      offset = undefined; // no bpftool: only check that the bytes changed
    }
    const a = decodeProgram(new Uint8Array(readFileSync(s.path('plain.bin'))));
    const b = decodeProgram(new Uint8Array(readFileSync(s.path('k.bin'))));
    assert.equal(a.length, b.length);
    assert.notDeepEqual(a, b);
    if (offset !== undefined) {
      const has = (p: typeof a) => p.some((i) => i.imm === offset || i.off === offset);
      assert.ok(has(b), `real_parent offset ${offset} in the relocated program`);
      assert.ok(!has(a), 'and not in the one relocated against the object’s own BTF');
    }
  } finally {
    s.remove();
  }
});

test('--btf with an ELF object uses its .BTF; bad files are exit 2 naming file and offset', async () => {
  const s = scratch('tsbpf-btf-');
  try {
    // core.bpf.o against its own BTF: nothing is poisoned.
    const own = await cli('obj', 'show', CORE, '--btf', CORE, '--json');
    assert.equal(own.code, 0, own.err);
    assert.ok((JSON.parse(own.out) as { core: { poisoned: number }[] }).core.every((c) => c.poisoned === 0));

    const src = existsSync(VMLINUX) ? new Uint8Array(readFileSync(VMLINUX)) : null;
    // A truncated header: the type section cannot be inside the file.
    const truncated = s.path('short.btf');
    writeFileSync(truncated, (src ?? new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0])).subarray(0, 40));
    for (const cmd of [
      ['obj', 'link', CORE, '--prog', 'core_rawtp', '-o', s.path('x.bin')],
      ['obj', 'show', CORE],
      ['run', CORE, '--prog', 'core_rawtp'],
      ['verify', CORE, '--prog', 'core_rawtp'],
    ]) {
      const r = await cli(...cmd, '--btf', truncated);
      assert.equal(r.code, 2, `${cmd.join(' ')}: ${r.err}`);
      assert.match(r.err, /short\.btf: .*offset 0x[0-9a-f]+: /, cmd.join(' '));
    }
    if (src) {
      // A string offset far outside the string section, inside the first type's name_off.
      const bad = src.slice();
      const hdrLen = new DataView(bad.buffer).getUint32(4, true);
      const typeOff = new DataView(bad.buffer).getUint32(8, true);
      new DataView(bad.buffer).setUint32(hdrLen + typeOff, 0x7fffff00, true);
      const mutated = s.path('mutated.btf');
      writeFileSync(mutated, bad);
      const r = await cli(
        'obj',
        'link',
        CORE,
        '--prog',
        'core_rawtp',
        '--btf',
        mutated,
        '-o',
        s.path('y.bin'),
      );
      assert.equal(r.code, 2, r.err);
      assert.match(
        r.err,
        new RegExp(`mutated\\.btf: .*offset 0x${(hdrLen + typeOff).toString(16)}: .*string`),
      );
    }
    const missing = await cli('run', CORE, '--prog', 'core_rawtp', '--btf', s.path('nope.btf'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /nope\.btf: no such file/);
    // An ELF file without .BTF: the section renamed to .XTF in the section name table.
    const elf = Buffer.from(readFileSync(CORE));
    const at = elf.indexOf(Buffer.from('.BTF\0'));
    assert.ok(at > 0);
    elf.write('.XTF', at);
    writeFileSync(s.path('nobtf.o'), elf);
    const noBtf = await cli('obj', 'show', CORE, '--btf', s.path('nobtf.o'));
    assert.equal(noBtf.code, 2);
    assert.match(noBtf.err, /nobtf\.o.*no \.BTF section/);
  } finally {
    s.remove();
  }
});

test('verify --btf vmlinux: fentry arguments are typed by the attach function in it', {
  skip: noVmlinux,
}, async () => {
  const obj = `${root}test/verifier/btf-args/btf_args.bpf.o`;
  // fentry_walk reads file->f_inode->i_ino from security_file_open's `struct file *file`
  const typed = await cli('verify', obj, '--prog', 'fentry_walk', '--btf', VMLINUX, '--json');
  assert.equal(typed.code, 0, typed.out + typed.err);
  // without the kernel's BTF the prototype is unknown: the argument is a number, not a pointer
  const plain = await cli('verify', obj, '--prog', 'fentry_walk', '--json');
  assert.equal(plain.code, 1);
  assert.match(plain.out, /R1 invalid mem access 'scalar'/);
});
