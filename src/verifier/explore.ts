// Path-by-path abstract interpretation (kernel: do_check(), do_check_insn(), push_stack(),
// pop_stack(), is_state_visited(), update_branch_counts(), process_bpf_exit).
import { formatKernelInsn, opcode as opNs } from '../isa/index.ts';
import { checkAluOp } from './check/alu.ts';
import { checkFuncCall, checkHelperCall, checkRetval, prepareFuncExit } from './check/call.ts';
import { globalEntryRegs } from './check/global-func.ts';
import { checkCondJmpOp } from './check/jmp.ts';
import { checkKfuncCall } from './check/kfunc.ts';
import { checkCallWhileLocked, checkNoLockHeld, checkNoRcuLock, objectRefs } from './check/spin-lock.ts';
import { checkLdAbs, checkLdImm, checkLoadMem, checkStore } from './check/ldst.ts';
import { checkRegArg } from './check/regs.ts';
import { checkProgReturnCode } from './check/return-code.ts';
import { isPointerValue } from './privs.ts';
import { jmpTarget } from './cfg.ts';
import type { VerifierEnv } from './env.ts';
import { reject, VerifierReject } from './env.ts';
import { frameStateStr, type LogPos } from './log.ts';
import { markAllScalarsImprecise, markRegPrecise, newHistEntry, propagatePrecision } from './precision.ts';
import { statesEqual, statesMaybeLooping } from './prune.ts';
import { scalar as scalarNs } from './domain/index.ts';
import type { RegState } from './reg.ts';
import { pointer, regTypeStr, unknownScalar, withScalar } from './reg.ts';
import * as stackNs from './stack.ts';
import type { Checkpoint, VerifierState } from './state.ts';
import { copyState, curFrame, newFrame, newState, ownSlot } from './state.ts';
const { isSpilledReg } = stackNs;

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };
const scalar = { ...scalarNs };

/** The checkpoint list of an instruction that has none: read only, never added to. */
const EMPTY_LIST: Checkpoint[] = [];

/** kernel: BPF_COMPLEXITY_LIMIT_JMP_SEQ */
const BPF_COMPLEXITY_LIMIT_JMP_SEQ = 8192;

// kernel: struct bpf_verifier_stack_elem
interface StackElem {
  st: VerifierState;
  insnIdx: number;
  prevInsnIdx: number;
  logPos: LogPos;
}

/** Paths still open below a checkpoint; a finished path closes its ancestors (kernel: update_branch_counts()). */
function updateBranchCounts(st: VerifierState): void {
  let cp: Checkpoint | null = st.parent;
  while (cp) {
    cp.branches--;
    if (cp.branches > 0) break;
    cp = cp.state.parent;
  }
}

/** A checkpoint that has not missed too often stays listed (kernel: miss_cnt > hit_cnt * n + n). */
function keepState(sl: Checkpoint, force: boolean): boolean {
  const n = force && sl.branches > 0 ? 64 : 3;
  return sl.missCnt <= sl.hitCnt * n + n;
}

/** `cp` is `from` or one of its ancestors. */
function isAncestor(cp: Checkpoint, from: Checkpoint): boolean {
  for (let c: Checkpoint | null = from; c; c = c.state.parent) if (c === cp) return true;
  return false;
}

/** The state a program (subprog 0) or a global function (its BTF arguments) starts from. */
function initialState(env: VerifierEnv, subprog: number): VerifierState {
  const frame = newFrame(-1, 0, subprog);
  if (subprog === 0) frame.regs[1] = pointer('PTR_TO_CTX');
  else {
    const regs = globalEntryRegs(env, env.globalFuncs[subprog]!);
    for (let i = 1; i < regs.length; i++) frame.regs[i] = regs[i]!;
  }
  return newState(frame, env.subprogs[subprog]!.start);
}

class Explorer {
  private readonly stack: StackElem[] = [];
  private state: VerifierState;
  private idx: number;
  private prevIdx = -1;
  private doPrintState = false;
  private lastFrames = 1;
  /** `idx: (code) text` per instruction, formatted once: a failing 1M-step path prints each many times. */
  private readonly insnLines: (string | undefined)[] = [];

