import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { lineInfoAt } from '../../src/btf/index.ts';
import { ElfError } from '../../src/errors.ts';
import {
  ATTACH_TYPES,
  type CollectionSpec,
  classifySection,
  collectionSpecToJSON,
  copyCollectionSpec,
  internalMapName,
  linkProgram,
  loadCollectionSpec,
  MAP_TYPES,
  objNameOf,
  PROG_TYPES,
} from '../../src/elf/index.ts';
import { base, fixture, hasTool, objectFiles, readObject, run } from './fixtures.ts';

const load = (path: string): CollectionSpec => loadCollectionSpec(readObject(path), { file: base(path) });

test('kernel enum tables agree with <linux/bpf.h> (which may be older: a prefix)', {
  skip: !existsSync('/usr/include/linux/bpf.h') && 'no <linux/bpf.h>',
}, () => {
  const h = readFileSync('/usr/include/linux/bpf.h', 'utf8');
  const enumNames = (name: string, prefix: string): string[] => {
    const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(h)![1]!;
    return [...body.matchAll(/^\s*([A-Z0-9_]+),/gm)].map((m) => m[1]!.slice(prefix.length).toLowerCase());
  };
  const check = (ours: readonly string[], theirs: string[], what: string) => {
    assert.ok(theirs.length > 10, `${what}: parsed the header`);
    assert.deepEqual(ours.slice(0, theirs.length), theirs, what);
  };
  check(MAP_TYPES, enumNames('bpf_map_type', 'BPF_MAP_TYPE_'), 'map types');
  check(PROG_TYPES, enumNames('bpf_prog_type', 'BPF_PROG_TYPE_'), 'prog types');
  check(
    ATTACH_TYPES,
    enumNames('bpf_attach_type', 'BPF_').filter((n) => !n.startsWith('__')),
    'attach types',
  );
});

test('program and map names and order match libbpf (bpftool gen skeleton)', {
  skip: !hasTool('bpftool') && 'bpftool not installed',
}, () => {
  let checked = 0;
  for (const f of objectFiles()) {
    if (base(f) === 'legacy.bpf.o') continue; // libbpf ≥ 1.0 refuses SEC("maps"); we keep supporting it
    const spec = load(f);
    const skel = run('bpftool', ['gen', 'skeleton', f, 'name', spec.objName])!;
    const names = (what: string) =>
      [...skel.matchAll(new RegExp(`s->${what}\\[\\d+\\]\\.name = "([^"]+)";`, 'g'))].map((m) => m[1]);
    assert.deepEqual(
      spec.programs.map((p) => p.name),
      names('progs'),
      `${f}: programs`,
    );
    assert.deepEqual(
      spec.maps.map((m) => m.name),
      names('maps'),
      `${f}: maps`,
    );
    checked++;
  }
  assert.ok(checked >= 6, `checked ${checked} objects`);
});

test('every program relocation matches llvm-objdump -r', {
  skip: !hasTool('llvm-objdump-19') && 'llvm-objdump-19 not installed',
}, () => {
  for (const f of objectFiles()) {
    const spec = load(f);
    const out = run('llvm-objdump-19', ['-r', f])!;
    const funcs = [...spec.programs, ...spec.subprograms];
    let section = '';
    let count = 0;
    for (const line of out.split('\n')) {
      const s = /^RELOCATION RECORDS FOR \[(.*)\]:$/.exec(line);
      if (s) section = s[1]!;
      const r = /^([0-9a-f]{16}) (R_BPF_\S+)\s+(\S+)$/.exec(line);
      if (!r || !funcs.some((p) => p.section === section)) continue;
      const idx = Number.parseInt(r[1]!, 16) / 8;
      const sym = r[3]!;
      const p = funcs.find(
        (x) => x.section === section && idx >= x.insnOff && idx < x.insnOff + x.insns.length,
      )!;
      assert.ok(p, `${f}: ${section}+${idx} belongs to a function`);
      const rel = p.relocs.find((x) => x.insnIdx === idx - p.insnOff);
      assert.ok(rel, `${f}: ${section}+${idx} (${sym}) recorded`);
      if (rel.kind === 'map') assert.equal(rel.map, sym, `${f}: map symbol`);
      if (rel.kind === 'data') assert.ok(rel.symbol === sym, `${f}: data symbol ${rel.symbol} vs ${sym}`);
      if (rel.kind === 'call') assert.equal(r[2], 'R_BPF_64_32', `${f}: call relocation type`);
      if (rel.kind === 'func' || rel.kind === 'map' || rel.kind === 'data') assert.equal(r[2], 'R_BPF_64_64');
      if (rel.kind === 'unsupported') assert.equal(rel.symbol, sym);
      count++;
    }
    // Relocations are a subset of what we record (intra-section calls need none).
    const recorded = funcs.reduce((n, p) => n + p.relocs.filter((r) => r.kind !== 'call').length, 0);
    assert.ok(count >= recorded, `${f}: ${count} relocations vs ${recorded} non-call records`);
  }
});

