// Control flow of a loaded program: basic blocks, functions (slot 0, bpf-to-bpf call targets and
// callback entries), and for each function a structured layout for Wasm: `loop`s for back edges,
// `block`s for forward edges, as properly nested intervals over the block order. When the
// intervals cannot nest (irreducible flow, e.g. a jump into the middle of a loop) the function
// falls back to a `loop` + `br_table` dispatcher, which handles any CFG.
import type { LoadedProgram } from '../vm/program.ts';
import { SLOT_WORDS, X_CALL_LOCAL } from '../vm/program.ts';

export const OP_JA = 0x05;
export const OP_JA32 = 0x06;
export const OP_CALL = 0x85;
export const OP_CALLX = 0x8d;
export const OP_EXIT = 0x95;
export const OP_MAY_GOTO = 0xe5;
export const OP_LDDW = 0x18;

/** True for every slot that may jump (conditional or not), excluding calls and exit. */
export function isJump(xop: number): boolean {
  if (xop >= 0x100) return false;
  const cls = xop & 7;
  if (cls !== 5 && cls !== 6) return false;
  return xop !== OP_CALL && xop !== OP_CALLX && xop !== OP_EXIT;
}

export function isUncondJump(xop: number): boolean {
  return xop === OP_JA || xop === OP_JA32;
}

export interface Block {
  /** First slot; `len` (one past the program) for the fall-off-the-end block. */
  start: number;
  /** One past the last slot. */
  end: number;
  /** Slot of the jump target, if the block ends with a jump. */
  jumpTo: number;
  /** Start slot of the block control reaches by falling through, or -1 (exit, ja). */
  fallTo: number;
}

export interface Cfg {
  blocks: Map<number, Block>;
  /** Function entry slots, ascending; slot 0 first. */
  entries: number[];
}

/** `splits` marks extra block starts (resume.ts: resume points of sleepable programs). */
export function buildCfg(prog: LoadedProgram, splits?: Uint8Array): Cfg {
  const { code, len } = prog;
  const leader = splits ? splits.slice() : new Uint8Array(len + 1);
  leader[0] = 1;
  leader[len] = 1;
  const entries = new Set<number>([0]);
  for (let i = 0; i < len; i++) {
    const p = i * SLOT_WORDS;
    const xop = code[p]! & 0x3ff;
    if (isJump(xop)) {
      leader[i + 1 + code[p + 1]!] = 1;
      leader[i + 1] = 1;
    } else if (xop === OP_EXIT) {
      leader[i + 1] = 1;
    } else if (xop === X_CALL_LOCAL) {
      const t = i + 1 + code[p + 1]!;
      leader[t] = 1;
      entries.add(t);
    } else if (xop === OP_LDDW) {
      const ins = prog.insns[i];
      // kernel: BPF_PSEUDO_FUNC — a callback's address; make it an entry so callbacks run compiled.
      if (ins && ins.src === 4) {
        const t = i + 1 + ins.imm;
        if (t >= 0 && t < len) {
          leader[t] = 1;
          entries.add(t);
        }
      }
      i++;
    }
  }
  const blocks = new Map<number, Block>();
  let start = 0;
  for (let i = 0; i < len; i++) {
    const p = i * SLOT_WORDS;
    const xop = code[p]! & 0x3ff;
    const width = xop === OP_LDDW ? 2 : 1;
    const next = i + width;
    const ends = isJump(xop) || xop === OP_EXIT || leader[next] === 1;
    if (!ends) {
      i = next - 1;
      continue;
    }
    let jumpTo = -1;
    let fallTo = next;
    if (isJump(xop)) {
      jumpTo = i + 1 + code[p + 1]!;
      if (isUncondJump(xop)) fallTo = -1;
    } else if (xop === OP_EXIT) fallTo = -1;
    blocks.set(start, { start, end: next, jumpTo, fallTo });
    start = next;
    i = next - 1;
  }
  blocks.set(len, { start: len, end: len, jumpTo: -1, fallTo: -1 });
  return { blocks, entries: [...entries].sort((a, b) => a - b) };
}

/** One `block` (forward target) or `loop` (back-edge target) over block positions [from, to). */
export interface Scope {
  kind: 'block' | 'loop';
  from: number;
  to: number;
  /** Position control arrives at: `to` for a block, `from` for a loop. */
  target: number;
}

export interface FuncLayout {
  /** Blocks in emission order; order[0] is the entry. */
  order: Block[];
  /** Position of a block start slot in `order`. */
  pos: Map<number, number>;
  /** Properly nested scopes, or undefined when the dispatcher must be used. */
  scopes: Scope[] | undefined;
}

/**
 * Blocks reachable from `entry` without following calls, entry first. Address order is tried
 * first; when its intervals do not nest (clang often places a loop's header after the body it
 * jumps into), reverse postorders, which put every loop header before its body, are tried.
 */