  constructor(
    private readonly env: VerifierEnv,
    private readonly subprog = 0,
  ) {
    this.state = initialState(env, subprog);
    this.idx = env.subprogs[subprog]!.start;
  }

  private get log() {
    return this.env.log;
  }

  private printState(printAll: boolean): string {
    const st = this.state;
    return frameStateStr(st, curFrame(st), this.log, this.env.maps, printAll);
  }

  // kernel: push_stack()
  private pushStack(st: VerifierState, insnIdx: number, prevInsnIdx: number, speculative = false): void {
    if (speculative) st.speculative = true;
    this.stack.push({ st, insnIdx, prevInsnIdx, logPos: this.log.endPos });
    if (this.stack.length > BPF_COMPLEXITY_LIMIT_JMP_SEQ) {
      reject(`The sequence of ${this.stack.length} jumps is too complex.`);
    }
    if (st.parent) st.parent.branches++;
  }

  // kernel: pop_stack(); false when no branch is left
  private popStack(): boolean {
    const e = this.stack.pop();
    if (!e) return false;
    this.state = e.st;
    this.idx = e.insnIdx;
    this.prevIdx = e.prevInsnIdx;
    if (this.log.level < 2) this.log.truncate(e.logPos);
    this.doPrintState = true;
    this.log.scratchAll();
    this.lastFrames = -1;
    return true;
  }

  // kernel: push_insn_history() for every step into a jump point (a jump, call or return
  // target), and for any step that is not "next slot, same frame"
  private pushStep(idx: number): void {
    const st = this.state;
    if (this.env.aux[idx]!.jmpPoint || this.prevIdx !== idx - 1 || this.lastFrames !== st.frames.length) {
      st.history.push(newHistEntry(idx, this.prevIdx));
    }
  }

  // A pruned path's precision walk starts at idx, so the step into idx must be in the history,
  // or the walk takes idx - 1 for its predecessor (kernel: push_insn_history() before
  // propagate_precision() in is_state_visited())
  private propagateOnPrune(idx: number, old: VerifierState): void {
    this.pushStep(idx);
    propagatePrecision(this.env, old, this.state);
  }

  /**
   * Drops the states among the first `upto` of `list` (those compared and missed) that keep
   * missing, also when a later one is hit (kernel: the miss_cnt > hit_cnt * n + n eviction
   * inside is_state_visited()'s loop). Returns the list left at idx.
   */
  private dropMissing(idx: number, list: Checkpoint[], upto: number): Checkpoint[] {
    const env = this.env;
    const force = env.aux[idx]!.forceCheckpoint;
    // usually nothing is dropped: keep the same array then
    for (let k = 0; k < upto; k++) {
      if (keepState(list[k]!, force)) continue;
      const kept = list.slice(0, k);
      for (let j = k; j < list.length; j++) {
        const sl = list[j]!;
        if (j >= upto || keepState(sl, force)) kept.push(sl);
        // evicted states stay counted until their paths are done (kernel: free_list)
        else if (sl.branches === 0) env.curStates--;
      }
      env.explored[idx] = kept;
      return kept;
    }
    return list;
  }

