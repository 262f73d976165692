// A seeded generator of eBPF programs the kernel's verifier accepts (as root): straight-line ALU
// (32/64-bit, every op including cpu v4 sdiv/smod/movsx/bswap), stack and packet loads and
// stores, atomics on the stack, forward jumps of every kind, a counted loop and bpf-to-bpf calls.
// Acceptance rests on a few invariants rather than a verifier model:
//  - every scalar register is initialised in the prologue and re-initialised after anything
//    that clobbers it (calls, ld_abs/ld_ind), so all paths read initialised registers;
//  - pointers live only in reserved registers (ctx/packet/packet end/r10), never in the pool;
//  - memory accesses stay inside a stack area written in the prologue, or inside the packet
//    prefix one bounds check (`data + LEN > data_end`) proved;
//  - jumps go forward to item boundaries, so every loop is the one counted loop.
import type { Insn } from '../../src/isa/insn.ts';
import * as op from '../../src/isa/opcode.ts';

export type Rng = () => number;
export type DiffProgType = 'socket_filter' | 'xdp' | 'sched_cls';

export interface GenProgram {
  name: string;
  type: DiffProgType;
  insns: Insn[];
  data: Uint8Array;
  /** What the program exercises, for the coverage report. */
  features: Set<string>;
}

const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

/** An item is a run of instructions; a jump item's offset is fixed once items are laid out. */
type Item =
  | { kind: 'code'; insns: Insn[] }
  /** `target` is an item index once resolved; before that `frac` picks it among the later items. */
  | { kind: 'jump'; insn: Insn; target: number; frac: number; wide: boolean; rel?: number }
  | { kind: 'call'; sub: number };

interface Ctx {
  r: Rng;
  features: Set<string>;
  type: DiffProgType;
  /** Scalar registers this function may read and write. */
  pool: number[];
  /** Stack bytes [fp - stackSize, fp) are initialised. */
  stackSize: number;
  /** Packet bytes [pktReg, pktReg + pktLen) are proven in bounds (xdp and sched_cls main). */
  pktLen: number;
  pktReg: number;
  inSub: boolean;
  ldAbsAllowed: boolean;
}

const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Interesting 32-bit immediates: small, boundaries, random. */
function imm32(r: Rng): number {
  const k = r();
  if (k < 0.35) return int(r, -16, 16);
  if (k < 0.55)
    return pick(r, [0x7fffffff, -0x80000000, -1, 0xffff, 0x8000, 0xff, 0x80, 1 << 31, 63, 64, 32]) | 0;
  return (r() * 2 ** 32) | 0;
}

const SIZES = [op.SIZE_B, op.SIZE_H, op.SIZE_W, op.SIZE_DW] as const;
const sizeBytes = (s: number): number =>
  ({ [op.SIZE_B]: 1, [op.SIZE_H]: 2, [op.SIZE_W]: 4, [op.SIZE_DW]: 8 })[s]!;

function aluInsn(c: Ctx): Insn {
  const { r, pool } = c;
  const is64 = r() < 0.55;
  const cls = is64 ? op.CLASS_ALU64 : op.CLASS_ALU;
  const bits = is64 ? 64 : 32;
  const dst = pick(r, pool);
  const src = pick(r, pool);
  const f = c.features;
  const k = r();
  if (k < 0.06) {
    f.add('neg');
    return ins(cls | op.ALU_NEG, dst);
  }
  if (k < 0.14) {
    // kernel: BPF_END — ALU le/be (src bit), ALU64 bswap (cpu v4).
    const width = pick(r, [16, 32, 64]);
    if (is64) {
      f.add('bswap');
      return ins(op.CLASS_ALU64 | op.ALU_END, dst, 0, 0, width);
    }
    const be = r() < 0.5;
    f.add(be ? 'be' : 'le');
    return ins(op.CLASS_ALU | op.ALU_END | (be ? op.SRC_X : op.SRC_K), dst, 0, 0, width);
  }
  if (k < 0.22) {
    f.add('movsx');
    const off = pick(r, is64 ? [8, 16, 32] : [8, 16]);
    return ins(cls | op.ALU_MOV | op.SRC_X, dst, src, off, 0);
  }
  const aluOp = pick(r, [
    op.ALU_ADD,
    op.ALU_SUB,
    op.ALU_MUL,
    op.ALU_DIV,
    op.ALU_OR,
    op.ALU_AND,
    op.ALU_LSH,
    op.ALU_RSH,
    op.ALU_MOD,
    op.ALU_XOR,
    op.ALU_MOV,
    op.ALU_ARSH,
  ]);
  const signed = (aluOp === op.ALU_DIV || aluOp === op.ALU_MOD) && r() < 0.5;
  const off = signed ? 1 : 0;
  f.add(`${signed ? 's' : ''}${aluOpName(aluOp)}${bits}`);
  if (r() < 0.5) {
    f.add('alu-reg');
    return ins(cls | aluOp | op.SRC_X, dst, src, off, 0);
  }
  let imm = imm32(r);
  // The verifier refuses shifts by >= the width and division by a zero immediate.
  if (aluOp === op.ALU_LSH || aluOp === op.ALU_RSH || aluOp === op.ALU_ARSH) imm = int(r, 0, bits - 1);
  if ((aluOp === op.ALU_DIV || aluOp === op.ALU_MOD) && imm === 0) imm = pick(r, [-1, 3, 7]);
  return ins(cls | aluOp | op.SRC_K, dst, 0, off, imm);
}

