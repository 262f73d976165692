// Families around memory the verifier types: map values, packets, ringbuf records, bpf-to-bpf
// frames, helper arguments, pointer arithmetic and jmp32 refinements. Offsets cluster around
// each bound (off-by-one on either side), so roughly half of the programs should be rejected.
import { ALL_TYPES, type Asm, loadPkt, SIZES, sizeBytes, unknownScalar } from './asm.ts';

const retOk = (a: Asm): string => (a.type === 'xdp' ? 'r0 = 2' : 'r0 = 0');

/** A lookup in a fresh array or hash map; r0 = value or NULL. Returns the value size. */
function lookup(a: Asm): number {
  const r = a.r;
  const hash = r.chance(0.4);
  const vs = r.pick([4, 8, 16, 48, 64]);
  const keySize = hash ? r.pick([4, 8]) : 4;
  const m = a.map(`${hash ? 'hash' : 'array'}:${keySize}:${vs}:${r.pick([1, 4, 16])}`);
  a.tag(hash ? 'map:hash' : 'map:array');
  const kk = r.next();
  if (kk < 0.8) {
    a.emit(`*(u${keySize * 8} *)(r10 - 8) = ${r.pick([0, 1, 3, 20])}`, 'r2 = r10', 'r2 += -8');
  } else if (kk < 0.85) {
    a.tag('map-key-uninit');
    a.emit('r2 = r10', 'r2 += -16');
  } else if (kk < 0.9) {
    a.tag('map-key-scalar');
    a.emit('r2 = 0');
  } else if (kk < 0.95) {
    a.tag('map-key-ctx');
    a.emit('r2 = r6');
  } else {
    a.tag('map-key-oob');
    a.emit('r2 = r10', `r2 += ${r.pick([-2, -4, 0, -516])}`);
  }
  a.emit(`r1 = map_fd(${m}) ll`, 'call 1');
  return vs;
}

export function mapValue(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  a.emit('r6 = r1');
  const vs = lookup(a);
  const out = a.label();
  let v = 'r0';
  const nk = r.next();
  if (nk < 0.55) a.emit(`if r0 == 0 goto ${out}`);
  else if (nk < 0.7) {
    a.tag('null-check-copy');
    v = r.pick(['r0', 'r7']);
    a.emit('r7 = r0', `if r7 ${r.chance(0.8) ? '==' : '!='} 0 goto ${out}`);
  } else if (nk < 0.8) {
    a.tag('null-check-inverted');
    const ok = a.label();
    a.emit(`if r0 != 0 goto ${ok}`, `${retOk(a)}`, 'exit', `${ok}:`);
  } else if (nk < 0.9) {
    a.tag('no-null-check');
  } else {
    a.tag('null-arith-before-check');
    a.emit('r0 += 4', `if r0 == 0 goto ${out}`);
  }
  const sz = r.pick(SIZES);
  const n = sizeBytes(sz);
  const k = r.next();
  if (k < 0.55) {
    a.tag('map-const-off');
    const off = r.pick([0, vs - n, vs - n + 1, vs, -n, -1, r.int(0, vs), vs - n - 1].filter((o) => o > -9));
    const at = `*(${sz} *)(${v} ${off < 0 ? '-' : '+'} ${Math.abs(off)})`;
    a.emit(r.chance(0.6) ? `r1 = ${at}` : `${at} = ${r.chance(0.5) ? 'r6' : '1'}`);
  } else if (k < 0.85) {
    a.tag('map-var-off');
    a.emit(`r8 = ${v}`);
    unknownScalar(a, 'r2');
    const mask = r.pick([vs - 1, vs - n, vs, 7, 15, 63, 0xff, -1]);
    if (r.chance(0.8)) a.emit(`r2 &= ${mask}`);
    if (r.chance(0.2)) a.emit(`if r2 > ${vs - n} goto ${out}`);
    a.emit('r8 += r2', `r1 = *(${sz} *)(r8 + 0)`);
  } else {
    a.tag('map-update');
    a.emit(`*(u64 *)(r10 - 16) = 0`, `r1 = map_fd(0) ll`, 'r2 = r10', 'r2 += -8');
    a.emit(
      r.pick(['r3 = r10\nr3 += -16', 'r3 = r10\nr3 += -8', `r3 = ${v}`, 'r3 = 0', 'r3 = r10\nr3 += -72']),
    );
    a.emit(`r4 = ${r.pick([0, 1, 2, 4])}`, 'call 2');
  }
  a.emit(`${out}:`, retOk(a), 'exit');
}

