// Families without maps or packets: scalar ALU, the stack, ctx fields, loops, returns, and
// structural breakage of the instruction stream. Each mixes well-typed code with near misses.
import * as op from '../../../../src/isa/opcode.ts';
import { ALL_TYPES, type Asm, PKT_TYPES, SIZES, sizeBytes, unknownScalar } from './asm.ts';

const ALU = ['+=', '-=', '*=', '/=', '%=', '|=', '&=', '^=', '<<=', '>>=', 's>>=', 's/=', 's%='];
const JMP = ['==', '!=', '>', '>=', '<', '<=', 's>', 's>=', 's<', 's<=', '&'];
const IMMS = [0, 1, -1, 2, 7, 8, 31, 32, 63, 64, 255, 0x7fffffff, -0x80000000, 4096];

export function scalarAlu(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  const regs = ['r0', 'r2', 'r3', 'r4', 'r5', 'r7', 'r8', 'r9'];
  const inited = regs.filter(() => r.chance(0.97));
  for (const g of inited) a.emit(`${g} = ${r.pick(IMMS)}`);
  if (inited.length < regs.length) a.tag('maybe-uninit');
  const n = r.int(2, 10);
  for (let i = 0; i < n; i++) {
    const w = r.chance(0.3);
    const reg = (g: string): string => (w ? g.replace('r', 'w') : g);
    const dst = r.pick(regs);
    const o = r.pick(ALU);
    const k = r.next();
    if (k < 0.5) {
      let imm = r.pick(IMMS);
      if ((o === '/=' || o === '%=' || o === 's/=' || o === 's%=') && r.chance(0.3)) imm = 0;
      a.emit(`${reg(dst)} ${o} ${imm}`);
      if (imm === 0 && o.includes('/')) a.tag('div-by-zero-imm');
      if (o.includes('<<') || o.includes('>>')) a.tag('shift-imm');
    } else if (k < 0.85) {
      a.emit(`${reg(dst)} ${o} ${reg(r.pick(regs))}`);
    } else if (k < 0.9) {
      a.emit(`${reg(dst)} = -${reg(dst)}`);
    } else if (k < 0.95) {
      a.emit(`${dst} = ${r.pick(['be16', 'be32', 'be64', 'le16', 'le32'])} ${dst}`);
    } else {
      a.emit(`${dst} = (${r.pick(['s8', 's16', 's32'])})${r.pick(regs)}`);
    }
    if (r.chance(0.15)) {
      const l = a.label();
      a.emit(`if ${reg(r.pick(regs))} ${r.pick(JMP)} ${r.pick(IMMS)} goto ${l}`, `${dst} = 1`, `${l}:`);
    }
  }
  if (r.chance(0.08)) {
    a.tag('write-r10');
    // the assembler refuses r10 as a destination: a marker insn becomes the write
    a.emit('r9 = 0x5ead');
    const form = r.pick([0xbf, 0x07, 0xb4, 0xb7]);
    a.patches.push((p) => {
      const i = p.findIndex((x) => x.code === 0xb7 && x.dst === 9 && x.imm === 0x5ead);
      if (i >= 0)
        p[i] = { code: form, dst: 10, src: form === 0xbf ? 1 : 0, off: 0, imm: form === 0xbf ? 0 : 8 };
    });
  }
  if (r.chance(0.1)) {
    a.tag('read-r1-after-call');
    a.emit('call 7', 'r0 = r1');
  }
  if (r.chance(0.05)) a.tag('no-r0');
  else if (!inited.includes('r0')) a.emit(`r0 = ${r.pick(regs)}`);
  a.emit('exit');
}

const STACK_OFFS = [-8, -16, -24, -64, -256, -504, -508, -512, -513, -516, -520, 0, 8, -4, -3, -1, -2, -511];