function aluOpName(a: number): string {
  return (
    {
      [op.ALU_ADD]: 'add',
      [op.ALU_SUB]: 'sub',
      [op.ALU_MUL]: 'mul',
      [op.ALU_DIV]: 'div',
      [op.ALU_OR]: 'or',
      [op.ALU_AND]: 'and',
      [op.ALU_LSH]: 'lsh',
      [op.ALU_RSH]: 'rsh',
      [op.ALU_MOD]: 'mod',
      [op.ALU_XOR]: 'xor',
      [op.ALU_MOV]: 'mov',
      [op.ALU_ARSH]: 'arsh',
    }[a] ?? `alu${a}`
  );
}

function lddw(dst: number, r: Rng): Insn[] {
  // Now and then the 64-bit edge cases: LLONG_MIN (for sdiv/smod by -1), -1, LLONG_MAX.
  const edge =
    r() < 0.25
      ? pick(r, [
          [0, -0x80000000],
          [-1, -1],
          [-1, 0x7fffffff],
          [0, 1],
        ] as const)
      : undefined;
  const lo = edge ? edge[0] : imm32(r);
  const hi = edge ? edge[1] : imm32(r);
  return [{ code: op.OP_LDDW, dst, src: 0, off: 0, imm: lo, imm64Hi: hi }, ins(0, 0, 0, 0, hi)];
}

/** An aligned offset in [-stackSize, -size]; the kernel insists on aligned stack access. */
function stackOff(c: Ctx, size: number): number {
  return -size * int(c.r, 1, c.stackSize / size);
}

function stackItem(c: Ctx): Insn[] {
  const { r, pool, features: f } = c;
  const sz = pick(r, SIZES);
  const n = sizeBytes(sz);
  const off = stackOff(c, n);
  const k = r();
  if (k < 0.3) {
    f.add('stack-stx');
    return [ins(op.CLASS_STX | op.MODE_MEM | sz, op.REG_FP, pick(r, pool), off)];
  }
  if (k < 0.45) {
    f.add('stack-st');
    return [ins(op.CLASS_ST | op.MODE_MEM | sz, op.REG_FP, 0, off, imm32(r))];
  }
  if (k < 0.6 && sz !== op.SIZE_DW) {
    f.add('stack-ldsx');
    return [ins(op.CLASS_LDX | op.MODE_MEMSX | sz, pick(r, pool), op.REG_FP, off)];
  }
  f.add('stack-ldx');
  return [ins(op.CLASS_LDX | op.MODE_MEM | sz, pick(r, pool), op.REG_FP, off)];
}

function atomicItem(c: Ctx): Insn[] {
  const { r, pool, features: f } = c;
  const sz = r() < 0.6 ? op.SIZE_DW : op.SIZE_W;
  const off = stackOff(c, sizeBytes(sz));
  const base = pick(r, [op.ATOMIC_ADD, op.ATOMIC_OR, op.ATOMIC_AND, op.ATOMIC_XOR]);
  const k = r();
  const imm =
    k < 0.35 ? base : k < 0.7 ? base | op.ATOMIC_FETCH : k < 0.85 ? op.ATOMIC_XCHG : op.ATOMIC_CMPXCHG;
  f.add(`atomic-${imm.toString(16)}-${sz === op.SIZE_DW ? 64 : 32}`);
  // cmpxchg compares with r0 and loads into r0; r0 is in every pool.
  return [ins(op.CLASS_STX | op.MODE_ATOMIC | sz, op.REG_FP, pick(r, pool), off, imm)];
}