export function packet(a: Asm): void {
  const r = a.r;
  // socket filters may not read data/data_end at all: a few of them, the rest xdp and tc
  a.type = r.chance(0.15) ? 'socket_filter' : r.pick(['xdp', 'sched_cls']);
  a.emit('r6 = r1');
  loadPkt(a);
  const out = a.label();
  const N = r.pick([1, 2, 4, 8, 14, 20, 34, 54]);
  a.emit('r4 = r2', `r4 += ${N}`);
  const ck = r.next();
  if (ck < 0.65) a.emit(`if r4 > r3 goto ${out}`);
  else if (ck < 0.7) {
    a.tag('pkt-check-ge');
    a.emit(`if r4 >= r3 goto ${out}`);
  } else if (ck < 0.76) {
    a.tag('pkt-check-reverse');
    a.emit(`if r3 < r4 goto ${out}`);
  } else if (ck < 0.82) {
    a.tag('pkt-check-wrong-way');
    a.emit(`if r4 < r3 goto ${out}`);
  } else if (ck < 0.88) {
    a.tag('pkt-no-check');
  } else if (ck < 0.94) {
    a.tag('pkt-check-jmp32');
    a.emit(`if w4 > w3 goto ${out}`);
  } else {
    a.tag('pkt-end-arith');
    a.emit('r3 += 1', `if r4 > r3 goto ${out}`);
  }
  const sz = r.pick(SIZES);
  const n = sizeBytes(sz);
  const k = r.next();
  if (k < 0.6) {
    const off = r.pick([0, N - n, N - n + 1, N, -1, N - n - 1].filter((o) => o >= -1));
    a.tag(off + n > N ? 'pkt-oob' : 'pkt-in');
    const at = `*(${sz} *)(r2 ${off < 0 ? '-' : '+'} ${Math.abs(off)})`;
    if (r.chance(0.7)) a.emit(`r0 = ${at}`);
    else {
      a.tag('pkt-write');
      a.emit(`${at} = 1`);
    }
  } else if (k < 0.85) {
    a.tag('pkt-var-off');
    a.emit('r5 = *(u8 *)(r2 + 0)');
    if (r.chance(0.7)) a.emit(`r5 &= ${r.pick([1, 3, 7, 15, 63])}`);
    a.emit('r2 += r5');
    if (r.chance(0.5)) a.emit('r4 = r2', `r4 += ${n}`, `if r4 > r3 goto ${out}`);
    a.emit(`r0 = *(${sz} *)(r2 + 0)`);
  } else {
    a.tag('pkt-helper-invalidates');
    if (a.type === 'xdp') a.emit('r1 = r6', `r2 = ${r.pick([0, 4, -4])}`, 'r7 = r2', 'call 44');
    else a.emit('r1 = r6', 'r7 = r2', 'r2 = 1', 'r3 = 0', 'call 39');
    if (r.chance(0.5)) {
      a.emit('r1 = r6');
      loadPkt(a);
      a.emit('r4 = r2', 'r4 += 1', `if r4 > r3 goto ${out}`);
    }
    a.emit('r0 = *(u8 *)(r2 + 0)');
  }
  a.emit(`${out}:`, retOk(a), 'exit');
}

