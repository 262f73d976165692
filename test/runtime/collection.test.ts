// Collection loading: global variable overrides through BTF, kconfig values, frozen .rodata,
// load-time errors that name what is missing, and close().
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { copyCollectionSpec, type ExternSpec, type MapSpec } from '../../src/elf/spec.ts';
import { InputError, RuntimeFault, UsageError } from '../../src/errors.ts';
import { type CollectionOptions, newCollection } from '../../src/runtime/collection.ts';
import { DEFAULT_KERNEL_VERSION, encodeGlobal, kconfigData } from '../../src/runtime/globals.ts';
import { udp4Packet } from '../examples/packets.ts';

function open(example: string, opts: CollectionOptions = {}) {
  const file = `examples/${example}.bpf.o`;
  return newCollection(loadCollectionSpec(readFileSync(file), { file }), { verify: false, ...opts });
}
const u64 = (b: Uint8Array | undefined, off: number) => {
  assert.ok(b instanceof Uint8Array);
  return new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
};

test('rodata overrides: const volatile values by name change what the program computes', () => {
  const pkt = udp4Packet(53);
  const len = BigInt(pkt.length);
  // Defaults: scale 3, tag "tsbpf" ('t' & 3 = 0 → table[0] = 1).
  const a = open('globals/globals');
  a.program('globals_xdp').run({ data: pkt });
  // total (.data, starts at 1000) += len * scale + table[tag[0] & 3]
  assert.equal(u64(a.map('globals.data').lookup(new Uint8Array(4)) as Uint8Array, 0), 1000n + len * 3n + 1n);
  a.close();
  // scale 5, threshold 1, tag "usbpf" ('u' & 3 = 1 → table[1] = 10).
  const b = open('globals/globals', { rodata: { scale: 5, threshold: 1n, tag: 'usbpf' } });
  b.program('globals_xdp').run({ data: pkt });
  b.program('globals_xdp').run({ data: pkt });
  assert.equal(
    u64(b.map('globals.data').lookup(new Uint8Array(4)) as Uint8Array, 0),
    1000n + 2n * (len * 5n + 10n),
  );
  // .bss: runs, over_threshold (both runs are over a threshold of 1)
  const bss = b.map('globals.bss').lookup(new Uint8Array(4)) as Uint8Array;
  assert.deepEqual([u64(bss, 0), u64(bss, 8)].sort(), [2n, 2n]);
  // .rodata is frozen: the host cannot write it any more.
  assert.throws(() =>
    b.map('globals.rodata').update(new Uint8Array(4), new Uint8Array(b.map('globals.rodata').valueSize)),
  );
  b.close();
});

test('rodata overrides: unknown names and values that do not fit are usage errors', () => {
  assert.throws(
    () => open('globals/globals', { rodata: { scael: 1 } }),
    (e: unknown) =>
      e instanceof UsageError && /no global variable "scael"/.test(e.message) && /scale/.test(e.message),
  );
  assert.throws(() => open('globals/globals', { rodata: { scale: 2 ** 32 } }), /does not fit in 4 bytes/);
  assert.throws(() => open('globals/globals', { rodata: { tag: 'much too long' } }), /do not fit/);
  assert.deepEqual(encodeGlobal('x', -2, 2), new Uint8Array([0xfe, 0xff]));
});

test('kconfig: values laid out at their extern offsets; strong externs must be given', () => {
  const map = { valueSize: 16 } as MapSpec;
  const ext = (name: string, offset: number, size: number, weak = false): ExternSpec => ({
    name,
    kind: 'kconfig',
    weak,
    typeId: 0,
    size,
    offset,
  });
  const externs = [
    ext('LINUX_KERNEL_VERSION', 0, 4),
    ext('CONFIG_HZ', 4, 4),
    ext('CONFIG_BPF', 8, 1),
    ext('CONFIG_X', 9, 1, true),
  ];
  const d = kconfigData(map, externs, { CONFIG_HZ: 250, CONFIG_BPF: 'y' }, 'k.o');
  const dv = new DataView(d.buffer);
  assert.equal(dv.getUint32(0, true), DEFAULT_KERNEL_VERSION);
  assert.equal(dv.getUint32(4, true), 250);
  assert.equal(d[8], 1);
  assert.equal(d[9], 0);
  assert.throws(() => kconfigData(map, externs, {}, 'k.o'), /CONFIG_HZ has no value/);
});

