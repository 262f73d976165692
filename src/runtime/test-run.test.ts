import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, RuntimeFault, UsageError } from '../errors.ts';
import { assembleConformance } from '../isa/asm/conformance.ts';
import { type Insn, insn } from '../isa/insn.ts';
import type { ArrayMap } from '../vm/array-map.ts';
import { SK_BUFF, SK_BUFF_SIZE, XDP_MD, XDP_MD_SIZE } from '../vm/ctx-layout.ts';
import { testRun } from './test-run.ts';

const asm = (s: string): Insn[] => assembleConformance(s);
const pkt = (n: number, ethertype = 0x0800) => {
  const p = new Uint8Array(n).map((_, i) => i);
  p.fill(0, 0, 6);
  p[12] = ethertype >> 8;
  p[13] = ethertype & 0xff;
  return p;
};
const u32At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

test('socket_filter: data_out is the input with the Ethernet header zeroed; retval is u32', () => {
  const data = pkt(40);
  const r = testRun(asm('mov %r0, -1\nexit'), { type: 'socket_filter', data });
  assert.equal(r.retval, 0xffffffff);
  assert.equal(r.r0, (1n << 64n) - 1n);
  assert.deepEqual([...r.dataOut.subarray(0, 14)], new Array(14).fill(0));
  assert.deepEqual(r.dataOut.subarray(14), data.subarray(14));
  assert.equal(r.ctxOut, undefined, 'no ctx_in, no ctx_out');
});

test('__sk_buff: ctx_in fields reach the program; ctx_out copies back what the kernel copies', () => {
  const ctx = new Uint8Array(SK_BUFF_SIZE);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(SK_BUFF.mark, 77, true);
  dv.setUint32(SK_BUFF.cb + 8, 5, true);
  dv.setUint32(SK_BUFF.gso_size, 1400, true);
  // Reads mark + cb[2], then writes mark = 9 and cb[4] = 3.
  const prog = asm(`
    ldxw %r0, [%r1+8]
    ldxw %r2, [%r1+56]
    add %r0, %r2
    stw [%r1+8], 9
    stw [%r1+64], 3
    exit`);
  const r = testRun(prog, { type: 'sched_cls', data: pkt(60), ctx });
  assert.equal(r.retval, 82);
  const out = r.ctxOut!;
  assert.equal(out.length, SK_BUFF_SIZE);
  assert.equal(u32At(out, SK_BUFF.mark), 9);
  assert.equal(u32At(out, SK_BUFF.cb + 16), 3);
  assert.equal(u32At(out, SK_BUFF.ifindex), 1);
  assert.equal(u32At(out, SK_BUFF.wire_len), 60, 'wire_len defaults to skb->len');
  assert.equal(u32At(out, SK_BUFF.gso_size), 1400, 'kept from ctx_in');
  assert.equal(u32At(out, SK_BUFF.len), 0, 'len is not copied back');
});

test('__sk_buff: fields the kernel does not accept in ctx_in are EINVAL', () => {
  const ctx = new Uint8Array(SK_BUFF_SIZE);
  ctx[SK_BUFF.len] = 1;
  assert.throws(
    () => testRun(asm('mov %r0, 0\nexit'), { type: 'sched_cls', data: pkt(60), ctx }),
    UsageError,
  );
  const long = new Uint8Array(SK_BUFF_SIZE + 8);
  long[SK_BUFF_SIZE + 3] = 1;
  assert.throws(
    () => testRun(asm('mov %r0, 0\nexit'), { type: 'sched_cls', data: pkt(60), ctx: long }),
    /past the 192-byte struct/,
  );
  assert.throws(() => testRun(asm('mov %r0, 0\nexit'), { type: 'sched_cls' }), /data_in is required/);
});

test('sched_cls reads data/data_end as arena pointers; checked mode faults past data_end', () => {
  const data = pkt(60);
  const ok = asm('ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r0, %r3\nsub %r0, %r2\nexit');
  assert.equal(testRun(ok, { type: 'sched_cls', data }).retval, 60);
  // Unverified code reading one byte past data_end: the kernel verifier would reject it.
  const past = asm('ldxw %r3, [%r1+80]\nldxb %r0, [%r3]\nexit');
  assert.throws(
    () => testRun(past, { type: 'sched_cls', data }),
    (e: unknown) => e instanceof RuntimeFault && e.kind === 'mem' && e.where.insnIdx === 1,
  );
});

test('xdp: metadata from ctx_in sits before data; data_out starts at data_meta; ctx_out is relative', () => {
  const ctx = new Uint8Array(XDP_MD_SIZE);
  const dv = new DataView(ctx.buffer);
  const data = pkt(40);
  dv.setUint32(XDP_MD.data, 8, true);
  dv.setUint32(XDP_MD.data_end, data.length, true);
  // r0 = data - data_meta, plus the first metadata byte << 8.
  const prog = asm(`
    ldxw %r2, [%r1]
    ldxw %r3, [%r1+8]
    mov %r0, %r2
    sub %r0, %r3
    ldxb %r4, [%r3+1]
    lsh %r4, 8
    or %r0, %r4
    exit`);
  const r = testRun(prog, { type: 'xdp', data, ctx });
  assert.equal(r.retval, 8 | (data[1]! << 8));
  assert.deepEqual(r.dataOut, data);
  assert.equal(u32At(r.ctxOut!, XDP_MD.data), 8);
  assert.equal(u32At(r.ctxOut!, XDP_MD.data_end), 40);
  dv.setUint32(XDP_MD.data, 6, true);
  assert.throws(() => testRun(prog, { type: 'xdp', data, ctx }), /metadata length 6/);
});

