import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeError } from '../../src/errors.ts';
import { decodeProgram } from '../../src/isa/decode.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { lddwValue } from '../../src/isa/insn.ts';
import { validateProgram } from '../../src/isa/valid.ts';

/** Bytes from little-endian u64 slot words. */
function words(...ws: bigint[]): Uint8Array {
  const b = new Uint8Array(ws.length * 8);
  const v = new DataView(b.buffer);
  for (const [k, w] of ws.entries()) v.setBigUint64(k * 8, w, true);
  return b;
}
const EXIT = 0x95n;

function rejects(bytes: Uint8Array, idx: number, re: RegExp): void {
  assert.throws(
    () => decodeProgram(bytes, { file: 'p.o' }),
    (e: unknown) =>
      e instanceof DecodeError && e.where.insnIdx === idx && e.where.file === 'p.o' && re.test(e.message),
  );
}

test('decodes fields little-endian with sign', () => {
  // *(u32 *)(r10 - 8) = -1: code 0x62, dst 10, off -8, imm -1
  const [st] = decodeProgram(words(0xffffffff_fff8_0a62n, EXIT));
  assert.deepEqual(st, { code: 0x62, dst: 10, src: 0, off: -8, imm: -1 });
  const [mov] = decodeProgram(words(0x00000000_0000_21bfn, EXIT)); // r1 = r2
  assert.deepEqual([mov!.dst, mov!.src], [1, 2]);
});

test('lddw fills imm64Hi and keeps its second slot', () => {
  const p = decodeProgram(words(0x55667788_0000_0118n, 0x11223344_0000_0000n, EXIT));
  assert.equal(p.length, 3);
  assert.equal(p[0]!.imm64Hi, 0x11223344);
  assert.equal(lddwValue(p[0]!), 0x1122334455667788n);
  assert.deepEqual(p[1], { code: 0, dst: 0, src: 0, off: 0, imm: 0x11223344 });
  assert.deepEqual(encodeProgram(p), words(0x55667788_0000_0118n, 0x11223344_0000_0000n, EXIT));
});

test('accepts cpu v4 and legacy forms', () => {
  const ok: bigint[] = [
    0x00000000_0001_213fn, // r1 s/= r2 (sdiv64)
    0x00000000_0008_21bfn, // r1 = (s8)r2
    0x00000000_0020_21bfn, // r1 = (s32)r2
    0x00000000_0010_21bcn, // w1 = (s16)w2
    0x00000000_fffe_a089n, // r0 = *(s16 *)(r10 - 2)
    0x00000040_0000_01d7n, // bswap64
    0x00000010_0000_01dcn, // be16
    0x000000f1_fff8_1adbn, // cmpxchg_64
    0x000000e1_fffc_1ac3n, // xchg32
    0x00000001_fff8_1adbn, // fetch add
    0x00000000_0000_028dn, // callx r2
    0x00000017_0000_0020n, // ld_abs w
    0x00000017_0000_1050n, // ld_ind b
    0x00000000_0000_0006n, // gotol +0
  ];
  assert.equal(decodeProgram(words(...ok, EXIT)).length, ok.length + 1);
  // pseudo lddw src 1..6
  for (let s = 1n; s <= 6n; s++) decodeProgram(words((1n << 32n) | 0x118n | (s << 12n), 0n, EXIT));
});

test('rejects structural garbage with the slot and reason', () => {
  rejects(new Uint8Array(12), 1, /multiple of 8/);
  rejects(words(0x07n | 0xffn), 0, /unknown opcode 0xff/);
  rejects(words(0x00n, EXIT), 0, /unknown opcode 0x00/);
  rejects(words(0xb7n | (11n << 8n), EXIT), 0, /r11/); // mov r11, 0
  rejects(words(0xb7n | (10n << 8n), EXIT), 0, /r10/); // r10 = 0
  rejects(words(0xb7n | (1n << 12n), EXIT), 0, /reserved/); // K op with src
  rejects(words(0x118n), 0, /second slot/);
  rejects(words(0x118n, 0x100n, EXIT), 1, /second slot/);
  rejects(words(0x118n | (7n << 12n), 0n, EXIT), 0, /pseudo/);
  rejects(words(0x118n | (1n << 12n), 1n << 32n, EXIT), 0, /map fd/);
  rejects(words(0x05n | (5n << 16n), EXIT), 0, /out of range/);
});

test('jump target checks', () => {
  // goto -1 from slot 0 targets slot 0 (an infinite loop, legal structurally)
  decodeProgram(words(0x05n | (0xffffn << 16n), EXIT));
  rejects(words(0x05n | (0xfffen << 16n), EXIT), 0, /out of range from insn 0 to -1/);
  // goto +1 lands on lddw's second slot
  rejects(words(0x05n | (1n << 16n), 0x18n, 0n, EXIT), 0, /middle of lddw/);
  // call pc+5 out of range; gotol imm
  rejects(words(0x85n | (1n << 12n) | (5n << 32n), EXIT), 0, /out of range/);
  rejects(words(0x06n | (9n << 32n), EXIT), 0, /out of range/);
});

test('wrong imm / offsets', () => {
  rejects(words(0xd4n | (8n << 32n), EXIT), 0, /16, 32 or 64/);
  rejects(words(0xdbn | (0x02n << 32n), EXIT), 0, /atomic/);
  rejects(words(0xd3n | (0x01n << 32n), EXIT), 0, /atomic/); // fetch add on u8
  rejects(words(0xbfn | (0x10n << 8n) | (7n << 16n), EXIT), 0, /movsx/);
  rejects(words(0xbcn | (0x10n << 8n) | (32n << 16n), EXIT), 0, /movsx/); // (s32) only in alu64
  rejects(words(0x3fn | (0x10n << 8n) | (2n << 16n), EXIT), 0, /div\/mod/);
  rejects(words(0x95n | (1n << 8n)), 0, /exit/);
  rejects(words(0x8dn | (5n << 32n), EXIT), 0, /callx/);
  rejects(words(0xdbn | (0xa1n << 8n) | (0x01n << 32n), EXIT), 0, /r10/); // fetch add returns into src=r10
});

test('validateProgram reuses the same rules', () => {
  const bad: Insn[] = [{ code: 0x07, dst: 0, src: 0, off: 1, imm: 0 }];
  assert.throws(() => validateProgram(bad, { file: 'x' }), DecodeError);
  validateProgram([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }]);
});
