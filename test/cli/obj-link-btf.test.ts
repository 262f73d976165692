// `tsbpf obj link --btf-out --func-info-out --line-info-out`: the files the kernel needs besides
// the bytecode (test/examples/kernel-link-btf.test.ts loads them into the kernel).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseBtf } from '../../src/btf/index.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import { OP_CALL, PSEUDO_CALL, PSEUDO_FUNC } from '../../src/isa/opcode.ts';
import { cli, root, scratch } from './helpers.ts';

test('obj link writes BTF with fixed DATASECs and func_info at every function of the image', async () => {
  const s = scratch('tsbpf-link-btf-');
  try {
    const obj = `${root}examples/bpf-loop/bpf_loop.bpf.o`;
    const r = await cli(
      'obj',
      'link',
      obj,
      '--prog',
      'loop_histogram',
      '-o',
      s.path('p.bin'),
      '--btf-out',
      s.path('p.btf'),
      '--func-info-out',
      s.path('p.func'),
      '--line-info-out',
      s.path('p.line'),
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { func_info: { records: number }; line_info: { records: number } };
    const btf = parseBtf(new Uint8Array(readFileSync(s.path('p.btf'))));
    // libbpf's fixup: every DATASEC of a section the object has gets its size (clang writes 0).
    for (const t of btf.types) if (t.kind === 'datasec' && t.vars.length) assert.ok(t.size > 0, t.name);
    const fb = readFileSync(s.path('p.func'));
    const func = new DataView(fb.buffer, fb.byteOffset, fb.byteLength);
    assert.equal(func.byteLength, 8 * out.func_info.records);
    const offs = Array.from({ length: out.func_info.records }, (_, i) => func.getUint32(8 * i, true));
    // Function starts, independently: 0 and the targets of pseudo calls and callback lddws.
    const insns = decodeProgram(new Uint8Array(readFileSync(s.path('p.bin'))));
    const starts = new Set([0]);
    insns.forEach((i, at) => {
      if ((i.code === OP_CALL && i.src === PSEUDO_CALL) || i.src === PSEUDO_FUNC) starts.add(at + 1 + i.imm);
    });
    assert.ok(starts.size >= 2, 'loop_histogram has a bpf_loop callback');
    assert.deepEqual(
      offs,
      [...starts].sort((a, b) => a - b),
    );
    for (let i = 0; i < offs.length; i++) {
      const t = btf.typeById(func.getUint32(8 * i + 4, true));
      assert.equal(t.kind, 'func');
    }
    const line = readFileSync(s.path('p.line'));
    assert.equal(line.length, 16 * out.line_info.records);
    assert.equal(line.readUInt32LE(0), 0, 'line info starts at the first instruction');
    const clash = await cli(
      'obj',
      'link',
      obj,
      '--prog',
      'loop_histogram',
      '-o',
      s.path('p.bin'),
      '--btf-out',
      s.path('p.bin'),
    );
    assert.equal(clash.code, 2);
    assert.match(clash.err, /must differ/);
  } finally {
    s.remove();
  }
});

test('obj link --json names the attach target of BTF-attached programs and the contents of maps of maps', async () => {
  const s = scratch('tsbpf-link-attach-');
  try {
    const link = async (obj: string, prog: string) => {
      const r = await cli(
        'obj',
        'link',
        `${root}examples/${obj}`,
        '--prog',
        prog,
        '-o',
        s.path(`${prog}.bin`),
        '--json',
      );
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out);
    };
    // SEC("tp_btf/sched_process_exec") and SEC("iter/bpf_map_elem") in the C sources.
    const tp = await link('core/core.bpf.o', 'core_exec');
    assert.equal(tp.attach_type, 'trace_raw_tp');
    assert.deepEqual(tp.attach_btf, { name: 'btf_trace_sched_process_exec', kind: 'typedef' });
    const it = await link('iter/iter.bpf.o', 'dump_stats');
    assert.equal(it.attach_type, 'trace_iter');
    assert.deepEqual(it.attach_btf, { name: 'bpf_iter_bpf_map_elem', kind: 'func' });
    const xdp = await link('map-in-map/map_in_map.bpf.o', 'mim_xdp');
    assert.equal(xdp.attach_btf, undefined);
    // struct inner: ARRAY, 4 entries, __u32 key, __u64 value; the .values initialisers.
    const inner = { spec: 'array:4:8:4', flags: 0 };
    const slot = (key: number, name: string) => ({ key, kind: 'map', name, ...inner });
    const byName = new Map(xdp.maps.map((m: { name: string }) => [m.name, m]));
    const outerArray = byName.get('outer_array') as Record<string, unknown>;
    assert.equal(outerArray.spec, 'array_of_maps:4:4:2');
    assert.deepEqual(outerArray.inner_map, inner);
    assert.deepEqual(outerArray.values, [slot(0, 'inner_even'), slot(1, 'inner_odd')]);
    const outerHash = byName.get('outer_hash') as Record<string, unknown>;
    assert.deepEqual(outerHash.inner_map, inner);
    assert.deepEqual(outerHash.values, [slot(7, 'inner_h')]);
    const locked = byName.get('locked') as Record<string, unknown>;
    assert.equal(locked.inner_map, undefined);
    assert.equal(locked.values, undefined);
  } finally {
    s.remove();
  }
});