test('load errors name the helper, the program and the instruction', () => {
  // xdp_firewall with its first helper call turned into bpf_get_stackid (27), which tsbpf lacks.
  const fw = 'examples/xdp-firewall/xdp_firewall.bpf.o';
  const spec = copyCollectionSpec(loadCollectionSpec(readFileSync(fw), { file: fw }));
  const prog = spec.programs[0]!;
  const at = prog.insns.findIndex((i) => i.code === 0x85 && i.src === 0);
  prog.insns[at]!.imm = 27;
  assert.throws(
    () => newCollection(spec, { verify: false }),
    (e: unknown) =>
      e instanceof InputError &&
      /helper bpf_get_stackid \(id 27\) is not supported/.test(e.message) &&
      e.where.prog === 'xdp_firewall' &&
      e.where.insnIdx === at,
  );
  assert.throws(() => open('globals/globals', { engine: 'wasm' as never }), /unknown engine "wasm"/);
  assert.throws(() => open('globals/globals', { programs: ['nope'] }), /no program "nope"/);
  // Leaving out programs a prog array initialiser names fails, as with libbpf.
  assert.throws(() => open('tail-calls/tail_calls', { programs: ['tail_entry'] }), /not loaded/);
});

test('programs option, program()/map() lookups, close()', () => {
  const c = open('loops/loops', { programs: ['while_loop'] });
  assert.deepEqual([...c.programs.keys()], ['while_loop']);
  assert.throws(() => c.program('checksum_loop'), /loaded: while_loop/);
  assert.throws(() => c.map('nope'), /no map "nope"/);
  const out = c.map('out');
  c.close();
  assert.equal(out.closed, true);
  c.close(); // twice is fine
});

test('core_rawtp reads a task the host lays out (bpf_get_current_task + probe reads)', () => {
  const file = 'examples/core/core.bpf.o';
  const spec = loadCollectionSpec(readFileSync(file), { file });
  const btf = spec.btf!;
  // Without a CO-RE target the object's own (preserve_access_index) layouts apply, so the host
  // lays the structs out as the object's BTF says.
  const task = btf.typeByName('task_struct', 'struct').id;
  const mm = btf.typeByName('mm_struct', 'struct').id;
  const off = (id: number, f: string) => btf.memberOffset(id, f).bitOffset / 8;
  const base = 0xffff888000100000n;
  const taskAddr = base;
  const parentAddr = base + 0x1000n;
  const mmAddr = base + 0x2000n;
  const mem = new Uint8Array(0x3000);
  const dv = new DataView(mem.buffer);
  const putTask = (at: number, pid: number, comm: string, parent: bigint, mmPtr: bigint) => {
    dv.setInt32(at + off(task, 'pid'), pid, true);
    dv.setInt32(at + off(task, 'tgid'), pid, true);
    mem.set(new TextEncoder().encode(comm), at + off(task, 'comm'));
    dv.setBigUint64(at + off(task, 'real_parent'), parent, true);
    dv.setBigUint64(at + off(task, 'mm'), mmPtr, true);
  };
  putTask(0, 4242, 'worker', parentAddr, mmAddr);
  putTask(0x1000, 1, 'init', 0n, 0n);
  dv.setBigUint64(0x2000 + off(mm, 'total_vm'), 12345n, true);
  const c = newCollection(spec, {
    verify: false,
    programs: ['core_rawtp', 'core_kprobe'],
    host: { currentTask: taskAddr, memory: [{ space: 'kernel', addr: base, bytes: mem }] },
  });
  assert.equal(c.program('core_rawtp').run().retval, 0);
  const [ev] = (c.map('core_events') as unknown as { consume(): Uint8Array[] }).consume();
  assert.ok(ev);
  const e = new DataView(ev.buffer, ev.byteOffset);
  // struct core_event {kind, pid, tgid, parent_tgid (u32); total_vm (u64); comm[16]}
  assert.deepEqual(
    [0, 4, 8, 12].map((o) => e.getUint32(o, true)),
    [2, 4242, 4242, 1],
  );
  assert.equal(e.getBigUint64(16, true), 12345n);
  assert.equal(new TextDecoder().decode(ev.subarray(24, 30)), 'worker');
  const r = c.map('core.bss').lookup(new Uint8Array(4)) as Uint8Array;
  const rv = new DataView(r.buffer, r.byteOffset);
  // has_pid, pid_size 4, comm_size 16, rawtp_runs 1, last_comm
  assert.deepEqual([rv.getUint32(0, true), rv.getUint32(16, true), rv.getUint32(20, true)], [1, 4, 16]);
  assert.equal(rv.getBigUint64(24, true), 1n);
  assert.equal(new TextDecoder().decode(r.subarray(32, 38)), 'worker');
  c.close();
});