test('xdp_md is read-only in checked mode', () => {
  assert.throws(
    () => testRun(asm('stw [%r1+16], 1\nmov %r0, 2\nexit'), { type: 'xdp', data: pkt(20) }),
    (e: unknown) => e instanceof RuntimeFault && /read-only/.test(e.message),
  );
});

test('repeat runs the program N times against the same maps', () => {
  const prog: Insn[] = [
    ...asm('stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4'),
    { ...insn(0x18, 1, 1, 0, 0), imm64Hi: 0 },
    insn(0),
    ...asm('call 1\njeq %r0, 0, out\nmov %r1, 1\nlock add [%r0], %r1\nout:\nmov %r0, 0\nexit'),
  ];
  const r = testRun(prog, {
    type: 'xdp',
    data: pkt(20),
    repeat: 5,
    maps: [{ type: 'array', valueSize: 8, maxEntries: 1 }],
  });
  const m = r.maps[0] as ArrayMap;
  assert.equal(new DataView(m.get(0).buffer).getBigUint64(0, true), 5n);
  assert.ok(r.durationNs >= 0);
});

test('lddw naming a missing map is a load error', () => {
  const prog = [{ ...insn(0x18, 1, 1, 0, 3), imm64Hi: 0 }, insn(0), insn(0x95)];
  assert.throws(() => testRun(prog, { type: 'xdp', data: pkt(20) }), InputError);
});

test('syscall: ctx is a writable buffer copied back; no data allowed', () => {
  const ctx = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const r = testRun(asm('ldxw %r0, [%r1]\nstw [%r1+4], 0x11223344\nexit'), { type: 'syscall', ctx });
  assert.equal(r.retval, 0x04030201);
  assert.deepEqual([...r.ctxOut!], [1, 2, 3, 4, 0x44, 0x33, 0x22, 0x11]);
  assert.deepEqual([...ctx], [1, 2, 3, 4, 5, 6, 7, 8], 'the caller buffer is not modified');
  assert.throws(() => testRun(asm('exit'), { type: 'syscall', data: pkt(20) }), UsageError);
});

test('packet helpers: xdp_adjust_head/tail move the frame, skb_load_bytes copies from skb->data', () => {
  const data = pkt(40);
  const head = asm('mov %r6, %r1\nmov %r2, -14\ncall 44\nexit');
  const r = testRun(head, { type: 'xdp', data });
  assert.equal(r.retval, 0);
  assert.equal(r.dataOut.length, 54);
  assert.deepEqual(r.dataOut.subarray(14), data);
  const tail = testRun(asm('mov %r2, 6\ncall 65\nexit'), { type: 'xdp', data });
  assert.deepEqual(tail.dataOut, new Uint8Array([...data, 0, 0, 0, 0, 0, 0]));
  const tooFar = testRun(asm('mov %r2, -27\ncall 65\nexit'), { type: 'xdp', data });
  assert.equal(tooFar.retval, 2 ** 32 - 22, '-EINVAL: fewer than 14 bytes would remain');
  const load = asm('mov %r2, 1\nmov %r3, %r10\nadd %r3, -4\nmov %r4, 4\ncall 26\nldxw %r0, [%r10-4]\nexit');
  assert.equal(testRun(load, { type: 'socket_filter', data }).retval, u32At(data, 15), 'network header + 1');
  assert.equal(testRun(load, { type: 'sched_cls', data }).retval, u32At(data, 1), 'MAC header + 1');
  // r1 is not a packet context: the helper faults instead of guessing.
  assert.throws(() => testRun(asm('mov %r1, 0\ncall 44\nexit'), { type: 'xdp', data }), RuntimeFault);
});

test('a program that overwrites __sk_buff.data gets a fault, not a wild data_out', () => {
  assert.throws(
    () => testRun(asm('stw [%r1+76], 16\nmov %r0, 0\nexit'), { type: 'sched_cls', data: pkt(40) }),
    (e: unknown) => e instanceof RuntimeFault && /overwritten/.test(e.message),
  );
});

test('xdp fragments: bytes past 3520 are reachable through xdp_load/store_bytes and come back in data_out', () => {
  const data = pkt(4000).map((_, i) => (i * 7) & 0xff);
  const len = testRun(asm('call 188\nexit'), { type: 'xdp', data });
  assert.equal(len.retval, 4000);
  // Store 0xffffffff at offset 3518 (2 bytes linear, 2 in the first fragment), then load it back.
  const prog = asm(`
    mov %r6, %r1
    stw [%r10-8], -1
    mov %r2, 3518
    mov %r3, %r10
    add %r3, -8
    mov %r4, 4
    call 190
    mov %r1, %r6
    stw [%r10-4], 0
    mov %r2, 3516
    mov %r3, %r10
    add %r3, -4
    mov %r4, 4
    call 189
    ldxw %r0, [%r10-4]
    exit`);
  const r = testRun(prog, { type: 'xdp', data });
  assert.equal(r.retval, (0xffff0000 | data[3516]! | (data[3517]! << 8)) >>> 0);
  assert.equal(r.dataOut.length, 4000);
  assert.deepEqual(
    [...r.dataOut.subarray(3516, 3524)],
    [data[3516], data[3517], 255, 255, 255, 255, data[3522], data[3523]],
  );
  assert.equal(data[3518], (3518 * 7) & 0xff, 'the caller buffer is untouched');
});
