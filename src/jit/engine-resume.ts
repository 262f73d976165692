// The engine's side of resume points (resume.ts): the resume area in the arena, the helper
// import that turns a SleepRequest into HELPER_SLEEP, and resuming a run from its records.
import type { Arena } from '../vm/arena.ts';
import { interpret } from '../vm/interp.ts';
import { callHelper, fault, type Machine } from '../vm/machine.ts';
import type { LoadedProgram } from '../vm/program.ts';
import { SleepRequest, type SuspendPoint } from '../vm/sleep.ts';
import type { CompiledProgram } from './compile.ts';
import type { JitEngine, Linked, RunState } from './engine.ts';
import { HELPER_SLEEP, REC_SIZE, RESUME_AREA_SIZE, RS_FRAMES, RS_RECORDS, RS_SUSPENDED } from './resume.ts';

/** RunState.tailTarget while the run is unwinding to sleep (never a real program). */
export const SLEEPING = Object.freeze({ name: '(sleeping)' }) as unknown as LoadedProgram;

export interface ResumeState {
  /** Arena address of the resume area. */
  readonly rs: number;
  /** The request the helper threw, until the engine hands it on. */
  sleep: SleepRequest | undefined;
  /** Depth of the frame whose helper slept. */
  depth: number;
  helperImport(st: RunState, argsIn: () => void, afterCall: () => void): (...a: number[]) => number;
}

const areaOf = new WeakMap<Arena, number>();

/** Instantiates a resumable module with the arena's resume area (allocated once per arena). */
export function linkResumable(
  _compiled: CompiledProgram,
  arena: Arena,
  make: (state: ResumeState) => Linked,
): Linked {
  let rs = areaOf.get(arena);
  if (rs === undefined) {
    rs = arena.alloc(RESUME_AREA_SIZE, 8, { kind: 'scratch', writable: false, name: 'jit resume area' });
    arena.setWindow(rs, rs, rs); // checked programs can never reach it
    areaOf.set(arena, rs);
  }
  const state: ResumeState = {
    rs,
    sleep: undefined,
    depth: 0,
    helperImport(st, argsIn, afterCall) {
      return (k, slot, depth) => {
        argsIn();
        const { m, prog } = st;
        try {
          callHelper(m, prog, slot!, prog.helperFns[k!]!, st.lo, st.hi);
        } catch (e) {
          if (!(e instanceof SleepRequest)) throw e;
          // Inside a callback too: the callback's frames save their records, and Vm.exec hands
          // them on to the helper that ran it (every such helper's call is a resume point).
          state.sleep = e;
          state.depth = depth!;
          st.tailTarget = SLEEPING;
          return HELPER_SLEEP;
        }
        afterCall();
        if (m.tailCallTarget === undefined) return 0;
        const target = m.tailCallTarget;
        m.tailCallTarget = undefined;
        if (depth !== 0) throw fault(prog, slot!, 'call', 'tail call from a subprogram is not supported');
        st.tailTarget = target;
        return 1;
      };
    },
  };
  return make(state);
}

/** After the frames unwound: the SleepRequest, with its point (the records, copied). */
export function sleptAt(linked: Linked, arena: Arena, entry: number): SleepRequest {
  const st = linked.st;
  const r = st.resume!;
  const req = r.sleep!;
  r.sleep = undefined;
  st.tailTarget = undefined;
  if (arena.i32.length === 0) arena.sync();
  arena.i32[(r.rs + RS_SUSPENDED) >> 2] = 0;
  const frames = r.depth + 1;
  const start = r.rs + RS_RECORDS;
  req.point = {
    engine: 'jit',
    prog: st.prog,
    frames,
    entry,
    records: arena.u8.slice(start, start + frames * REC_SIZE),
  };
  return req;
}

/** Goes on from a suspend point: the records go back into the resume area, then the entry runs. */
export function resumeRun(
  engine: JitEngine,
  m: Machine,
  prog: LoadedProgram,
  lo: Int32Array,
  hi: Int32Array,
  point: SuspendPoint,
): number {
  // A program the JIT could not compile slept in the interpreter, and resumes there.
  if (point.engine === 'interp') return interpret(m, prog, lo, hi, 0, point);
  const arena = m.arena;
  const linked = engine.tryLink(arena, point.prog, m.checked);
  const r = linked?.st.resume;
  if (linked === undefined || r === undefined)
    throw fault(point.prog, 0, 'sleep', 'the program slept in a JIT module that is no longer there');
  if (arena.i32.length === 0) arena.sync();
  arena.u8.set(point.records, r.rs + RS_RECORDS);
  arena.i32[(r.rs + RS_SUSPENDED) >> 2] = 0;
  arena.i32[(r.rs + RS_FRAMES) >> 2] = point.frames;
  engine.setBudget(linked, m, arena.i32);
  m.regLo = lo;
  m.regHi = hi;
  const fn = point.entry === 0 ? linked.main : linked.entries.get(point.entry);
  if (fn === undefined) throw fault(point.prog, point.entry, 'sleep', 'the callback that slept has no entry');
  return engine.runLoop(m, point.prog, lo, hi, linked, fn, point.entry);
}