  // kernel: is_state_visited(); true when the current state is covered by an explored one
  private isStateVisited(idx: number): boolean {
    const env = this.env;
    const cur = this.state;
    const aux = env.aux[idx]!;
    // a long history is costly to walk: cut it (kernel: force_new_state)
    const forceNewState = aux.forceCheckpoint || cur.history.length > 40;
    let addNewState =
      forceNewState ||
      (env.jmpsProcessed - env.prevJmpsProcessed >= 2 && env.insnProcessed - env.prevInsnProcessed >= 8);
    const list = env.explored[idx] ?? EMPTY_LIST;
    let statesCnt = 0;
    for (let n = 0; n < list.length; n++) {
      const sl = list[n]!;
      statesCnt++;
      if (sl.branches > 0) {
        // a may_goto loop converges when an iteration adds nothing new (kernel: is_may_goto_insn_at())
        if (aux.mayGoto) {
          if (
            sl.state.mayGotoDepth !== cur.mayGotoDepth &&
            statesEqual(env, sl.state, cur, idx, 'RANGE_WITHIN')
          ) {
            sl.hitCnt++;
            for (let cp = cur.parent; cp && cp !== sl; cp = cp.state.parent) cp.loopEntry ??= sl;
            this.dropMissing(idx, list, n);
            this.propagateOnPrune(idx, sl.state);
            return true;
          }
        } else if (aux.callsCallback) {
          if (statesEqual(env, sl.state, cur, idx, 'RANGE_WITHIN')) {
            sl.hitCnt++;
            this.dropMissing(idx, list, n);
            this.propagateOnPrune(idx, sl.state);
            return true;
          }
        } else if (
          statesMaybeLooping(sl.state, cur) &&
          // another callback run or may_goto iteration is progress, not a loop
          sl.state.callbackUnrollDepth === cur.callbackUnrollDepth &&
          sl.state.mayGotoDepth === cur.mayGotoDepth &&
          statesEqual(env, sl.state, cur, idx, 'EXACT')
        ) {
          const f = cur.frames.length - 1;
          reject(
            `infinite loop detected at insn ${idx}`,
            `cur state:${frameStateStr(cur, cur.frames[f]!, this.log, env.maps, true)}`,
            `old state:${frameStateStr(sl.state, sl.state.frames[f]!, this.log, env.maps, true)}`,
          );
        }
        if (
          !forceNewState &&
          env.jmpsProcessed - env.prevJmpsProcessed < 20 &&
          env.insnProcessed - env.prevInsnProcessed < 100
        ) {
          addNewState = false;
        }
      } else if (
        statesEqual(
          env,
          sl.state,
          cur,
          idx,
          sl.loopEntry && sl.loopEntry.branches > 0 ? 'RANGE_WITHIN' : 'NOT_EXACT',
        )
      ) {
        sl.hitCnt++;
        this.dropMissing(idx, list, n);
        this.propagateOnPrune(idx, sl.state);
        return true;
      }
      if (addNewState) sl.missCnt++;
    }
    const kept = this.dropMissing(idx, list, list.length);
    if (env.maxStatesPerInsn < statesCnt) env.maxStatesPerInsn = statesCnt;
    if (!addNewState) {
      return false;
    }
    env.totalStates++;
    env.curStates++;
    if (env.peakStates < env.curStates) env.peakStates = env.curStates;
    env.prevJmpsProcessed = env.jmpsProcessed;
    env.prevInsnProcessed = env.insnProcessed;
    markAllScalarsImprecise(cur);
    const cp: Checkpoint = {
      state: copyState(cur),
      insnIdx: idx,
      branches: 1,
      missCnt: 0,
      hitCnt: 0,
      evicted: false,
      loopEntry: null,
    };
    cp.state.lastInsnIdx = this.prevIdx;
    cur.parent = cp;
    cur.history = [];
    cur.firstInsnIdx = idx;
    // newest first, as the kernel's list; a fresh array where there was none (EMPTY_LIST stays empty)
    if (kept === EMPTY_LIST) env.explored[idx] = [cp];
    else kept.unshift(cp);
    return false;
  }

  // kernel: the BPF_EXIT case of do_check_insn(): false when exploration is over
  private processExit(): boolean {
    const st = this.state;
    if (st.frames.length > 1) {
      const wasCallback = curFrame(st).inCallbackFn;
      this.idx = prepareFuncExit(this.env, st);
      if (wasCallback) this.widenAtCallsite(this.idx);
      this.doPrintState = true;
      return true;
    }
    checkNoLockHeld(st, 'BPF_EXIT instruction in main prog');
    const refs = objectRefs(st);
    if (refs.length) {
      const lines = refs.map((r) => `Unreleased reference id=${r.id} alloc_insn=${r.insnIdx}`);
      reject(...lines, 'BPF_EXIT instruction in main prog would lead to reference leak');
    }
    checkNoRcuLock(st, 'BPF_EXIT instruction in main prog');
    // kernel: check_return_code(): a range per program type (check/return-code.ts), timer callbacks return 0
    const r0 = checkRegArg(this.env, curFrame(st), 0, 'SRC_OP');
    if (isPointerValue(this.env, r0)) reject('R0 leaks addr as return value');
    if (this.subprog !== 0 && r0.type !== 'SCALAR_VALUE') {
      reject(`At subprogram exit the register R0 is not a scalar value (${regTypeStr(r0)})`);
    }
    if (curFrame(st).inAsyncCallbackFn) {
      if (r0.type !== 'SCALAR_VALUE')
        reject(`At async callback return the register R0 is not a known value (${regTypeStr(r0)})`);
      markRegPrecise(this.env, 0);
      checkRetval(r0, 'At async callback return', 0, 0);
    } else if (this.subprog === 0) {
      checkProgReturnCode(this.env, r0);
    }
    return this.endPath();
  }