/** xdp/sched_cls: loads and stores inside the proven packet prefix, at any alignment. */
function packetItem(c: Ctx): Insn[] {
  const { r, pool, features: f } = c;
  let sz = pick(r, SIZES);
  while (sizeBytes(sz) > c.pktLen) sz = op.SIZE_B;
  const n = sizeBytes(sz);
  const off = int(r, 0, c.pktLen - n);
  const k = r();
  if (k < 0.35) {
    f.add('pkt-stx');
    return [ins(op.CLASS_STX | op.MODE_MEM | sz, c.pktReg, pick(r, pool), off)];
  }
  if (k < 0.45) {
    f.add('pkt-st');
    return [ins(op.CLASS_ST | op.MODE_MEM | sz, c.pktReg, 0, off, imm32(r))];
  }
  if (k < 0.55 && sz !== op.SIZE_DW) {
    f.add('pkt-ldsx');
    return [ins(op.CLASS_LDX | op.MODE_MEMSX | sz, pick(r, pool), c.pktReg, off)];
  }
  f.add('pkt-ldx');
  return [ins(op.CLASS_LDX | op.MODE_MEM | sz, pick(r, pool), c.pktReg, off)];
}

// __sk_buff fields a socket filter may read as u32 (kernel: sk_filter_is_valid_access()).
const SKB_READ = [0, 4, 8, 12, 16, 32, 40, 48, 52, 56, 60, 64];
const SKB_CB = [48, 52, 56, 60, 64];
// kernel: tc_cls_act_is_valid_access() also lets sched_cls write mark and priority.
const SKB_TC_WRITE = [...SKB_CB, 8, 32];

/** socket_filter: ld_abs/ld_ind (r6 = skb), skb field reads and cb[] writes. */
function skbItem(c: Ctx, pktAfterEth: number): Insn[] {
  const { r, pool, features: f } = c;
  const k = r();
  if (c.ldAbsAllowed && k < 0.55) {
    const sz = pick(r, [op.SIZE_B, op.SIZE_H, op.SIZE_W]);
    // Mostly inside the packet; now and then past its end, which ends the program with 0.
    const limit = r() < 0.9 ? Math.max(0, pktAfterEth - sizeBytes(sz)) : pktAfterEth + 8;
    const out: Insn[] = [];
    if (r() < 0.5) {
      f.add('ld_abs');
      out.push(ins(op.CLASS_LD | op.MODE_ABS | sz, 0, 0, 0, int(r, 0, limit)));
    } else {
      f.add('ld_ind');
      const idx = pick(
        r,
        pool.filter((x) => x > 5),
      );
      const base = int(r, 0, limit);
      out.push(ins(op.CLASS_ALU64 | op.ALU_MOV, idx, 0, 0, int(r, 0, base)));
      out.push(ins(op.CLASS_LD | op.MODE_IND | sz, 0, idx, 0, base - (out[0]!.imm ?? 0)));
    }
    // kernel: ld_abs/ld_ind clobber r1-r5 like a call.
    for (const reg of pool)
      if (reg >= 1 && reg <= 5) out.push(ins(op.CLASS_ALU64 | op.ALU_MOV, reg, 0, 0, imm32(r)));
    return out;
  }
  if (k < 0.8) {
    f.add('skb-read');
    return [ins(op.CLASS_LDX | op.MODE_MEM | op.SIZE_W, pick(r, pool), 6, pick(r, SKB_READ))];
  }
  f.add('skb-cb-write');
  return [
    ins(
      op.CLASS_STX | op.MODE_MEM | op.SIZE_W,
      6,
      pick(r, pool),
      pick(r, c.type === 'sched_cls' ? SKB_TC_WRITE : SKB_CB),
    ),
  ];
}