export function calls(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  const depth = r.pick([1, 1, 2, 2, 3, 4, 7, 8, 9, 10]);
  a.tag(`calls-depth-${depth > 8 ? 'over' : 'ok'}`);
  const stacks = Array.from({ length: depth + 1 }, () => r.pick([0, 0, 8, 64, 128, 256, 320, 504]));
  const pass = r.chance(0.3);
  const defect = r.pick([
    'none',
    'none',
    'none',
    'read-callee-saved',
    'no-r0',
    'return-stack',
    'read-unset-arg',
  ]);
  a.tag(`call-${defect}`);
  for (let f = 0; f <= depth; f++) {
    a.emit(f === 0 ? '' : `f${f}:`);
    if (stacks[f]) a.emit(`*(u64 *)(r10 - ${stacks[f]}) = 0`);
    if (f === 0 && pass) a.emit('*(u64 *)(r10 - 8) = 0', 'r1 = r10', 'r1 += -8');
    else if (f > 0 && pass && f === 1) {
      const o = r.pick([0, 0, 8, -8]);
      a.emit(`*(u64 *)(r1 ${o < 0 ? '-' : '+'} ${Math.abs(o)}) = 1`);
    }
    if (f === depth && defect === 'read-callee-saved') a.emit('r0 = r6');
    if (f === depth && defect === 'read-unset-arg') a.emit('r0 = r3');
    if (f < depth) a.emit(`call f${f + 1}`);
    if (f === depth && defect === 'return-stack') a.emit('r0 = r10', 'r0 += -8');
    else if (!(f === depth && defect === 'no-r0')) a.emit('r0 = 0');
    a.emit('exit');
  }
}

export function helpers(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  a.emit('r6 = r1', 'r7 = 0');
  const k = r.next();
  const skb = a.type === 'socket_filter' || a.type === 'sched_cls';
  if (k < 0.25) {
    a.tag('printk');
    const len = r.pick([8, 16, 17, 0, 32, 512]);
    if (r.chance(0.8)) a.emit('*(u64 *)(r10 - 16) = 0', '*(u64 *)(r10 - 8) = 0');
    a.emit('r1 = r10', `r1 += ${r.pick([-16, -16, -8, 0])}`, `r2 = ${len}`, 'call 6');
  } else if (k < 0.5 && skb) {
    a.tag('skb-load-bytes');
    a.emit('r1 = r6', `r2 = ${r.pick([0, 14, -1])}`, 'r3 = r10', `r3 += ${r.pick([-16, -8, -32])}`);
    if (r.chance(0.7)) a.emit(`r4 = ${r.pick([1, 8, 16, 17, 0])}`);
    else {
      a.tag('helper-var-size');
      unknownScalar(a, 'r4');
      if (r.chance(0.6)) a.emit(`r4 &= ${r.pick([7, 15, 31])}`);
      a.emit('r1 = r6', 'r2 = 0', 'r3 = r10', 'r3 += -16');
    }
    a.emit('call 26');
  } else if (k < 0.65) {
    a.tag('helper-arg-type');
    const id = skb ? 34 : r.pick([8, 7, 5]); // get_hash_recalc needs the ctx
    a.emit(`r1 = ${r.pick(['r6', 'r10', '0', 'r6'])}`, `call ${id}`);
  } else if (k < 0.8) {
    a.tag('helper-not-allowed');
    a.emit('r1 = r6', 'r2 = 0', 'r3 = r10', 'r3 += -8', 'r4 = 1', 'r5 = 0');
    a.emit(`call ${r.pick([9, 10, 44, 26, 51, 999, 212, 0, 14, 113])}`);
  } else {
    a.tag('helper-clobber');
    a.emit('r2 = 5', `call ${r.pick([5, 7, 8])}`);
    if (r.chance(0.5)) a.emit('r7 = r2');
  }
  a.emit(a.type === 'xdp' ? 'r0 = 2' : 'r0 = r7', 'exit');
}

export function ringbuf(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  const m = a.map('ringbuf:0:0:4096');
  a.emit('r6 = r1', `r1 = map_fd(${m}) ll`);
  const size = r.pick([8, 16, 4, 0, 4097]);
  if (r.chance(0.85)) a.emit(`r2 = ${size}`);
  else {
    a.tag('ringbuf-var-size');
    a.emit('r2 = *(u32 *)(r10 - 8)');
  }
  a.emit('r3 = 0', 'call 131', 'r7 = r0');
  const out = a.label();
  if (r.chance(0.85)) a.emit(`if r7 == 0 goto ${out}`);
  else a.tag('ringbuf-no-null-check');
  const off = r.pick([0, 0, size - 8, size - 4, size - 1, size]);
  if (r.chance(0.7)) a.emit(`*(u${r.pick([8, 32, 64])} *)(r7 + ${Math.max(0, off)}) = 1`);
  const end = r.pick(['submit', 'submit', 'discard', 'leak', 'use-after', 'double', 'modified']);
  a.tag(`ringbuf-${end}`);
  if (end === 'modified') a.emit('r7 += 4');
  if (end !== 'leak') a.emit('r1 = r7', 'r2 = 0', `call ${end === 'discard' ? 133 : 132}`);
  if (end === 'use-after') a.emit('*(u64 *)(r7 + 0) = 2');
  if (end === 'double') a.emit('r1 = r7', 'r2 = 0', 'call 132');
  a.emit(`${out}:`, 'r0 = 0', 'exit');
}

