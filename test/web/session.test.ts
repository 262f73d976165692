// The playground's DOM-free parts under Node: snippets verify as their titles say, the step
// recorder (the interpreter's onInsn hook) sees every instruction, hash state round-trips.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { highlightAsm } from '../../src/web/highlight.ts';
import { PACKETS, parseHex, toHex } from '../../src/web/packets.ts';
import { openWorkspace, programView, Runner, verifyProgram } from '../../src/web/session.ts';
import { decodeState, encodeState } from '../../src/web/share.ts';
import { SNIPPETS } from '../../src/web/snippets.ts';

function snippet(id: string) {
  const s = SNIPPETS.find((x) => x.id === id)!;
  const ws = openWorkspace({ kind: 'asm', name: `${id}.s`, text: s.text });
  return { ws, view: programView(ws, ws.programs[0]!, s.type) };
}

test('snippets: each verdict matches its title', () => {
  for (const s of SNIPPETS) {
    const v = verifyProgram(snippet(s.id).view);
    assert.equal(v.verdict, s.title.includes('(accepted)') ? 'accept' : 'reject', s.id);
  }
  const bad = verifyProgram(snippet('xdp-no-check').view);
  assert.equal(bad.error?.insnIdx, 1);
  // Level 2 logs give states per instruction; insn 0 is reached on every path.
  assert.ok(verifyProgram(snippet('sum-loop').view).states.get(0)?.length);
});

test('step recorder: one step per executed instruction, registers before each', () => {
  const { ws, view } = snippet('sum-loop');
  const r = new Runner(ws).run(view, { type: 'socket_filter', data: new Uint8Array(64), record: 1000 });
  assert.equal(r.error, undefined);
  assert.equal(r.retval, 55);
  // 2 set-up instructions, 10 rounds of 3, then exit.
  assert.equal(r.insns, 33);
  assert.equal(r.steps.length, 33);
  assert.deepEqual(
    r.steps.slice(0, 6).map((s) => s.pc),
    [0, 1, 2, 3, 4, 2],
  );
  // Before the 6th instruction (second round's `r0 += r1`): r0 = 1, r1 = 2.
  assert.equal(r.steps[5]!.regs[0], 1n);
  assert.equal(r.steps[5]!.regs[1], 2n);
  assert.equal(r.steps.at(-1)!.regs[0], 55n);
  // Truncation: a short limit keeps the first steps and says so.
  const short = new Runner(ws).run(view, { type: 'socket_filter', record: 5 });
  assert.equal(short.steps.length, 5);
  assert.equal(short.truncated, true);
});

test('an object runs with its maps kept between runs', () => {
  const bytes = new Uint8Array(
    readFileSync(new URL('../../examples/xdp-parse/xdp_parse.bpf.o', import.meta.url)),
  );
  const ws = openWorkspace({ kind: 'object', name: 'xdp_parse.bpf.o', bytes });
  const runner = new Runner(ws);
  const view = programView(ws, 'xdp_parse', '');
  assert.equal(view.progType, 'xdp');
  const udp = new Uint8Array(PACKETS.find((p) => p.id === 'udp-dns')!.bytes);
  for (let i = 0; i < 2; i++) assert.equal(runner.run(view, { type: 'xdp', data: udp }).retval, 2);
  // examples/xdp-parse bumps SLOT_IPV4 (1) and SLOT_UDP (4) once per IPv4 UDP packet, u64 each.
  const counts = runner.maps.get('proto_count')!;
  const slot = (k: number): bigint => {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, k, true);
    const v = counts.lookup(key);
    assert.ok(v instanceof Uint8Array);
    return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
  };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(slot), [0n, 2n, 0n, 0n, 2n, 0n]);
  runner.close();
});

test('hash state round-trips; foreign hashes are ignored', () => {
  const st = { asm: 'r0 = 1\nexit ; ünïcode', type: 'xdp', pkt: 'ffff' };
  assert.deepEqual(decodeState(`#${encodeState(st)}`), st);
  assert.equal(decodeState('#section-2'), undefined);
  assert.equal(decodeState(''), undefined);
});

test('hex and highlighting', () => {
  assert.deepEqual([...parseHex('0x0a ff\n01')], [10, 255, 1]);
  assert.throws(() => parseHex('abc'), /odd/);
  assert.throws(() => parseHex('zz'), /only/);
  assert.equal(toHex([1, 2]), '01 02');
  const html = highlightAsm('r0 = 1 ; <b>');
  assert.match(html, /<span class="tk-r">r0<\/span>/);
  assert.match(html, /&lt;b&gt;/);
});

test('a runaway loop stops at the run budget with a fault, not a frozen page', () => {
  const ws = openWorkspace({ kind: 'asm', name: 'spin.s', text: 'r0 = 0\nloop:\nr0 += 1\ngoto loop\n' });
  const r = new Runner(ws).run(programView(ws, 'spin.s', 'socket_filter'), { type: 'socket_filter' });
  assert.equal(r.retval, undefined);
  assert.match(r.error ?? '', /budget|instructions/i);
});

test('every example program verifies in the playground as in the CLI (BTF reaches the worker)', () => {
  const inventory = JSON.parse(readFileSync('examples/inventory.json', 'utf8')) as {
    objects?: { object: string }[];
  };
  const objects = inventory.objects ?? [];
  assert.ok(objects.length >= 19, `inventory lists ${objects.length} objects`);
  for (const o of objects) {
    const bytes = new Uint8Array(readFileSync(o.object));
    const ws = openWorkspace({ kind: 'object', name: o.object, bytes });
    for (const name of ws.programs) {
      // core_exec (tp_btf ctx) and dump_stats (iterator ctx) need the object's BTF
      const view = structuredClone(programView(ws, name, ''));
      const v = verifyProgram(view, 1);
      assert.equal(v.verdict, 'accept', `${o.object} ${name}: ${v.error?.message ?? ''}`);
    }
  }
});