test('SEC() names map to libbpf program and attach types', () => {
  // From libbpf's documentation (Documentation/bpf/libbpf/program_types.rst).
  const cases: [string, string, string | undefined, boolean?][] = [
    ['xdp', 'xdp', 'xdp'],
    ['xdp.frags', 'xdp', 'xdp'],
    ['xdp/devmap', 'xdp', 'xdp_devmap'],
    ['tc', 'sched_cls', undefined],
    ['tc/ingress', 'sched_cls', 'tcx_ingress'],
    ['tcx/egress', 'sched_cls', 'tcx_egress'],
    ['classifier', 'sched_cls', undefined],
    ['action', 'sched_act', undefined],
    ['socket', 'socket_filter', undefined],
    ['sk_skb', 'sk_skb', undefined],
    ['sk_skb/stream_parser', 'sk_skb', 'sk_skb_stream_parser'],
    ['sk_msg', 'sk_msg', 'sk_msg_verdict'],
    ['perf_event', 'perf_event', undefined],
    ['tracepoint/syscalls/sys_enter_open', 'tracepoint', undefined],
    ['tp/syscalls/sys_enter_open', 'tracepoint', undefined],
    ['kprobe/do_unlinkat', 'kprobe', undefined],
    ['kretprobe/do_unlinkat', 'kprobe', undefined],
    ['uprobe.s/libc:malloc', 'kprobe', undefined, true],
    ['raw_tp/sched_switch', 'raw_tracepoint', undefined],
    ['raw_tracepoint.w/foo', 'raw_tracepoint_writable', undefined],
    ['tp_btf/sched_switch', 'tracing', 'trace_raw_tp'],
    ['fentry/do_unlinkat', 'tracing', 'trace_fentry'],
    ['fexit.s/do_unlinkat', 'tracing', 'trace_fexit', true],
    ['fmod_ret/x', 'tracing', 'modify_return'],
    ['lsm/file_open', 'lsm', 'lsm_mac'],
    ['lsm.s/file_open', 'lsm', 'lsm_mac', true],
    ['iter/task', 'tracing', 'trace_iter'],
    ['iter.s/task', 'tracing', 'trace_iter', true],
    ['syscall', 'syscall', undefined, true],
    ['cgroup_skb/ingress', 'cgroup_skb', 'cgroup_inet_ingress'],
    ['cgroup_skb/egress', 'cgroup_skb', 'cgroup_inet_egress'],
    ['cgroup/connect6', 'cgroup_sock_addr', 'cgroup_inet6_connect'],
    ['cgroup/sock', 'cgroup_sock', 'cgroup_inet_sock_create'],
    ['cgroup/getsockopt', 'cgroup_sockopt', 'cgroup_getsockopt'],
    ['struct_ops/foo', 'struct_ops', undefined],
    ['struct_ops.s/foo', 'struct_ops', undefined, true],
    ['sk_lookup', 'sk_lookup', 'sk_lookup'],
  ];
  for (const [name, prog, attach, sleepable] of cases) {
    const k = classifySection(name);
    assert.equal(k.progType, prog, name);
    assert.equal(k.attachType, attach, name);
    assert.equal(k.sleepable === true, sleepable === true, `${name} sleepable`);
  }
  assert.equal(classifySection('xdp.frags').xdpFrags, true);
  assert.equal(classifySection('kprobe/do_sys_open').attachTo, 'do_sys_open');
  // '+' patterns need a '/' (or nothing) after the prefix; others match exactly.
  assert.equal(classifySection('kprobex').progType, 'unspec');
  assert.equal(classifySection('xdp/foo').progType, 'unspec');
  assert.equal(classifySection('socketx').progType, 'unspec');
});