/** A pointer of some type in r7, then an arithmetic form the kernel allows or forbids. */
export function ptrArith(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  a.emit('r6 = r1');
  const out = a.label();
  const base = r.pick(a.type === 'syscall' ? ['ctx', 'stack', 'map'] : ['ctx', 'stack', 'map', 'pkt']);
  a.tag(`ptr:${base}`);
  if (base === 'ctx') a.emit('r7 = r6');
  else if (base === 'stack')
    a.emit('*(u64 *)(r10 - 16) = 0', '*(u64 *)(r10 - 8) = 0', 'r7 = r10', 'r7 += -16');
  else if (base === 'map') {
    lookup(a);
    a.emit(`if r0 == 0 goto ${out}`, 'r7 = r0');
  } else {
    loadPkt(a);
    a.emit('r4 = r2', 'r4 += 16', `if r4 > r3 goto ${out}`, 'r7 = r2');
  }
  a.emit('r8 = 4');
  const form = r.pick([
    'r7 += 4',
    'r7 += r8',
    'r7 -= 4',
    'r7 -= r8',
    'r7 *= 2',
    'r7 &= -8',
    'r7 |= 1',
    'w7 += 1',
    'r7 = -r7',
    'w7 = w7',
    'r7 += r10',
    'r8 = r10\nr8 -= r7\nr7 = r8',
    'r7 -= r7',
    'r7 <<= 1',
    'r7 ^= r8',
    'r9 = r7\nr9 -= r7\nr7 += r9',
    'r7 = be16 r7',
    'r7 += 0x7fffffff',
    'r7 /= 2',
  ]);
  a.tag(`ptr-op:${form.split('\n')[0]}`);
  a.emit(form);
  const use = r.pick(['deref', 'deref', 'return', 'store', 'compare']);
  if (use === 'deref') a.emit('r0 = *(u8 *)(r7 + 0)');
  else if (use === 'store') a.emit('*(u64 *)(r10 - 24) = r7', 'r0 = *(u64 *)(r10 - 24)');
  else if (use === 'compare') a.emit(`if r7 > r6 goto ${out}`, 'r0 = 1');
  if (use !== 'return') a.emit('r7 = 0');
  a.emit(`${out}:`, 'r0 = r7', 'exit');
}

/** An unknown scalar bounded by a 32- or 64-bit test, then used as an offset into memory. */
export function jmp32Bounds(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  a.emit('r6 = r1');
  const vs = lookup(a);
  const out = a.label();
  a.emit(`if r0 == 0 goto ${out}`, 'r7 = r0');
  const src = r.pick(['map', 'helper', 'ctx', 'u64map']);
  if (src === 'map') a.emit('r8 = *(u32 *)(r7 + 0)');
  else if (src === 'u64map' && vs >= 8) a.emit('r8 = *(u64 *)(r7 + 0)');
  else {
    unknownScalar(a, 'r8');
    if (src === 'helper') a.emit('r8 <<= 32', 'r8 s>>= 32');
  }
  const lim = r.pick([vs - 1, vs - 4, vs, vs + 1]);
  const test = r.pick([
    `if w8 > ${lim} goto ${out}`,
    `if r8 > ${lim} goto ${out}`,
    `if w8 s> ${lim} goto ${out}`,
    `if r8 s> ${lim} goto ${out}`,
    `if w8 >= ${lim} goto ${out}`,
    `if r8 & ${-vs} goto ${out}`,
    `if w8 & ${-vs} goto ${out}`,
  ]);
  a.tag(`jmp32:${test.split(' ')[1]![0]}${test.split(' ')[2]}`);
  a.emit(test);
  if (r.chance(0.5)) a.emit(`if ${r.pick(['r8', 'w8'])} s< 0 goto ${out}`);
  a.emit('r7 += r8', 'r0 = *(u8 *)(r7 + 0)');
  a.emit(`${out}:`, retOk(a), 'exit');
}