export function stack(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  a.emit('r6 = r1', 'r7 = 42');
  const n = r.int(1, 4);
  for (let i = 0; i < n; i++) {
    const sz = r.pick(SIZES);
    const off = r.chance(0.7) ? -8 * r.int(1, 64) : r.pick(STACK_OFFS);
    const k = r.next();
    const at = `*(${sz} *)(r10 ${off < 0 ? '-' : '+'} ${Math.abs(off)})`;
    if (k < 0.3) a.emit(`${at} = r7`);
    else if (k < 0.45) a.emit(`${at} = ${r.pick(IMMS)}`);
    else if (k < 0.75) a.emit(`r7 = ${at}`);
    else if (k < 0.85) {
      // spill a pointer, refill (maybe partially, maybe after clobbering a byte), dereference
      a.tag('spill-ptr');
      a.emit(`*(u64 *)(r10 - ${8 * r.int(1, 4)}) = r6`);
      if (r.chance(0.3)) a.emit(`*(u8 *)(r10 - ${r.pick([8, 9, 12, 16, 25])}) = r7`);
      a.emit(`r2 = *(${r.chance(0.7) ? 'u64' : r.pick(SIZES)} *)(r10 - ${8 * r.int(1, 4)})`);
      a.emit(`r0 = *(u32 *)(r2 + 0)`);
    } else if (k < 0.93) {
      a.tag('stack-var-off');
      unknownScalar(a, 'r2');
      if (r.chance(0.6)) a.emit(`r2 &= ${r.pick([7, 15, 63, 255, 511, 512, -8])}`);
      a.emit('r3 = r10', `r3 += ${r.pick([-16, -64, -512, -8, 0])}`, 'r3 += r2');
      a.emit(r.chance(0.5) ? `*(${sz} *)(r3 + 0) = r7` : `r7 = *(${sz} *)(r3 + 0)`);
    } else {
      a.tag('atomic-stack');
      a.emit(`*(u64 *)(r10 - 8) = r7`);
      a.emit(
        r.pick([
          'lock *(u64 *)(r10 - 8) += r7',
          'lock *(u32 *)(r10 - 8) += r7',
          'r7 = atomic_fetch_add((u64 *)(r10 - 8), r7)',
          'lock *(u64 *)(r10 - 4) += r7',
        ]),
      );
    }
    if (off === 0 || off > 0 || off < -512 || (off + sizeBytes(sz) > 0 && off < 0)) a.tag('stack-oob');
  }
  a.emit('r0 = r7', 'exit');
}

/** Offsets worth reading in each context, valid or not. */
const CTX_OFFS: Record<string, number[]> = {
  xdp: [0, 4, 8, 12, 16, 20, 24, 28, 2, 1, 3, -4],
  socket_filter: [
    0, 4, 8, 12, 16, 20, 24, 36, 40, 44, 48, 52, 68, 72, 76, 80, 84, 88, 92, 140, 144, 152, 168, 176, 184,
    188, 192, 2, 49, 1,
  ],
  sched_cls: [
    0, 4, 8, 12, 16, 20, 24, 36, 40, 44, 48, 52, 68, 72, 76, 80, 84, 88, 92, 140, 144, 152, 168, 176, 184,
    188, 192, 2, 49, 1,
  ],
  syscall: [0, 4, 8, 16, 24, 60, 64, 100, 1, -8],
};
const CTX_WRITABLE = [8, 12, 16, 20, 48, 52, 56, 60, 64, 68, 72, 0, 4, 76, 44, 152];

export function ctxAccess(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  const n = r.int(1, 3);
  a.emit('r7 = 0');
  for (let i = 0; i < n; i++) {
    const sz = r.chance(0.6) ? 'u32' : r.pick(SIZES);
    const readable = a.type === 'xdp' ? [0, 4, 8, 12, 16, 20] : [0, 4, 8, 12, 16, 20, 24, 48, 52, 56, 68];
    const off = r.chance(0.4) && a.type !== 'syscall' ? r.pick(readable) : r.pick(CTX_OFFS[a.type]!);
    const k = r.next();
    const at = `*(${sz} *)(r1 ${off < 0 ? '-' : '+'} ${Math.abs(off)})`;
    if (k < 0.65) a.emit(`r7 = ${at}`);
    else if (k < 0.85) {
      a.tag('ctx-write');
      const w = a.type === 'xdp' ? r.pick([0, 4, 12, 16]) : r.pick(CTX_WRITABLE);
      a.emit(`*(${sz} *)(r1 + ${w}) = r7`);
    } else if (k < 0.93) {
      a.tag('ctx-modified');
      a.emit(`r2 = r1`, `r2 += ${r.pick([4, 8, -4, 0])}`, `r7 = *(u32 *)(r2 + 0)`);
    } else {
      a.tag('ctx-store-imm');
      a.emit(`*(u32 *)(r1 + ${r.pick(CTX_WRITABLE)}) = 1`);
    }
  }
  a.emit('r0 = r7', 'exit');
}

/**
 * Loops the verifier settles quickly: constant bounds, loops it proves infinite, and unknown
 * bounds masked small. `heavy` adds loops that run the verifier into its 1M-insn limit.
 */