const COND = [
  op.JMP_JEQ,
  op.JMP_JGT,
  op.JMP_JGE,
  op.JMP_JSET,
  op.JMP_JNE,
  op.JMP_JSGT,
  op.JMP_JSGE,
  op.JMP_JLT,
  op.JMP_JLE,
  op.JMP_JSLT,
  op.JMP_JSLE,
];

function jumpItem(c: Ctx): Item {
  const { r, features: f } = c;
  const target = -1;
  const frac = r();
  const k = r();
  if (k < 0.15) {
    f.add('ja');
    return { kind: 'jump', insn: ins(op.OP_JA), target, frac, wide: false };
  }
  if (k < 0.25) {
    f.add('gotol');
    return { kind: 'jump', insn: ins(op.OP_JA32), target, frac, wide: true };
  }
  return condJump(c);
}

function condJump(c: Ctx): Item & { kind: 'jump' } {
  const { r, pool, features: f } = c;
  const target = -1;
  const frac = r();
  const cls = r() < 0.5 ? op.CLASS_JMP : op.CLASS_JMP32;
  const cond = pick(r, COND);
  f.add(`${cls === op.CLASS_JMP ? 'jmp' : 'jmp32'}-${cond.toString(16)}`);
  if (r() < 0.5)
    return {
      kind: 'jump',
      insn: ins(cls | cond | op.SRC_X, pick(r, pool), pick(r, pool)),
      target,
      frac,
      wide: false,
    };
  return {
    kind: 'jump',
    insn: ins(cls | cond | op.SRC_K, pick(r, pool), 0, 0, imm32(r)),
    target,
    frac,
    wide: false,
  };
}

/** `r9 = K; body; r9 -= 1; if r9 != 0 goto body` — the only backward jump, always bounded. */
function loopItem(c: Ctx): Insn[] {
  const { r } = c;
  c.features.add('loop');
  const inner: Ctx = { ...c, pool: c.pool.filter((x) => x !== 9) };
  const body: Insn[] = [];
  const n = int(r, 1, 4);
  for (let i = 0; i < n; i++) body.push(r() < 0.7 ? aluInsn(inner) : stackItem(inner)[0]!);
  return [
    ins(op.CLASS_ALU64 | op.ALU_MOV, 9, 0, 0, int(r, 1, 6)),
    ...body,
    ins(op.CLASS_ALU64 | op.ALU_ADD, 9, 0, 0, -1),
    ins(op.CLASS_JMP | op.JMP_JNE, 9, 0, -(body.length + 2), 0),
  ];
}

function reinit(c: Ctx, regs: number[]): Insn[] {
  return regs
    .filter((x) => c.pool.includes(x))
    .map((x) => ins(op.CLASS_ALU64 | op.ALU_MOV, x, 0, 0, imm32(c.r)));
}

/** The body of a function: `n` items, jumps resolved later. */
function body(c: Ctx, n: number, subs: number, pktAfterEth: number): Item[] {
  const { r } = c;
  const items: Item[] = [];
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.4) items.push({ kind: 'code', insns: [aluInsn(c)] });
    else if (k < 0.45) items.push({ kind: 'code', insns: lddw(pick(r, c.pool), r) });
    else if (k < 0.57) items.push({ kind: 'code', insns: stackItem(c) });
    else if (k < 0.63) items.push({ kind: 'code', insns: atomicItem(c) });
    else if (k < 0.76) {
      if (c.inSub) items.push({ kind: 'code', insns: [aluInsn(c)] });
      else if (c.type === 'xdp' || (c.type === 'sched_cls' && r() < 0.5))
        items.push({ kind: 'code', insns: packetItem(c) });
      else items.push({ kind: 'code', insns: skbItem(c, pktAfterEth) });
    } else if (k < 0.9) {
      const j = jumpItem(c);
      if (j.kind === 'jump' && (j.insn.code === op.OP_JA || j.insn.code === op.OP_JA32)) {
        // What an unconditional jump skips must stay reachable (the kernel refuses dead code):
        // an if/else, with a conditional jump over the goto.
        const cond = condJump(c);
        cond.rel = 2;
        items.push(cond);
      }
      items.push(j);
    } else if (k < 0.96 && subs > 0) {
      c.features.add('call');
      items.push({ kind: 'call', sub: int(r, 0, subs - 1) });
      items.push({ kind: 'code', insns: reinit(c, [1, 2, 3, 4, 5]) });
    } else if (!c.inSub && r() < 0.5) items.push({ kind: 'code', insns: loopItem(c) });
    else items.push({ kind: 'code', insns: [aluInsn(c)] });
  }
  return items;
}