export function layoutFunction(cfg: Cfg, entry: number, forceDispatch = false): FuncLayout {
  const seen = new Set<number>([entry]);
  const work = [entry];
  while (work.length > 0) {
    const b = cfg.blocks.get(work.pop()!)!;
    for (const s of [b.jumpTo, b.fallTo])
      if (s >= 0 && !seen.has(s)) {
        seen.add(s);
        work.push(s);
      }
  }
  const rest = [...seen].filter((s) => s !== entry).sort((a, b) => a - b);
  const orders = [
    () => [entry, ...rest],
    () => reversePostorder(cfg, entry, true),
    () => reversePostorder(cfg, entry, false),
  ];
  let first: FuncLayout | undefined;
  for (const make of orders) {
    const order = make().map((s) => cfg.blocks.get(s)!);
    const pos = new Map<number, number>();
    order.forEach((b, i) => {
      pos.set(b.start, i);
    });
    const layout = { order, pos, scopes: forceDispatch ? undefined : structure(order, pos) };
    if (layout.scopes || forceDispatch) return layout;
    first ??= layout;
  }
  return first!;
}

/** Block starts in reverse postorder of a DFS from `entry` (iterative: programs can be long). */
function reversePostorder(cfg: Cfg, entry: number, fallFirst: boolean): number[] {
  const post: number[] = [];
  const seen = new Set<number>([entry]);
  const succ = (b: Block) => (fallFirst ? [b.fallTo, b.jumpTo] : [b.jumpTo, b.fallTo]).filter((s) => s >= 0);
  const stack: { b: Block; next: number[] }[] = [];
  const enter = (start: number) => {
    const b = cfg.blocks.get(start)!;
    stack.push({ b, next: succ(b) });
  };
  enter(entry);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const s = top.next.shift();
    if (s === undefined) {
      post.push(top.b.start);
      stack.pop();
    } else if (!seen.has(s)) {
      seen.add(s);
      enter(s);
    }
  }
  return post.reverse();
}

/** First index in `list` (sorted by `to`) whose scope ends after position p. */
function firstEndingAfter(list: readonly Scope[], p: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.to <= p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `list` (sorted by `from`) whose scope starts after position p. */
function firstStartingAfter(list: readonly Scope[], p: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.from <= p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function structure(order: Block[], pos: Map<number, number>): Scope[] | undefined {
  const n = order.length;
  const loopEnd = new Int32Array(n).fill(-1);
  const fwdFrom = new Int32Array(n + 1).fill(-1);
  for (let i = 0; i < n; i++) {
    const b = order[i]!;
    for (const s of [b.jumpTo, b.fallTo]) {
      if (s < 0) continue;
      const j = pos.get(s)!;
      if (j <= i) loopEnd[j] = Math.max(loopEnd[j]!, i + 1);
      else if (j > i + 1 && fwdFrom[j]! < 0) fwdFrom[j] = i;
    }
  }
  const loops: Scope[] = [];
  for (let h = 0; h < n; h++)
    if (loopEnd[h]! >= 0) loops.push({ kind: 'loop', from: h, to: loopEnd[h]!, target: h });
  // A loop may end later than its last back edge: extend loops until they nest.
  for (let changed = true, guard = 0; changed; guard++) {
    if (guard > n + 2) return undefined;
    changed = false;
    for (const a of loops)
      for (const b of loops)
        if (a.from < b.from && b.from < a.to && a.to < b.to) {
          a.to = b.to;
          changed = true;
        }
  }
  // Loops by end, for range queries; blocks are created in increasing target order.
  const loopsByTo = [...loops].sort((a, b) => a.to - b.to);
  const loopsByFrom = [...loops].sort((a, b) => a.from - b.from);
  const blocks: Scope[] = [];
  for (let j = 0; j < n; j++) {
    if (fwdFrom[j]! < 0) continue;
    // A block may start earlier than its first branch: move the start out of every scope that
    // contains it and ends before j, until it nests.
    const s: Scope = { kind: 'block', from: fwdFrom[j]!, to: j, target: j };
    for (let changed = true; changed; ) {
      changed = false;
      for (const list of [loopsByTo, blocks])
        for (let k = firstEndingAfter(list, s.from); k < list.length && list[k]!.to < j; k++) {
          const o = list[k]!;
          if (o.from < s.from) {
            s.from = o.from;
            changed = true;
          }
        }
      // A loop that starts inside the block and ends after it: a jump into the loop's middle.
      for (let k = firstStartingAfter(loopsByFrom, s.from); k < loopsByFrom.length; k++) {
        const o = loopsByFrom[k]!;
        if (o.from >= j) break;
        if (o.to > j) return undefined;
      }
    }
    blocks.push(s);
  }
  const scopes = [...loops, ...blocks];
  return scopes;
}