test('unknown sections are listed and refuse to link with a clear message', () => {
  const spec = load(fixture('sections.bpf.o'));
  assert.equal(spec.programs.length, 41, 'one program per P() line in sections.bpf.c');
  const opt = spec.programs.find((x) => x.name === 'p_optional')!;
  assert.deepEqual([opt.section, opt.progType, opt.autoload], ['?xdp', 'xdp', false]);
  assert.ok(spec.programs.filter((x) => x !== opt).every((x) => x.autoload));
  const p = spec.programs.find((x) => x.name === 'p_unknown')!;
  assert.equal(p.progType, 'unspec');
  assert.throws(
    () => linkProgram(spec, 'p_unknown'),
    (e: unknown) =>
      e instanceof ElfError &&
      /no_such_kind\/foo.*not a known program type/.test(e.message) &&
      e.where.prog === 'p_unknown',
  );
  assert.equal(linkProgram(spec, 'p_xdp').progType, 'xdp');
});

test('BTF-defined maps: every field as written in maps.bpf.c', () => {
  const spec = load(fixture('maps.bpf.o'));
  const m = (name: string) => spec.maps.find((x) => x.name === name)!;
  const btf = spec.btf!;
  const pair = btf.typeByName('pair', 'struct');
  assert.deepEqual(
    [
      m('counts').typeName,
      m('counts').keySize,
      m('counts').valueSize,
      m('counts').maxEntries,
      m('counts').flags,
    ],
    ['hash', 4, btf.sizeof(pair.id), 1024, 1 /* BPF_F_NO_PREALLOC */],
  );
  assert.equal(m('counts').valueTypeId, pair.id);
  assert.deepEqual(
    [m('sized').keySize, m('sized').valueSize, m('sized').pinning, m('sized').keyTypeId],
    [4, 16, 1, 0],
  );
  assert.deepEqual([m('events').typeName, m('events').maxEntries], ['ringbuf', 4096]);
  assert.deepEqual([m('bloom').typeName, m('bloom').valueSize, m('bloom').mapExtra], ['bloom_filter', 8, 3]);
  const outer = m('outer');
  assert.equal(outer.typeName, 'array_of_maps');
  assert.equal(outer.valueSize, 4);
  assert.deepEqual(
    [outer.innerMap?.typeName, outer.innerMap?.maxEntries, outer.innerMap?.valueSize],
    ['array', 2, 4],
  );
  assert.deepEqual(outer.initialValues, [
    { index: 0, kind: 'map', name: 'inner_b' },
    { index: 3, kind: 'map', name: 'inner_a' },
  ]);
  assert.deepEqual(m('jumps').initialValues, [{ index: 1, kind: 'prog', name: 'tail_a' }]);
  // The spec is JSON-able.
  const json = JSON.stringify(collectionSpecToJSON(spec));
  assert.ok(json.includes('"inner_b"'), 'JSON has the maps');
});