  /**
   * After a callback iteration, imprecise scalars that changed since the loop head become
   * unknown, so the iterations converge (kernel: widen_imprecise_scalars()).
   */
  private widenAtCallsite(callsite: number): void {
    this.widenAgainst(callsite, this.state, this.state.parent);
  }

  /** kernel: find_prev_entry() (a loop-head checkpoint at or above `below`) + widen_imprecise_scalars(). */
  private widenAgainst(idx: number, cur: VerifierState, below: Checkpoint | null): void {
    const prev = (this.env.explored[idx] ?? EMPTY_LIST).find(
      (sl) =>
        sl.branches > 0 &&
        below !== null &&
        isAncestor(sl, below) &&
        sl.state.frames.length === cur.frames.length &&
        sl.state.frames.every((f, k) => f.callsite === cur.frames[k]!.callsite),
    );
    if (!prev) return;
    // precise scalars stay exact (kernel: maybe_widen_reg())
    const widen = (o: RegState, c: RegState): RegState =>
      o.type === 'SCALAR_VALUE' &&
      c.type === 'SCALAR_VALUE' &&
      !o.precise &&
      !c.precise &&
      !(o.id === c.id && o.off === c.off && scalar.equals(o.s, c.s))
        ? unknownScalar()
        : c;
    prev.state.frames.forEach((fo, k) => {
      const fc = cur.frames[k]!;
      for (let i = 0; i < fc.regs.length; i++) fc.regs[i] = widen(fo.regs[i]!, fc.regs[i]!);
      for (let spi = 0; spi < Math.min(fo.stack.length, fc.stack.length); spi++) {
        const so = fo.stack[spi]!;
        const sc = fc.stack[spi]!;
        if (!isSpilledReg(so) || !isSpilledReg(sc)) continue;
        // the slot may be shared with copies: only a changed one becomes the frame's own
        const w = widen(so.spilled, sc.spilled);
        if (w !== sc.spilled) ownSlot(fc, spi).spilled = w;
      }
    });
  }

  private endPath(): boolean {
    this.log.scratchAll();
    updateBranchCounts(this.state);
    return this.popStack();
  }

  run(): void {
    const env = this.env;
    const insns = env.insns;
    this.log.scratchAll();
    for (;;) {
      const idx = this.idx;
      if (idx < 0 || idx >= insns.length) reject(`invalid insn idx ${idx} insn_cnt ${insns.length}`);
      env.insnIdx = idx;
      env.prevInsnIdx = this.prevIdx;
      if (++env.insnProcessed > env.opts.insnLimit) {
        reject(`BPF program is too large. Processed ${env.insnProcessed} insn`);
      }
      if (env.aux[idx]!.prunePoint && this.isStateVisited(idx)) {
        if (this.log.enabled) {
          if (this.doPrintState) {
            this.log.add('');
            this.log.add(`from ${this.prevIdx} to ${idx}${this.specNote()}: safe`);
          } else {
            this.log.add(`${idx}: safe`);
          }
        }
        if (!this.endPath()) return;
        continue;
      }
      if (this.log.enabled) {
        if (this.log.level >= 2 && this.doPrintState) {
          this.log.add('');
          this.log.add(`from ${this.prevIdx} to ${idx}${this.specNote()}:${this.printState(true)}`);
        }
        this.doPrintState = false;
        if (this.log.isScratched()) this.log.insnState(idx, this.printState(false));
        this.printLineInfo(idx);
        this.log.addInsnLine(this.insnLine(idx));
      }
      const st = this.state;
      this.pushStep(idx);
      this.lastFrames = st.frames.length;
      env.cur = st;
      this.prevIdx = idx;
      // an instruction the profiled kernel release lacks (src/verifier/profile.ts)
      const blocked = env.kernelBlocks?.get(idx);
      if (blocked !== undefined) reject(blocked);
      if (!st.speculative) {
        if (!this.step(idx)) return;
      } else if (!this.stepSpeculative(idx, st)) return;
      this.lastFrames = this.state.frames.length;
    }
  }

