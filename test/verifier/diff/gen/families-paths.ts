// Path-sensitive programs for state pruning: a register (or a stack slot) gets a different type
// on each side of a branch on an unknown scalar, paths join, a second test on the same scalar
// may or may not separate them again, and the value is used. An unsafe combination that only
// one path produces is exactly what a wrongly pruned state would let through.
import { ALL_TYPES, type Asm, loadPkt, unknownScalar } from './asm.ts';

const KINDS = ['scalar', 'stack', 'ctx', 'map', 'map-or-null', 'pkt', 'uninit-stack', 'zero'] as const;
type Kind = (typeof KINDS)[number];

/** r7 = a value of `kind` (r6 holds the ctx; r9 a checked map value; r2 a checked packet). */
function produce(a: Asm, kind: Kind): void {
  const r = a.r;
  switch (kind) {
    case 'scalar':
      a.emit(`r7 = ${r.pick([0, 1, 8, 100, -1])}`);
      break;
    case 'zero':
      a.emit('r7 = 0');
      break;
    case 'stack':
      a.emit('*(u64 *)(r10 - 8) = 0', 'r7 = r10', 'r7 += -8');
      break;
    case 'uninit-stack':
      a.emit('r7 = r10', 'r7 += -32');
      break;
    case 'ctx':
      a.emit('r7 = r6');
      break;
    case 'map':
      a.emit('r7 = r9');
      break;
    case 'map-or-null':
      a.emit('r7 = r5');
      break;
    case 'pkt':
      a.emit('r7 = r4');
      break;
  }
}

export function paths(a: Asm): void {
  const r = a.r;
  a.type = r.pick(ALL_TYPES);
  const pkt = a.type !== 'syscall' && a.type !== 'socket_filter';
  const fail = a.label();
  a.emit('r6 = r1');
  // a map value (checked in r9, unchecked copy in r5), and a checked packet pointer in r4
  const m = a.map(`hash:4:${r.pick([8, 16])}:4`);
  a.emit('*(u32 *)(r10 - 4) = 0', 'r2 = r10', 'r2 += -4', `r1 = map_fd(${m}) ll`, 'call 1');
  a.emit('r5 = r0', 'r9 = r0', `if r9 == 0 goto ${fail}`);
  if (pkt) {
    a.emit('r1 = r6');
    loadPkt(a);
    a.emit('r4 = r2', 'r4 += 8', `if r4 > r3 goto ${fail}`, 'r4 = r2');
  }
  unknownScalar(a, 'r8');
  if (r.chance(0.5)) a.emit(`r8 &= ${r.pick([1, 3, 15, 255])}`);
  // unknownScalar may call a helper: the map pointers live in callee-saved r9; r5 is reloaded
  a.emit('r5 = r9');
  if (r.chance(0.5)) a.emit('r5 += 0');
  const kinds = KINDS.filter((k) => pkt || k !== 'pkt');
  const k1 = r.pick(kinds);
  const k2 = r.pick(kinds);
  a.tag(`paths:${k1}|${k2}`);
  const K = r.pick([0, 1, 2, 7, 100]);
  const other = a.label();
  const join = a.label();
  const cmp = r.pick(['>', '>=', '==', '!=', 's>', '&']);
  a.emit(`if r8 ${cmp} ${K} goto ${other}`);
  produce(a, k1);
  a.emit(`goto ${join}`, `${other}:`);
  produce(a, k2);
  a.emit(`${join}:`);
  if (r.chance(0.3)) {
    // through the stack: spill, maybe clobber a byte, fill
    a.tag('paths-spill');
    a.emit('*(u64 *)(r10 - 16) = r7');
    if (r.chance(0.3)) a.emit('*(u8 *)(r10 - 16) = 0');
    a.emit('r7 = *(u64 *)(r10 - 16)');
  }
  // a second test on the same scalar: the kernel may know which path it is on
  if (r.chance(0.6)) {
    a.tag('paths-correlated');
    a.emit(
      `if r8 ${r.chance(0.7) ? cmp : r.pick(['>', '<', '=='])} ${r.chance(0.7) ? K : r.pick([0, 1, 3])} goto ${fail}`,
    );
  }
  const use = r.pick(['load', 'load', 'store', 'return', 'helper-key', 'add-load']);
  a.tag(`paths-use:${use}`);
  if (use === 'load') a.emit(`r0 = *(u${r.pick([8, 32, 64])} *)(r7 + ${r.pick([0, 0, 4, 8])})`);
  else if (use === 'store') a.emit(`*(u32 *)(r7 + ${r.pick([0, 4])}) = 1`);
  else if (use === 'add-load') a.emit('r7 += r8', 'r0 = *(u8 *)(r7 + 0)');
  else if (use === 'helper-key') a.emit(`r1 = map_fd(${m}) ll`, 'r2 = r7', 'call 1');
  if (use === 'return') a.emit('r0 = r7', 'exit');
  a.emit(`${fail}:`, a.type === 'xdp' ? 'r0 = 2' : 'r0 = 0', 'exit');
}