export function loop(a: Asm, heavy = false): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  const l = a.label();
  const k = r.next();
  a.emit('r6 = r1');
  if (k < 0.5) {
    a.tag('loop-const');
    const bound = r.pick([1, 2, 3, 5, 10, 16, 50, 100, 1000]);
    const w = r.chance(0.3) ? 'w' : 'r';
    const step = r.pick([1, 1, 1, 2, 3]);
    a.emit(`r0 = 0`, `${l}:`, `r0 += ${step}`);
    if (r.chance(0.3))
      a.emit('r2 = r0', 'r2 &= 7', 'r3 = r10', 'r3 += -8', 'r3 += r2', '*(u8 *)(r3 + 0) = 1');
    const cmp = step === 1 || heavy ? r.pick(['<', '<', '!=', '<=', 's<']) : r.pick(['<', '<=', 's<']);
    a.emit(`if ${w}0 ${cmp} ${bound} goto ${l}`);
  } else if (k < 0.65) {
    a.tag('loop-infinite');
    a.emit(
      'r0 = 0',
      `${l}:`,
      r.pick(['r0 += 0', 'r0 = 1', 'r0 |= 1']),
      `if r0 ${r.pick(['!=', '<', '=='])} 5 goto ${l}`,
    );
  } else if (k < 0.85) {
    a.tag(heavy ? 'loop-unknown-bound' : 'loop-masked-bound');
    unknownScalar(a, 'r7');
    if (!heavy || r.chance(0.5)) a.emit(`r7 &= ${r.pick([3, 15, 255])}`);
    a.emit(
      'r0 = 0',
      `${l}:`,
      'r0 += 1',
      `if r0 ${heavy ? r.pick(['<', '!=', '<=']) : r.pick(['<', '<='])} r7 goto ${l}`,
    );
  } else {
    a.tag('loop-down');
    a.emit(`r7 = ${r.pick([3, 10, 64])}`, 'r0 = 0', `${l}:`, 'r0 += r7', 'r7 -= 1');
    a.emit(`if r7 ${r.pick(['!=', 's>', '>'])} ${r.pick([0, -1, 1])} goto ${l}`);
  }
  a.emit('exit');
}

/** Loops near BPF_COMPLEXITY_LIMIT_INSNS: about a million processed instructions each. */
export function heavyLoop(a: Asm): void {
  const r = a.r;
  a.type = r.pick(PKT_TYPES);
  a.tag('loop-limit');
  const l = a.label();
  // two processed insns per iteration plus 3: the limit falls between these bounds
  a.emit(
    'r0 = 0',
    `${l}:`,
    'r0 += 1',
    `if r0 < ${r.pick([499_990, 499_997, 499_998, 500_000, 500_010])} goto ${l}`,
    'exit',
  );
}

export function returns(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  a.tag('return');
  a.emit(
    r.pick([
      'r0 = r1',
      'r0 = r10',
      'r0 = r10\nr0 += -8',
      'r0 = 2',
      'w0 = -1',
      'r0 = -1',
      'r0 = 0x100000000 ll',
      'r0 = 4',
      'r0 = 7',
    ]),
    'exit',
  );
}

/** A small valid program, then one structural defect patched into its slots. */
export function structural(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  a.emit('r0 = 0', 'r2 = 1', 'if r2 > 0 goto +1', 'r0 = 1', 'r3 = 0x123456789 ll', 'r0 += r3', 'exit');
  const kind = r.pick([
    'ok',
    'jmp-out',
    'jmp-back-out',
    'jmp-into-lddw',
    'unreachable',
    'no-exit',
    'bad-opcode',
    'reserved-field',
    'bad-reg',
    'lddw-trunc',
    'jmp-self',
    'call-bad-target',
  ]);
  a.tag(`struct:${kind}`);
  a.patches.push((p) => {
    const jmp = p[2]!;
    switch (kind) {
      case 'jmp-out':
        jmp.off = r.int(6, 40);
        break;
      case 'jmp-back-out':
        jmp.off = -r.int(4, 10);
        break;
      case 'jmp-into-lddw':
        jmp.off = 2;
        break;
      case 'unreachable':
        p.push(
          { code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 },
          { code: op.OP_EXIT, dst: 0, src: 0, off: 0, imm: 0 },
        );
        break;
      case 'no-exit':
        p.pop();
        p.push({ code: 0x07, dst: 0, src: 0, off: 0, imm: 1 });
        break;
      case 'bad-opcode':
        p[1]!.code = r.pick([0x8d, 0xff, 0xe7, 0x0e, 0x77 | 0x80]);
        break;
      case 'reserved-field':
        if (r.chance(0.5)) p[1]!.src = r.int(1, 9);
        else p[1]!.off = r.int(1, 9);
        break;
      case 'bad-reg':
        p[1]!.dst = r.pick([11, 12, 15]);
        break;
      case 'lddw-trunc':
        p.pop();
        p.push({ code: op.OP_LDDW, dst: 1, src: 0, off: 0, imm: 5 });
        break;
      case 'jmp-self':
        jmp.off = -1;
        break;
      case 'call-bad-target':
        p.splice(1, 0, { code: op.OP_CALL, dst: 0, src: 1, off: 0, imm: r.pick([5, 4, 100, -3]) });
        break;
    }
  });
}
