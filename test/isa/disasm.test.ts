import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleConformance } from '../../src/isa/asm/conformance.ts';
import { disasmInsn, disassemble, formatKernelInsn } from '../../src/isa/disasm.ts';
import { HELPER_NAMES, helperId, helperName } from '../../src/isa/helper-names.ts';
import type { Insn } from '../../src/isa/insn.ts';

const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });
const one = (i: Insn): string => disasmInsn([i], 0);

test('LLVM syntax for each class', () => {
  const cases: [Insn, string][] = [
    [I(0x61, 0, 1, 4), 'r0 = *(u32 *)(r1 + 4)'],
    [I(0x7b, 10, 1, -8), '*(u64 *)(r10 - 8) = r1'],
    [I(0x62, 10, 0, -8, 5), '*(u32 *)(r10 - 8) = 5'],
    [I(0x04, 0, 0, 0, 1), 'w0 += 1'],
    [I(0x87), 'r0 = -r0'],
    [I(0x84, 3), 'w3 = -w3'],
    [I(0x25, 1, 0, 3, 10), 'if r1 > 10 goto +3'],
    [I(0xce, 1, 2, -2), 'if w1 s< w2 goto -2'],
    [I(0x05, 0, 0, 5), 'goto +5'],
    [I(0x06, 0, 0, 0, 100000), 'gotol +100000'],
    [I(0xe5, 0, 0, 3), 'may_goto +3'],
    [I(0x85, 0, 0, 0, 1), 'call 1'],
    [I(0x85, 0, 1, 0, 3), 'call pc+3'],
    [I(0x85, 0, 2, 0, 77), 'call kfunc(77)'],
    [I(0x8d, 2), 'callx r2'],
    [I(0x95), 'exit'],
    [I(0xbf, 0, 1, 8), 'r0 = (s8)r1'],
    [I(0xbc, 0, 1, 16), 'w0 = (s16)w1'],
    [I(0x89, 0, 1, 2), 'r0 = *(s16 *)(r1 + 2)'],
    [I(0xd7, 0, 0, 0, 16), 'r0 = bswap16 r0'],
    [I(0xdc, 0, 0, 0, 16), 'r0 = be16 r0'],
    [I(0xd4, 5, 0, 0, 64), 'r5 = le64 r5'],
    [I(0x3f, 1, 2, 1), 'r1 s/= r2'],
    [I(0x94, 1, 0, 1, 3), 'w1 s%= 3'],
    [I(0xc7, 1, 0, 0, 3), 'r1 s>>= 3'],
    [I(0xdb, 10, 1, -8, 0x00), 'lock *(u64 *)(r10 - 8) += r1'],
    [I(0xc3, 10, 1, -8, 0x40), 'lock *(u32 *)(r10 - 8) |= w1'],
    [I(0xdb, 10, 0, -8, 0x01), 'r0 = atomic_fetch_add((u64 *)(r10 - 8), r0)'],
    [I(0xc3, 10, 0, -8, 0xa1), 'w0 = atomic_fetch_xor((u32 *)(r10 - 8), w0)'],
    [I(0xdb, 10, 0, -8, 0xe1), 'r0 = xchg_64(r10 - 8, r0)'],
    [I(0xc3, 10, 0, -8, 0xe1), 'w0 = xchg32_32(r10 - 8, w0)'],
    [I(0xdb, 10, 1, -8, 0xf1), 'r0 = cmpxchg_64(r10 - 8, r0, r1)'],
    [I(0xc3, 10, 1, -8, 0xf1), 'w0 = cmpxchg32_32(r10 - 8, w0, w1)'],
    [I(0x30, 0, 0, 0, 23), 'r0 = *(u8 *)skb[23]'],
    [I(0x48, 0, 1), 'r0 = *(u16 *)skb[r1]'],
    [I(0x40, 0, 1, 0, -4), 'r0 = *(u32 *)skb[r1 - 4]'],
    [I(0xbf, 1, 2, 1, 1), 'r1 = addr_space_cast(r2, 0, 1)'],
  ];
  for (const [i, s] of cases) assert.equal(one(i), s);
});

