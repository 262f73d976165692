// Interpreter semantics against an independent BigInt model (seeded random operands), plus
// the checked-mode guarantees: faults name the instruction, never hang, never escape the arena.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, RuntimeFault } from '../errors.ts';
import { assembleConformance } from '../isa/asm/conformance.ts';
import { type Insn, insn } from '../isa/insn.ts';
import * as op from '../isa/opcode.ts';
import { Vm } from './vm.ts';

const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint) => v & M64;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const u32 = (v: bigint) => v & 0xffffffffn;
const s32 = (v: bigint) => BigInt.asIntN(32, v);

/** RFC 9669 §4.1 written directly on BigInts: the reference for ALU results. */
function model(aop: number, is64: boolean, a: bigint, b: bigint, off: number): bigint {
  if (is64) {
    switch (aop) {
      case op.ALU_ADD:
        return u64(a + b);
      case op.ALU_SUB:
        return u64(a - b);
      case op.ALU_MUL:
        return u64(a * b);
      case op.ALU_DIV:
        if (b === 0n) return 0n;
        return off ? u64(s64(a) / s64(b)) : a / b;
      case op.ALU_MOD:
        if (b === 0n) return a;
        return off ? u64(s64(a) % s64(b)) : a % b;
      case op.ALU_OR:
        return a | b;
      case op.ALU_AND:
        return a & b;
      case op.ALU_XOR:
        return a ^ b;
      case op.ALU_LSH:
        return u64(a << (b & 63n));
      case op.ALU_RSH:
        return a >> (b & 63n);
      case op.ALU_ARSH:
        return u64(s64(a) >> (b & 63n));
      case op.ALU_NEG:
        return u64(-a);
      case op.ALU_MOV:
        return b;
    }
  }
  const x = u32(a);
  const y = u32(b);
  switch (aop) {
    case op.ALU_ADD:
      return u32(x + y);
    case op.ALU_SUB:
      return u32(x - y);
    case op.ALU_MUL:
      return u32(x * y);
    case op.ALU_DIV:
      if (y === 0n) return 0n;
      return off ? u32(s32(x) / s32(y)) : x / y;
    case op.ALU_MOD:
      if (y === 0n) return x;
      return off ? u32(s32(x) % s32(y)) : x % y;
    case op.ALU_OR:
      return x | y;
    case op.ALU_AND:
      return x & y;
    case op.ALU_XOR:
      return x ^ y;
    case op.ALU_LSH:
      return u32(x << (y & 31n));
    case op.ALU_RSH:
      return x >> (y & 31n);
    case op.ALU_ARSH:
      return u32(s32(x) >> (y & 31n));
    case op.ALU_NEG:
      return u32(-x);
    case op.ALU_MOV:
      return y;
  }
  throw new Error(`no model for ${aop}`);
}

function jmpModel(jop: number, is64: boolean, a: bigint, b: bigint): boolean {
  const [x, y] = is64 ? [a, b] : [u32(a), u32(b)];
  const [sx, sy] = is64 ? [s64(a), s64(b)] : [s32(a), s32(b)];
  switch (jop) {
    case op.JMP_JEQ:
      return x === y;
    case op.JMP_JNE:
      return x !== y;
    case op.JMP_JSET:
      return (x & y) !== 0n;
    case op.JMP_JGT:
      return x > y;
    case op.JMP_JGE:
      return x >= y;
    case op.JMP_JLT:
      return x < y;
    case op.JMP_JLE:
      return x <= y;
    case op.JMP_JSGT:
      return sx > sy;
    case op.JMP_JSGE:
      return sx >= sy;
    case op.JMP_JSLT:
      return sx < sy;
    case op.JMP_JSLE:
      return sx <= sy;
  }
  throw new Error(`no model for ${jop}`);
}

