// Helpers the JIT may compile in place instead of calling: the runtime marks its own
// implementations, so a helper table that reuses an id for something else is never inlined.
// kernel: inline_bpf_loop() in verifier.c rewrites bpf_loop calls with a known callback the same way.
import type { HelperImpl } from '../vm/helpers.ts';
import type { LoadedProgram } from '../vm/program.ts';
import { SLOT_WORDS, X_CALL_LOCAL } from '../vm/program.ts';
import { type Cfg, isJump, layoutFunction, OP_CALL, OP_CALLX, OP_LDDW } from './cfg.ts';

const loopImpls = new WeakSet<HelperImpl>();

/** Marks `impl` as bpf_loop with the runtime's semantics (flags, E2BIG, early exit on r0 != 0). */
export function markBpfLoop(impl: HelperImpl): HelperImpl {
  loopImpls.add(impl);
  return impl;
}

/** Helper indices (the call's aux word) whose implementation is a marked bpf_loop. */
export function loopHelperIndices(prog: LoadedProgram): Set<number> {
  const out = new Set<number>();
  prog.helperFns.forEach((f, k) => {
    if (loopImpls.has(f)) out.add(k);
  });
  return out;
}

/**
 * bpf_loop call sites to compile in place: slot → callback entry. A site qualifies when r2 was
 * set by a `lddw r2, <function>` earlier in the same basic block and the callback is pure: it
 * and every function it calls make no helper call other than such inlined loops, no callx and
 * no LD_ABS/LD_IND. Nothing in JS then runs while the callback does, so the VM never sees the
 * nesting the compiled loop does itself.
 */
export function inlineLoopSites(
  prog: LoadedProgram,
  cfg: Cfg,
  loopHelpers: Set<number>,
): Map<number, number> {
  const sites = new Map<number, number>();
  if (loopHelpers.size === 0) return sites;
  const { code } = prog;
  const candidates = new Map<number, number>();
  for (const b of cfg.blocks.values()) {
    let r2Func = -1;
    for (let i = b.start; i < b.end; i++) {
      const p = i * SLOT_WORDS;
      const w = code[p]!;
      const xop = w & 0x3ff;
      const d = (w >> 12) & 15;
      if (xop === OP_LDDW) {
        const ins = prog.insns[i];
        if (d === 2)
          r2Func = ins && ins.src === 4 && cfg.entries.includes(i + 1 + ins.imm) ? i + 1 + ins.imm : -1;
        i++;
        continue;
      }
      if (xop === OP_CALL && loopHelpers.has(code[p + 3]!) && r2Func >= 0) candidates.set(i, r2Func);
      // Anything else that may write r2 forgets it: calls, or any insn naming r2 as dst or src
      // (atomics with fetch write their src).
      if (xop === OP_CALL || xop === OP_CALLX || xop === X_CALL_LOCAL || d === 2 || ((w >> 16) & 15) === 2)
        r2Func = -1;
    }
  }
  if (candidates.size === 0) return sites;
  const pure = new Map<number, boolean>();
  const isPure = (entry: number): boolean => {
    const known = pure.get(entry);
    if (known !== undefined) return known;
    pure.set(entry, false); // recursion: not inlined
    let ok = true;
    for (const b of layoutFunction(cfg, entry, true).order) {
      for (let i = b.start; i < b.end && ok; i++) {
        const p = i * SLOT_WORDS;
        const xop = code[p]! & 0x3ff;
        if (xop === OP_LDDW) i++;
        else if (xop === OP_CALL) {
          const cb = candidates.get(i);
          ok = cb !== undefined && isPure(cb);
        } else if (xop === OP_CALLX) ok = false;
        else if (xop === X_CALL_LOCAL) ok = isPure(i + 1 + code[p + 1]!);
        else if (xop >= 0x20 && xop <= 0x50 && (xop & 7) === 0 && !isJump(xop)) ok = false;
      }
      if (!ok) break;
    }
    pure.set(entry, ok);
    return ok;
  };
  for (const [slot, cb] of candidates) if (isPure(cb)) sites.set(slot, cb);
  return sites;
}
