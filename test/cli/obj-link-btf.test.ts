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