/** Points every jump at a later item, at most `end` (the function's exit item). */
function resolveJumps(items: Item[], end: number): void {
  items.forEach((it, i) => {
    if (it.kind !== 'jump') return;
    it.target = it.rel !== undefined ? i + it.rel : Math.min(end, i + 1 + Math.floor(it.frac * (end - i)));
  });
}

/** Lays items out from `base`; returns the slot of each item (plus one past the last). */
function layout(items: Item[], base: number): number[] {
  const at: number[] = [];
  let slot = base;
  for (const it of items) {
    at.push(slot);
    slot += it.kind === 'code' ? it.insns.length : 1;
  }
  at.push(slot);
  return at;
}

function emit(items: Item[], at: number[], subStart: number[], out: Insn[]): void {
  items.forEach((it, i) => {
    if (it.kind === 'code') out.push(...it.insns);
    else if (it.kind === 'call')
      out.push(ins(op.OP_CALL, 0, op.PSEUDO_CALL, 0, subStart[it.sub]! - at[i]! - 1));
    else {
      const rel = at[it.target]! - at[i]! - 1;
      out.push(it.wide ? { ...it.insn, imm: rel } : { ...it.insn, off: rel });
    }
  });
}

function randomPacket(r: Rng, len: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = Math.floor(r() * 256);
  // Ethertypes the skb path treats differently: IPv4, IPv6, ARP, an 802.3 length, random.
  const et = pick(r, [0x0800, 0x86dd, 0x0806, 0x0040, (r() * 0x10000) | 0]);
  p[12] = et >> 8;
  p[13] = et & 0xff;
  if (r() < 0.5) p.fill(0, 0, 6); // to this host (lo's address is all zeros)
  return p;
}