  private insnLine(idx: number): string {
    let line = this.insnLines[idx];
    if (line === undefined) {
      line = `${idx}: ${formatKernelInsn(this.env.insns, idx)}`;
      this.insnLines[idx] = line;
    }
    return line;
  }

  /**
   * One instruction on a speculative path (kernel 6.17+, do_check()): an error there puts a
   * speculation barrier before the instruction instead of rejecting the program, and the path
   * ends at a barrier. False when exploration is over.
   */
  private stepSpeculative(idx: number, st: VerifierState): boolean {
    const aux = this.env.aux[idx]!;
    if (aux.nospec) return this.endPath();
    try {
      if (!this.step(idx)) return false;
    } catch (e) {
      if (!(e instanceof VerifierReject) || !recoverableWithNospec(e.message)) throw e;
      aux.nospec = true;
      aux.aluState = 0;
      return this.endPath();
    }
    if (this.state === st && aux.nospecResult) return this.endPath();
    return true;
  }

  private specNote(): string {
    return this.state.speculative ? ' (speculative execution)' : '';
  }

  private printLineInfo(idx: number): void {
    const li = this.env.lineInfo;
    if (!li.length) return;
    // kernel: find_linfo() (binary search for the last entry at or before idx)
    let lo = 0;
    let hi = li.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (li[mid]!.insnIdx <= idx) {
        k = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (k < 0 || k === this.log.prevLineIdx) return;
    const cur = li[k]!;
    const prev = li[this.log.prevLineIdx];
    this.log.prevLineIdx = k;
    // entries that differ only in the column print once (kernel: verbose_linfo())
    if (prev && prev.line === cur.line && prev.fileName === cur.fileName && prev.lineText === cur.lineText)
      return;
    this.log.add(`; ${cur.lineText.trimStart()} @ ${cur.fileName.split('/').pop()}:${cur.line}`);
  }

  /** Executes one instruction on the current state; false when exploration is over. */
  private step(idx: number): boolean {
    const env = this.env;
    const st = this.state;
    const insn = env.insns[idx]!;
    const c = op.cls(insn.code);
    const frame = curFrame(st);
    if (c === op.CLASS_ALU || c === op.CLASS_ALU64) {
      const fork = checkAluOp(env, frame, insn);
      if (fork?.kind === 'zero') {
        // kernel: maybe_fork_scalars() pushes the 0 case to re-run this instruction
        const other = copyState(st);
        const forked = withScalar(curFrame(other).regs[fork.regno]!, fork.value);
        forked.id = 0;
        curFrame(other).regs[fork.regno] = forked;
        this.pushStack(other, idx, idx);
      } else if (fork) {
        // kernel: sanitize_ptr_alu(): the offset masked to 0 under speculation
        const other = copyState(st);
        curFrame(other).regs[fork.regno] = fork.reg;
        this.pushStack(other, idx + 1, idx, true);
      }
      this.idx = idx + 1;
    } else if (c === op.CLASS_LDX) {
      checkLoadMem(env, st, insn);
      this.idx = idx + 1;
    } else if (c === op.CLASS_STX || c === op.CLASS_ST) {
      checkStore(env, st, insn);
      this.idx = idx + 1;
    } else if (c === op.CLASS_JMP || c === op.CLASS_JMP32) {
      env.jmpsProcessed++;
      const o = op.jmpOp(insn.code);
      if (o === op.JMP_CALL) {
        if (insn.code !== op.OP_CALL || insn.off !== 0 || c === op.CLASS_JMP32 || insn.dst !== 0) {
          reject('BPF_CALL uses reserved fields');
        }
        checkCallWhileLocked(st, insn);
        if (insn.src === op.PSEUDO_CALL) {
          this.idx = checkFuncCall(env, st, insn, idx);
          this.doPrintState = this.log.level >= 1 && false;
        } else if (insn.src === op.PSEUDO_KFUNC_CALL) {
          checkKfuncCall(env, st, insn, idx);
          this.idx = idx + 1;
        } else {
          if (insn.src !== 0) reject('BPF_CALL uses reserved fields');
          const out = checkHelperCall(env, st, insn, idx);
          if (out.push) this.pushStack(out.push.state, out.push.insnIdx, idx);
          // bpf_tail_call: the program may end here, as after an exit of the callee
          this.idx = idx + 1;
        }
      } else if (insn.code === op.OP_MAY_GOTO) {
        // kernel: check_cond_jmp_op() for BPF_JCOND: the next iteration is queued, the exit is taken now
        if (insn.src !== 0 || insn.dst !== 0 || insn.imm !== 0) reject(`invalid may_goto imm ${insn.imm}`);
        const queued = copyState(st);
        queued.mayGotoDepth++;
        // against an earlier iteration: a checkpoint above the one just made here (kernel: dfs_depth <)
        this.widenAgainst(idx, queued, st.parent?.state.parent ?? null);
        this.pushStack(queued, idx + 1, idx);
        if (this.log.enabled) this.log.insnState(idx, this.printState(false));
        this.idx = idx + insn.off + 1;
      } else if (o === op.JMP_JA) {
        if (op.srcBit(insn.code) !== op.SRC_K || insn.dst !== 0 || insn.src !== 0) {
          reject('BPF_JA uses reserved fields');
        }
        if ((c === op.CLASS_JMP && insn.imm !== 0) || (c === op.CLASS_JMP32 && insn.off !== 0)) {
          reject('BPF_JA uses reserved fields');
        }
        this.idx = jmpTarget(env.insns, idx);
      } else if (o === op.JMP_EXIT) {
        if (
          op.srcBit(insn.code) !== op.SRC_K ||
          insn.imm !== 0 ||
          insn.src !== 0 ||
          insn.dst !== 0 ||
          c === op.CLASS_JMP32
        ) {
          reject('BPF_EXIT uses reserved fields');
        }
        return this.processExit();
      } else {
        const r = checkCondJmpOp(env, st, insn, idx);
        if (r.other) this.pushStack(r.other, idx + insn.off + 1, idx);
        // kernel: sanitize_speculative_path(): the side a known outcome does not take
        if (r.speculative) this.pushStack(r.speculative.state, r.speculative.insnIdx, idx, true);
        if (this.log.enabled) this.log.insnState(idx, this.printState(false));
        this.idx = r.next;
      }
    } else if (c === op.CLASS_LD) {
      const m = op.mode(insn.code);
      if (m === op.MODE_ABS || m === op.MODE_IND) {
        checkLdAbs(env, st, insn);
        this.idx = idx + 1;
      } else if (m === op.MODE_IMM) {
        checkLdImm(env, st, insn);
        this.idx = idx + 2;
      } else {
        reject('invalid BPF_LD mode');
      }
    } else {
      reject(`unknown insn class ${c}`);
    }
    return true;
  }
}

/**
 * kernel: error_recoverable_with_nospec(): EPERM, EACCES and EINVAL, the errors of the program's
 * own operations; not the limits (E2BIG) nor verifier bugs (EFAULT).
 */
function recoverableWithNospec(message: string): boolean {
  return !/^(The sequence of \d+ jumps is too complex|verifier bug|verifier internal error|unsupported|BPF program is too large|combined stack size)/.test(
    message,
  );
}

// kernel: do_check()
export function doCheck(env: VerifierEnv): void {
  new Explorer(env).run();
  // kernel: do_check_subprogs(): each called global function once, until no new one is called
  const verified = new Set<number>();
  for (let again = true; again; ) {
    again = false;
    for (let k = 1; k < env.subprogs.length; k++) {
      if (!env.globalFuncs[k] || !env.globalCalled.has(k) || verified.has(k)) continue;
      if (env.log.level >= 2) env.log.add(`Validating ${env.globalFuncs[k]!.name}() func#${k}...`);
      // kernel: free_states() between subprograms
      env.explored.fill(undefined);
      new Explorer(env, k).run();
      if (env.log.enabled) {
        env.log.add(
          `Func#${k} ('${env.globalFuncs[k]!.name}') is safe for any args that match its prototype`,
        );
      }
      verified.add(k);
      again = true;
    }
  }
}