test('lddw and its pseudo forms', () => {
  const ld = (src: number, lo: number, hi: number) =>
    disasmInsn([{ ...I(0x18, 1, src, 0, lo), imm64Hi: hi }, I(0, 0, 0, 0, hi)], 0);
  assert.equal(ld(0, 0x34567890, 0x12), 'r1 = 0x1234567890 ll');
  assert.equal(ld(0, -1, -1), 'r1 = 0xffffffffffffffff ll');
  assert.equal(ld(1, 3, 0), 'r1 = map_fd(3) ll');
  assert.equal(ld(2, 3, 8), 'r1 = map_value(3, 8) ll');
  assert.equal(ld(3, 42, 0), 'r1 = btf_id(42) ll');
  assert.equal(ld(4, 3, 0), 'r1 = func(+3) ll');
  assert.equal(ld(5, 0, 0), 'r1 = map_idx(0) ll');
  assert.equal(ld(6, 1, 16), 'r1 = map_idx_value(1, 16) ll');
});

test('program options: slot numbers, labels, helper names', () => {
  const p = assembleConformance('lddw %r1, 1\njeq %r1, 0, out\ncall 1\nout:\nexit');
  assert.equal(disassemble(p), 'r1 = 0x1 ll\nif r1 == 0 goto +1\ncall 1\nexit');
  assert.equal(
    disassemble(p, { slotNumbers: true }),
    '0: r1 = 0x1 ll\n2: if r1 == 0 goto +1\n3: call 1\n4: exit',
  );
  assert.equal(
    disassemble(p, { labels: true, helperNames: true }),
    'r1 = 0x1 ll\nif r1 == 0 goto L4\ncall bpf_map_lookup_elem#1\nL4:\nexit',
  );
});

test('kernel verifier-log flavour', () => {
  const k = (i: Insn, extra: Insn[] = []) => formatKernelInsn([i, ...extra], 0);
  assert.equal(k(I(0xbf, 6, 1)), '(bf) r6 = r1');
  assert.equal(k(I(0x85, 0, 0, 0, 1)), '(85) call bpf_map_lookup_elem#1');
  assert.equal(k(I(0x85, 0, 0, 0, 9999)), '(85) call unknown#9999');
  assert.equal(k(I(0x85, 0, 1, 0, -3)), '(85) call pc-3');
  assert.equal(k(I(0x85, 0, 2, 0, 5)), '(85) call kernel-function#5');
  assert.equal(k({ ...I(0x18, 1, 1, 0, 5), imm64Hi: 0 }, [I(0)]), '(18) r1 = 0x5');
  assert.equal(
    formatKernelInsn([{ ...I(0x18, 1, 1, 0, 5), imm64Hi: 0 }, I(0)], 0, { allowPtrLeaks: false }),
    '(18) r1 = 0x0',
  );
  assert.equal(k(I(0x7b, 10, 1, -8)), '(7b) *(u64 *)(r10 -8) = r1');
  assert.equal(k(I(0x61, 0, 1, 0)), '(61) r0 = *(u32 *)(r1 +0)');
  assert.equal(k(I(0x15, 0, 0, 1, 0)), '(15) if r0 == 0x0 goto pc+1');
  assert.equal(k(I(0x16, 1, 0, -1, -1)), '(16) if w1 == 0xffffffff goto pc-1');
  assert.equal(k(I(0x05, 0, 0, 0)), '(05) goto pc+0');
  assert.equal(k(I(0x07, 10, 0, 0, -8)), '(07) r10 += -8');
  assert.equal(k(I(0xb4, 0, 0, 0, 0)), '(b4) w0 = 0');
  assert.equal(k(I(0xdc, 1, 0, 0, 16)), '(dc) r1 = be16 r1');
  assert.equal(k(I(0xdb, 10, 1, -8, 0)), '(db) lock *(u64 *)(r10 -8) += r1');
  assert.equal(k(I(0xdb, 10, 1, -8, 1)), '(db) r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)');
  assert.equal(k(I(0xc3, 10, 1, -4, 0xf1)), '(c3) r0 = atomic_cmpxchg((u32 *)(r10 -4), r0, r1)');
  assert.equal(k(I(0xbf, 0, 1, 32)), '(bf) r0 = (s32)r1');
  assert.equal(k(I(0x95)), '(95) exit');
});

test('helper table', () => {
  assert.equal(HELPER_NAMES.length, 212);
  assert.equal(helperName(1), 'bpf_map_lookup_elem');
  assert.equal(helperName(5), 'bpf_ktime_get_ns');
  assert.equal(helperName(12), 'bpf_tail_call');
  assert.equal(helperName(130), 'bpf_ringbuf_output');
  assert.equal(helperName(211), 'bpf_cgrp_storage_delete');
  assert.equal(helperName(212), undefined);
  assert.equal(helperId('map_update_elem'), 2);
  assert.equal(helperId('bpf_trace_printk'), 6);
  assert.equal(helperId('nope'), undefined);
});