export function generateProgram(r: Rng, name: string): GenProgram {
  const t = r();
  const type: DiffProgType = t < 0.4 ? 'xdp' : t < 0.7 ? 'socket_filter' : 'sched_cls';
  const direct = type !== 'socket_filter';
  const features = new Set<string>([type]);
  const nSubs = r() < 0.3 ? int(r, 1, 2) : 0;
  const len = int(r, 60, 160);
  const data = randomPacket(r, len);
  const pktLen = direct ? (r() < 0.85 ? int(r, 1, Math.min(64, len)) : int(r, len + 1, len + 16)) : 0;
  // Reserved: xdp r6 = data, r7 = data_end; socket_filter r6 = skb; sched_cls r6 = skb,
  // r7 = data, r8 = data_end. r9 is the loop counter.
  const pool =
    type === 'xdp'
      ? [0, 1, 2, 3, 4, 5, 8]
      : type === 'socket_filter'
        ? [0, 1, 2, 3, 4, 5, 7, 8]
        : [0, 1, 2, 3, 4, 5];
  const pktReg = type === 'sched_cls' ? 7 : 6;
  const c: Ctx = {
    r,
    features,
    type,
    pool,
    stackSize: 64,
    pktLen,
    pktReg,
    inSub: false,
    ldAbsAllowed: nSubs === 0 && type !== 'xdp',
  };

  const pro: Insn[] = [];
  let boundsCheck = -1;
  if (type === 'xdp') {
    // r6 = data, r7 = data_end; one bounds check proves [data, data + pktLen).
    pro.push(ins(op.CLASS_LDX | op.MODE_MEM | op.SIZE_W, 6, 1, 0));
    pro.push(ins(op.CLASS_LDX | op.MODE_MEM | op.SIZE_W, 7, 1, 4));
    pro.push(ins(op.CLASS_ALU64 | op.ALU_MOV | op.SRC_X, 8, 6));
    pro.push(ins(op.CLASS_ALU64 | op.ALU_ADD, 8, 0, 0, pktLen));
    boundsCheck = pro.push(ins(op.CLASS_JMP | op.JMP_JGT | op.SRC_X, 8, 7, 0)) - 1;
  } else {
    pro.push(ins(op.CLASS_ALU64 | op.ALU_MOV | op.SRC_X, 6, 1));
  }
  if (type === 'sched_cls') {
    // r7 = skb->data, r8 = skb->data_end, checked through r0 (initialised again below).
    pro.push(ins(op.CLASS_LDX | op.MODE_MEM | op.SIZE_W, 7, 6, 76));
    pro.push(ins(op.CLASS_LDX | op.MODE_MEM | op.SIZE_W, 8, 6, 80));
    pro.push(ins(op.CLASS_ALU64 | op.ALU_MOV | op.SRC_X, 0, 7));
    pro.push(ins(op.CLASS_ALU64 | op.ALU_ADD, 0, 0, 0, pktLen));
    boundsCheck = pro.push(ins(op.CLASS_JMP | op.JMP_JGT | op.SRC_X, 0, 8, 0)) - 1;
  }
  for (let s = 8; s <= c.stackSize; s += 8)
    pro.push(ins(op.CLASS_ST | op.MODE_MEM | op.SIZE_DW, op.REG_FP, 0, -s, imm32(r)));
  for (const reg of pool) {
    // Zeros make register division and modulo by zero (result 0 / dividend kept) show up.
    if (r() < 0.1) pro.push(ins(op.CLASS_ALU64 | op.ALU_MOV, reg, 0, 0, 0));
    else if (r() < 0.25) pro.push(...lddw(reg, r));
    else pro.push(ins(op.CLASS_ALU64 | op.ALU_MOV, reg, 0, 0, imm32(r)));
  }
  pro.push(ins(op.CLASS_ALU64 | op.ALU_MOV, 9, 0, 0, 0));

  const main = body(c, int(r, 8, 40), nSubs, len - 14);
  // The kernel refuses unreachable code: every subprogram gets called at least once.
  for (let s = 0; s < nSubs; s++) {
    if (main.some((it) => it.kind === 'call' && it.sub === s)) continue;
    c.features.add('call');
    main.push({ kind: 'call', sub: s }, { kind: 'code', insns: reinit(c, [1, 2, 3, 4, 5]) });
  }
  // Epilogue: fold a register into r0 so more of the state reaches retval.
  main.push({
    kind: 'code',
    insns: [ins(op.CLASS_ALU64 | op.ALU_XOR | op.SRC_X, 0, pick(r, pool)), ins(op.OP_EXIT)],
  });
  resolveJumps(main, main.length - 1);
  // Where a failed bounds check goes (xdp only: socket filters have no check, and the kernel
  // refuses unreachable code).
  const bail = direct ? [ins(op.CLASS_ALU64 | op.ALU_MOV, 0, 0, 0, int(r, 0, 3)), ins(op.OP_EXIT)] : [];

  const subs: Item[][] = [];
  for (let s = 0; s < nSubs; s++) {
    const sc: Ctx = { ...c, pool: [0, 1, 2, 3, 4, 5], stackSize: 32, inSub: true };
    const head: Insn[] = [ins(op.CLASS_ALU64 | op.ALU_MOV, 0, 0, 0, imm32(r))];
    for (let o = 8; o <= sc.stackSize; o += 8)
      head.push(ins(op.CLASS_ST | op.MODE_MEM | op.SIZE_DW, op.REG_FP, 0, -o, imm32(r)));
    const items: Item[] = [{ kind: 'code', insns: head }, ...body(sc, int(r, 3, 12), 0, 0)];
    items.push({ kind: 'code', insns: [ins(op.OP_EXIT)] });
    resolveJumps(items, items.length - 1);
    subs.push(items);
  }

  // Layout: prologue, main, bail, then the subprograms.
  const mainAt = layout(main, pro.length);
  const bailAt = mainAt[mainAt.length - 1]!;
  const subAt: number[][] = [];
  let next = bailAt + bail.length;
  for (const s of subs) {
    const at = layout(s, next);
    subAt.push(at);
    next = at[at.length - 1]!;
  }
  // Jumps inside a function may go to its last item (the exit), never past it.
  const subStart = subAt.map((a) => a[0]!);
  const insns: Insn[] = [...pro];
  if (boundsCheck >= 0) insns[boundsCheck]!.off = bailAt - boundsCheck - 1;
  emit(main, mainAt, subStart, insns);
  insns.push(...bail);
  subs.forEach((s, i) => {
    emit(s, subAt[i]!, subStart, insns);
  });
  return { name, type, insns, data, features };
}