test('the verifier gate: a program reading an uninitialised register is refused unless verify is off', () => {
  const file = 'examples/xdp-parse/xdp_parse.bpf.o';
  const spec = copyCollectionSpec(loadCollectionSpec(readFileSync(file), { file }));
  const p = spec.programs[0]!;
  // r0 = r2; exit — r2 is not set at entry.
  p.insns = [
    { code: 0xbf, dst: 0, src: 2, off: 0, imm: 0 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  p.relocs = [];
  p.funcInfo = [];
  p.lineInfo = [];
  p.coreRelos = [];
  assert.throws(
    () => newCollection(spec),
    (e: unknown) => e instanceof InputError && e.code === 'VERIFY' && /R2 !read_ok/.test(e.message),
  );
  const c = newCollection(spec, { verify: false });
  assert.equal(c.program('xdp_parse').run({ data: new Uint8Array(64) }).retval, 0);
  c.close();
});

test('the verifier sees bpf_timer and bpf_spin_lock offsets from BTF (timer, life and maps load verified)', () => {
  for (const ex of ['timer/timer', 'life/life', 'tc-classifier/tc_classifier']) {
    const file = `examples/${ex}.bpf.o`;
    const c = newCollection(loadCollectionSpec(readFileSync(file), { file }));
    assert.ok(c.programs.size > 0);
    c.close();
  }
});

test('helper misuse by an unverified program stops it with a RuntimeFault at the call', () => {
  const file = 'examples/xdp-parse/xdp_parse.bpf.o';
  const base = loadCollectionSpec(readFileSync(file), { file });
  const withInsns = (insns: { code: number; dst: number; src: number; off: number; imm: number }[]) => {
    const spec = copyCollectionSpec(base);
    const p = spec.programs[0]!;
    Object.assign(p, { insns, relocs: [], funcInfo: [], lineInfo: [], coreRelos: [] });
    return newCollection(spec, { verify: false });
  };
  const mov = (dst: number, imm: number) => ({ code: 0xb7, dst, src: 0, off: 0, imm });
  const call = (imm: number) => ({ code: 0x85, dst: 0, src: 0, off: 0, imm });
  const exit = { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 };
  // bpf_loop(1, NULL, NULL, 0): r2 is not a function address.
  const a = withInsns([mov(1, 1), mov(2, 0), mov(3, 0), mov(4, 0), call(181), exit]);
  assert.throws(
    () => a.program('xdp_parse').run({ data: new Uint8Array(64) }),
    (e: unknown) =>
      e instanceof RuntimeFault && /not a function address/.test(e.message) && e.where.insnIdx === 4,
  );
  a.close();
  // bpf_tail_call(ctx, 0, 0): r2 is not a map.
  const b = withInsns([mov(2, 0), mov(3, 0), call(12), exit]);
  assert.throws(() => b.program('xdp_parse').run({ data: new Uint8Array(64) }), /not a map pointer/);
  b.close();
  // bpf_spin_lock(NULL)
  const c = withInsns([mov(1, 0), call(93), exit]);
  assert.throws(() => c.program('xdp_parse').run({ data: new Uint8Array(64) }), RuntimeFault);
  c.close();
});