test('legacy maps, license and version', () => {
  const spec = load(fixture('legacy.bpf.o'));
  assert.deepEqual(
    spec.maps.map((m) => [m.name, m.typeName, m.keySize, m.valueSize, m.maxEntries, m.origin]),
    [
      ['old_hash', 'hash', 4, 8, 16, 'legacy'],
      ['old_array', 'array', 4, 4, 2, 'legacy'],
    ],
  );
  assert.equal(spec.license, 'Dual BSD/GPL');
  assert.equal(spec.kernelVersion, 0x060c00);
  assert.equal(spec.programs[0]!.progType, 'sched_cls');
});

test('global data maps hold the section bytes; externs are typed', {
  skip: !hasTool('llvm-readobj-19') && 'llvm-readobj-19 not installed',
}, () => {
  const path = fixture('globals.bpf.o');
  const spec = load(path);
  const dump = run('llvm-readobj-19', ['--elf-output-style=JSON', '-S', '--section-data', path])!;
  type S = { Section: { Name: { Name: string }; Size: number; SectionData?: { Bytes: number[] } } };
  const secs = (JSON.parse(dump)[0].Sections as S[]).map((s) => s.Section);
  for (const [sec, kind] of [
    ['.data', 'data'],
    ['.rodata', 'rodata'],
    ['.bss', 'bss'],
    ['.data.tuning', 'data'],
    ['.rodata.limits', 'rodata'],
  ] as const) {
    const s = secs.find((x) => x.Name.Name === sec)!;
    const map = spec.maps.find((m) => m.section === sec)!;
    assert.ok(map, `map for ${sec}`);
    assert.equal(map.name, internalMapName('globals', sec));
    assert.deepEqual(
      [map.typeName, map.keySize, map.valueSize, map.maxEntries, map.origin],
      ['array', 4, s.Size, 1, kind],
    );
    assert.equal(map.frozen, kind === 'rodata', `${sec} frozen`);
    if (kind !== 'bss') assert.deepEqual([...map.data!], s.SectionData!.Bytes, `${sec} bytes`);
  }
  assert.equal(spec.maps.find((m) => m.section === '.data')!.name, 'globals.data');
  assert.equal(internalMapName('my_object_name', '.rodata'), 'my_objec.rodata');
  assert.equal(internalMapName('x', '.rodata.very_long_name'), '.rodata.very_lo');
  assert.equal(objNameOf('/a/b/my-prog.bpf.o'), 'my-prog');
  const ext = (n: string) => spec.externs.find((e) => e.name === n)!;
  assert.deepEqual([ext('LINUX_KERNEL_VERSION').kind, ext('LINUX_KERNEL_VERSION').weak], ['kconfig', false]);
  assert.deepEqual([ext('CONFIG_HZ').kind, ext('CONFIG_HZ').weak], ['kconfig', true]);
  assert.equal(ext('bpf_prog_active').kind, 'ksym');
  const kc = spec.maps.find((m) => m.origin === 'kconfig')!;
  assert.equal(kc.valueSize % 8, 0);
  assert.ok(
    ext('CONFIG_HZ').offset + 4 <= kc.valueSize && ext('LINUX_KERNEL_VERSION').offset + 4 <= kc.valueSize,
  );
  assert.notEqual(ext('CONFIG_HZ').offset, ext('LINUX_KERNEL_VERSION').offset);
  // kconfig reads become map-value references into .kconfig.
  const useKconfig = spec.programs.find((p) => p.name === 'use_kconfig')!;
  assert.ok(useKconfig.relocs.some((r) => r.kind === 'data' && r.map === kc.name));
  // The __ksym program is listed, but linking it says why it cannot work.
  assert.throws(
    () => linkProgram(spec, 'use_ksym'),
    (e: unknown) =>
      e instanceof ElfError &&
      /unsupported.*bpf_prog_active/.test(e.message) &&
      e.where.insnIdx !== undefined,
  );
  assert.ok(linkProgram(spec, 'use_globals').insns.length > 0);
});