/** xorshift32, so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  // Operands biased towards edge values, where 64-bit-in-halves code usually breaks.
  const edges = [0n, 1n, M64, 1n << 63n, (1n << 63n) - 1n, 0xffffffffn, 1n << 32n, 0x80000000n, 0x7fffffffn];
  const v64 = (): bigint => {
    const r = next() % 4;
    if (r === 0) return edges[next() % edges.length]!;
    if (r === 1) return BigInt(next() % 64);
    return (BigInt(next()) << 32n) | BigInt(next());
  };
  return { next, v64 };
}

/** lddw dst, v as two slots. */
function lddw(dst: number, v: bigint): Insn[] {
  const lo = Number(BigInt.asIntN(32, v));
  const hi = Number(BigInt.asIntN(32, v >> 32n));
  return [{ ...insn(op.OP_LDDW, dst, 0, 0, lo), imm64Hi: hi }, insn(0, 0, 0, 0, hi)];
}

const vm = new Vm({ seed: 1 });
const run = (insns: Insn[]): bigint => vm.run(vm.load(insns)).value;

const ALU_OPS = [
  op.ALU_ADD,
  op.ALU_SUB,
  op.ALU_MUL,
  op.ALU_DIV,
  op.ALU_OR,
  op.ALU_AND,
  op.ALU_LSH,
  op.ALU_RSH,
  op.ALU_NEG,
  op.ALU_MOD,
  op.ALU_XOR,
  op.ALU_MOV,
  op.ALU_ARSH,
];

test('ALU ops match the BigInt model (random operands, imm and reg, 32 and 64 bit, signed div/mod)', () => {
  const r = rng(12345);
  let checked = 0;
  for (let iter = 0; iter < 4000; iter++) {
    const aop = ALU_OPS[r.next() % ALU_OPS.length]!;
    const is64 = r.next() % 2 === 0;
    const useImm = aop === op.ALU_NEG || r.next() % 2 === 0;
    const signed = (aop === op.ALU_DIV || aop === op.ALU_MOD) && r.next() % 2 === 0 ? 1 : 0;
    const a = r.v64();
    let b = r.v64();
    const shift = aop === op.ALU_LSH || aop === op.ALU_RSH || aop === op.ALU_ARSH;
    if (shift && useImm) b = BigInt(r.next() % (is64 ? 64 : 32));
    let imm = 0;
    if (useImm) {
      imm = Number(BigInt.asIntN(32, b));
      b = is64 ? u64(BigInt(imm)) : u32(BigInt(imm)); // imm is sign-extended in 64-bit ops
    }
    const code = (is64 ? op.CLASS_ALU64 : op.CLASS_ALU) | aop | (useImm ? op.SRC_K : op.SRC_X);
    const prog = [...lddw(0, a), ...lddw(2, b), insn(code, 0, 2, signed, imm), insn(op.OP_EXIT)];
    const want = model(aop, is64, a, b, signed);
    assert.equal(run(prog), want, `${code.toString(16)} off=${signed} a=${a} b=${b}`);
    checked++;
  }
  assert.equal(checked, 4000);
});

test('conditional jumps match the BigInt model', () => {
  const r = rng(777);
  const jops = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
  for (let iter = 0; iter < 3000; iter++) {
    const jop = jops[r.next() % jops.length]!;
    const is64 = r.next() % 2 === 0;
    const useImm = r.next() % 2 === 0;
    let a = r.v64();
    let b = r.v64();
    if (r.next() % 4 === 0) a = b; // equal operands exercise the >= / <= edges
    let imm = 0;
    if (useImm) {
      imm = Number(BigInt.asIntN(32, b));
      b = u64(BigInt(imm));
    }
    const code = (is64 ? op.CLASS_JMP : op.CLASS_JMP32) | jop | (useImm ? op.SRC_K : op.SRC_X);
    const prog = [
      ...lddw(1, a),
      ...lddw(2, b),
      insn(op.CLASS_ALU64 | op.ALU_MOV, 0, 0, 0, 0),
      insn(code, 1, 2, 1, imm),
      insn(op.OP_EXIT),
      insn(op.CLASS_ALU64 | op.ALU_MOV, 0, 0, 0, 1),
      insn(op.OP_EXIT),
    ];
    assert.equal(run(prog), jmpModel(jop, is64, a, b) ? 1n : 0n, `${code.toString(16)} a=${a} b=${b}`);
  }
});