test('calls, callbacks and per-program BTF ext info (subprogs.bpf.c)', () => {
  const spec = load(fixture('subprogs.bpf.o'));
  assert.deepEqual(
    spec.programs.map((p) => p.name),
    ['first', 'second', 'third'],
  );
  assert.deepEqual(spec.subprograms.map((p) => p.name).sort(), ['add_total', 'leaf', 'loop_body', 'mark']);
  const first = spec.programs[0]!;
  assert.deepEqual(
    first.relocs.map((r) => [r.kind, r.kind === 'call' || r.kind === 'func' ? r.target.name : '']),
    [
      ['call', 'mark'],
      ['func', 'loop_body'],
    ],
  );
  // mark() calls add_total() inside .text: no ELF relocation, still recorded.
  const mark = spec.subprograms.find((p) => p.name === 'mark')!;
  assert.ok(mark.relocs.some((r) => r.kind === 'call' && r.target.name === 'add_total'));
  assert.ok(mark.relocs.some((r) => r.kind === 'map' && r.map === 'seen'));
  for (const p of [...spec.programs, ...spec.subprograms]) {
    assert.equal(p.funcInfo.length, 1, `${p.name}: one func_info`);
    assert.equal(p.funcInfo[0]!.insnIdx, 0);
    assert.equal(spec.btf!.typeById(p.btfFuncId!).name, p.name);
    assert.ok(p.lineInfo.length > 0 && p.lineInfo.every((l) => l.insnIdx >= 0 && l.insnIdx < p.insns.length));
  }
});

test('copies are independent; line info finds the source line of any instruction', () => {
  const spec = load(fixture('subprogs.bpf.o'));
  const copy = copyCollectionSpec(spec);
  copy.maps[0]!.maxEntries = 999;
  copy.programs[0]!.insns[0]!.imm = 12345;
  assert.notEqual(spec.maps[0]!.maxEntries, 999);
  assert.notEqual(spec.programs[0]!.insns[0]!.imm, 12345);
  assert.equal(copy.btf, spec.btf);
  const l = linkProgram(spec, 'first');
  const src = readFileSync(fixture('subprogs.bpf.c'), 'utf8').split('\n');
  for (let i = 0; i < l.insns.length; i++) {
    const li = lineInfoAt(l.lineInfo, i)!;
    assert.ok(li && li.insnIdx <= i, `insn ${i} has a line`);
    assert.equal(src[li.line - 1], li.lineText);
  }
  // The call to bpf_loop in first() is on the line that says so.
  const callIdx = l.insns.findIndex((x) => x.code === 0x85 && x.src === 0 && x.imm === 181);
  assert.match(lineInfoAt(l.lineInfo, callIdx)!.lineText, /bpf_loop\(4, loop_body/);
});

test('DATASEC sizes and variable offsets are fixed up from the ELF symbols, as libbpf does', {
  skip: !hasTool('llvm-readobj-19') && 'llvm-readobj-19 not installed',
}, () => {
  for (const f of objectFiles()) {
    const spec = load(f);
    const btf = spec.btf!;
    type S = { Symbol: { Name: { Name: string }; Value: number; Section: { Name: string } } };
    const syms = JSON.parse(run('llvm-readobj-19', ['--elf-output-style=JSON', '-s', f])!)[0].Symbols as S[];
    for (const m of spec.maps) {
      if (m.origin !== 'data' && m.origin !== 'rodata' && m.origin !== 'bss' && m.origin !== 'kconfig')
        continue;
      if (!m.valueTypeId) continue;
      assert.equal(btf.sizeof(m.valueTypeId), m.valueSize, `${f}: ${m.name} value type size`);
      const ds = btf.typeById(m.valueTypeId);
      assert.equal(ds.kind, 'datasec');
      if (ds.kind !== 'datasec' || m.origin === 'kconfig') continue;
      for (const v of ds.vars) {
        const name = btf.typeById(v.type).name;
        const sym = syms.find((s) => s.Symbol.Name.Name === name && s.Symbol.Section.Name === m.section);
        if (sym) assert.equal(v.offset, sym.Symbol.Value, `${f}: ${m.section} ${name}`);
      }
    }
  }
});