test('movsx, bswap and le/be against the model', () => {
  const r = rng(99);
  const swap = (v: bigint, bytes: number) => {
    let out = 0n;
    for (let i = 0; i < bytes; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  for (let iter = 0; iter < 500; iter++) {
    const a = r.v64();
    const cases: [Insn, bigint][] = [
      [insn(0xbf, 0, 1, 8), u64(BigInt.asIntN(8, a))],
      [insn(0xbf, 0, 1, 16), u64(BigInt.asIntN(16, a))],
      [insn(0xbf, 0, 1, 32), u64(BigInt.asIntN(32, a))],
      [insn(0xbc, 0, 1, 8), u32(BigInt.asIntN(8, a))],
      [insn(0xbc, 0, 1, 16), u32(BigInt.asIntN(16, a))],
      [insn(0xd7, 0, 0, 0, 16), swap(a, 2)],
      [insn(0xd7, 0, 0, 0, 32), swap(a, 4)],
      [insn(0xd7, 0, 0, 0, 64), swap(a, 8)],
      [insn(0xdc, 0, 0, 0, 16), swap(a, 2)],
      [insn(0xdc, 0, 0, 0, 64), swap(a, 8)],
      [insn(0xd4, 0, 0, 0, 16), a & 0xffffn],
      [insn(0xd4, 0, 0, 0, 32), a & 0xffffffffn],
      [insn(0xd4, 0, 0, 0, 64), a],
    ];
    for (const [i, want] of cases) {
      const mov = i.code === 0xbf || i.code === 0xbc;
      const prog = [...lddw(mov ? 1 : 0, a), i, insn(op.OP_EXIT)];
      assert.equal(run(prog), want, `${i.code.toString(16)}/${i.off}/${i.imm} of ${a}`);
    }
  }
});

test('atomics: fetch variants return the old value; cmpxchg compares r0', () => {
  const r = rng(5);
  for (let iter = 0; iter < 300; iter++) {
    const old = r.v64();
    const v = r.v64();
    const is64 = r.next() % 2 === 0;
    const imms = [0x00, 0x40, 0x50, 0xa0];
    const k = r.next() % 4;
    const fetch = r.next() % 2 === 1;
    const imm = imms[k]! | (fetch ? 1 : 0);
    const o = is64 ? old : u32(old);
    const w = is64 ? v : u32(v);
    const res = [o + w, o | w, o & w, o ^ w][k]!;
    const prog = [
      ...lddw(1, old),
      insn(0x7b, 10, 1, -8), // *(u64 *)(r10 - 8) = old
      ...lddw(2, v),
      insn(is64 ? 0xdb : 0xc3, 10, 2, -8, imm),
      insn(is64 ? 0x79 : 0x61, 0, 10, -8),
      insn(op.OP_EXIT),
    ];
    assert.equal(run(prog), is64 ? u64(res) : u32(res));
    if (fetch) {
      const prog2 = [...prog.slice(0, -2), insn(0xbf, 0, 2), insn(op.OP_EXIT)];
      assert.equal(run(prog2), o, 'fetch returns the old value, zero-extended for 32-bit');
    }
  }
  const cmpxchg = (r0: bigint, mem: bigint) =>
    run([
      ...lddw(1, mem),
      insn(0x7b, 10, 1, -8),
      ...lddw(0, r0),
      insn(op.CLASS_ALU64 | op.ALU_MOV | op.SRC_K, 2, 0, 0, 42),
      insn(0xdb, 10, 2, -8, op.ATOMIC_CMPXCHG),
      insn(0x79, 3, 10, -8),
      insn(0x67, 0, 0, 0, 8), // r0 <<= 8 (returned old value) ...
      insn(0x4f, 0, 3), // ... | memory after
      insn(op.OP_EXIT),
    ]);
  assert.equal(cmpxchg(5n, 5n), (5n << 8n) | 42n, 'equal: stores src');
  assert.equal(cmpxchg(5n, 6n), (6n << 8n) | 6n, 'different: leaves memory');
});

test('bpf-to-bpf calls: r6-r9 restored, own stack per frame, depth limit of 8', () => {
  const prog = assembleConformance(`
    mov %r6, 11
    stdw [%r10-8], 100
    call local f
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    add %r0, %r6
    exit
  f:
    mov %r6, 99
    stdw [%r10-8], 5
    ldxdw %r0, [%r10-8]
    exit`);
  assert.equal(run(prog), 5n + 100n + 11n);
  // Recursion without a base case: the 9th frame faults.
  const deep = assembleConformance('call local f\nexit\nf:\ncall local f\nexit');
  assert.throws(
    () => run(deep),
    (e: unknown) => e instanceof RuntimeFault && e.kind === 'call' && /too deep/.test(e.message),
  );
});

test('checked mode: NULL, out-of-region and read-only accesses fault with insn, opcode and address', () => {
  const nul = [insn(op.CLASS_ALU64 | op.ALU_MOV, 1, 0, 0, 0), insn(0x61, 0, 1, 16), insn(op.OP_EXIT)];
  assert.throws(
    () => run(nul),
    (e: unknown) =>
      e instanceof RuntimeFault &&
      e.kind === 'mem' &&
      e.where.insnIdx === 1 &&
      /0x10/.test(e.message) &&
      /NULL/.test(e.message) &&
      /opcode 0x61/.test(e.message),
  );
  // One byte above the outermost frame's stack.
  assert.throws(
    () => run([insn(0x72, 10, 0, 0, 1), insn(op.OP_EXIT)]),
    (e: unknown) => e instanceof RuntimeFault && e.where.insnIdx === 0,
  );
  const ro = vm.arena.alloc(16, 8, { kind: 'ctx', writable: false, name: 'ro' });
  try {
    const p = vm.load([insn(0x62, 1, 0, 0, 7), insn(op.OP_EXIT)]);
    assert.throws(
      () => vm.run(p, { args: [ro] }),
      (e: unknown) => e instanceof RuntimeFault && /read-only/.test(e.message),
    );
    const rd = vm.load([insn(0x61, 0, 1, 12), insn(op.OP_EXIT)]);
    assert.equal(vm.run(rd, { args: [ro] }).value, 0n, 'reading it is fine');
    const past = vm.load([insn(0x61, 0, 1, 13), insn(op.OP_EXIT)]);
    assert.throws(() => vm.run(past, { args: [ro] }), RuntimeFault, '4 bytes at offset 13 cross the end');
  } finally {
    vm.arena.freeBlock(ro);
  }
  // A pointer with a non-zero high half is never an arena address.
  assert.throws(
    () => run([...lddw(1, (1n << 32n) | 0x2000n), insn(0x71, 0, 1, 0), insn(op.OP_EXIT)]),
    RuntimeFault,
  );
});

test('unchecked mode still turns accesses outside the arena into RuntimeFault', () => {
  const fast = new Vm({ checked: false });
  const p = fast.load([...lddw(1, 0x7ffffff0n), insn(0x79, 0, 1, 0), insn(op.OP_EXIT)]);
  assert.throws(() => fast.run(p), RuntimeFault);
});

test('the instruction budget stops infinite loops', () => {
  const small = new Vm({ budget: 10_000 });
  const p = small.load([insn(op.OP_JA, 0, 0, -1), insn(op.OP_EXIT)]);
  assert.throws(
    () => small.run(p),
    (e: unknown) => e instanceof RuntimeFault && e.kind === 'budget' && e.where.insnIdx === 0,
  );
});

test('falling off the end faults at run time', () => {
  assert.throws(
    () => run([insn(op.CLASS_ALU64 | op.ALU_MOV, 0, 0, 0, 1)]),
    (e: unknown) => e instanceof RuntimeFault && /fell off/.test(e.message),
  );
});

test('load rejects bad programs with the instruction index', () => {
  const bad = (insns: Insn[], re: RegExp, idx: number) =>
    assert.throws(
      () => vm.load(insns),
      (e: unknown) => e instanceof InputError && re.test(e.message) && e.where.insnIdx === idx,
    );
  bad([insn(op.OP_CALL, 0, 0, 0, 999_999), insn(op.OP_EXIT)], /unknown helper function id 999999/, 0);
  bad([insn(op.OP_EXIT), insn(op.OP_JA, 0, 0, 5)], /jump out of range/, 1);
  bad([insn(op.OP_JA, 0, 0, 1), ...lddw(0, 1n), insn(op.OP_EXIT)], /middle of lddw/, 0);
  bad([insn(0xff), insn(op.OP_EXIT)], /invalid ALU opcode 0xff/, 0);
  bad([insn(0xe1), insn(op.OP_EXIT)], /invalid opcode 0xe1/, 0);
  bad([insn(op.CLASS_ALU64 | op.ALU_MOV, 10, 0, 0, 0), insn(op.OP_EXIT)], /r10 is read only/, 0);
  bad([insn(op.CLASS_ALU64 | op.ALU_MOV, 11, 0, 0, 0), insn(op.OP_EXIT)], /invalid register/, 0);
  bad([insn(op.OP_LDDW)], /lddw without/, 0);
  bad([insn(0xdb, 1, 10, 0, op.ATOMIC_XCHG), insn(op.OP_EXIT)], /r10 is read only/, 0);
  bad([insn(0xc3, 1, 10, 0, op.ATOMIC_ADD | op.ATOMIC_FETCH), insn(op.OP_EXIT)], /r10 is read only/, 0);
  bad([insn(0xdb, 10, 1, -8, op.ATOMIC_LOAD_ACQ), insn(op.OP_EXIT)], /r10 is read only/, 0);
  bad([insn(0xdb, 1, 2, 0, 0x10), insn(op.OP_EXIT)], /invalid atomic/, 0);
  bad([{ ...insn(op.OP_LDDW, 1, 1, 0, 0), imm64Hi: 0 }, insn(0), insn(op.OP_EXIT)], /needs a loader/, 0);
});

test('LD_ABS without a packet faults; with one it reads big-endian and ends on out-of-bounds', () => {
  const p = vm.load([insn(0x28, 0, 0, 0, 1), insn(op.OP_EXIT)]);
  assert.throws(() => vm.run(p), RuntimeFault);
  const buf = vm.arena.alloc(4, 8, { kind: 'packet', writable: false });
  try {
    vm.arena.write(buf, new Uint8Array([0x12, 0x34, 0x56, 0x78]));
    assert.equal(vm.run(p, { packet: { start: buf, len: 4 } }).value, 0x3456n);
    const oob = vm.load([
      insn(0x20, 0, 0, 0, 1),
      insn(op.CLASS_ALU64 | op.ALU_MOV, 0, 0, 0, 9),
      insn(op.OP_EXIT),
    ]);
    assert.equal(vm.run(oob, { packet: { start: buf, len: 4 } }).value, 0n);
  } finally {
    vm.arena.freeBlock(buf);
  }
});

test('run() arguments: r1..r5 and the result getters', () => {
  const p = vm.load(assembleConformance('mov %r0, %r1\nadd %r0, %r5\nexit'));
  const r = vm.run(p, { args: [-1, 0, 0, 0, 2] });
  assert.equal(r.value, 1n, '-1 is taken as u64 all-ones; + 2 wraps to 1');
  assert.equal(r.lo, 1);
  assert.equal(r.hi, 0);
  assert.equal(r.insns, 3);
});

test('may_goto falls through BPF_MAX_LOOPS times per frame, then jumps', () => {
  // r0 counts how often the loop body ran before may_goto jumped out.
  const prog = [
    insn(op.CLASS_ALU64 | op.ALU_MOV, 0, 0, 0, 0),
    insn(op.OP_MAY_GOTO, 0, 0, 2),
    insn(op.CLASS_ALU64 | op.ALU_ADD, 0, 0, 0, 1),
    insn(op.OP_JA, 0, 0, -3),
    insn(op.OP_EXIT),
  ];
  assert.equal(run(prog), 8n * 1024n * 1024n);
  assert.throws(() => vm.load([insn(op.OP_MAY_GOTO, 0, 1, 0), insn(op.OP_EXIT)]), /only an offset/);
});
