// The verifier as the playground calls it (also inside verify-worker.ts, so this file imports
// nothing of the VM or runtime): log level 2, states indexed by instruction, the log trimmed.
import type { FuncInfo, LineInfo } from '../btf/ext-info.ts';
import { loadCollectionSpec } from '../elf/collection-spec.ts';
import type { LinkedProgram } from '../elf/link.ts';
import type { Insn } from '../isa/insn.ts';
import { verifyBtfFields } from '../runtime/verify-btf.ts';
import { type MapInfo, type VerifyResult, verify } from '../verifier/index.ts';

/** One program, ready to verify and run. */
export interface ProgramView {
  name: string;
  /** Program type as the kernel names it ('xdp', 'syscall', ...). */
  progType: string;
  insns: Insn[];
  lineInfo: LineInfo[];
  funcInfo: FuncInfo[];
  maps: MapInfo[];
  /**
   * For a program of an object file: the file itself, its ELF section and attach type. The
   * verifier needs the object's BTF (global function signatures, iterator and tp_btf context
   * types); BTF does not survive postMessage, so the worker parses it again from the bytes.
   */
  object?: { file: string; bytes: Uint8Array } & Pick<LinkedProgram, 'section' | 'attachType'>;
}

export interface Verification extends VerifyResult {
  /** Verifier states seen before / after each instruction on the explored paths (log level 2). */
  states: Map<number, string[]>;
  /** Log line index → the instruction it is about. */
  logInsn: (number | undefined)[];
  ms: number;
}

const MAX_STATES_PER_INSN = 32;

/**
 * Runs the verifier at log level 2 and indexes its per-instruction state lines. `kernel`: verify as
 * that Linux release did ("5.10"); unset, as 6.18.
 */
export function verifyProgram(p: ProgramView, logLevel = 2, kernel?: string): Verification {
  const t0 = performance.now();
  const o = p.object;
  const btfFields = o ? verifyBtfFields(loadCollectionSpec(o.bytes, { file: o.file }), o) : {};
  const r = verify(
    {
      insns: p.insns,
      progType: p.progType,
      maps: p.maps,
      lineInfo: p.lineInfo,
      funcInfo: p.funcInfo,
      ...btfFields,
    },
    kernel !== undefined ? { logLevel, kernel } : { logLevel },
  );
  const ms = performance.now() - t0;
  const states = new Map<number, string[]>();
  const logInsn: (number | undefined)[] = [];
  for (const line of r.log) {
    // `12: R1=ctx() R10=fp0` (state at 12) or `12: (bf) r6 = r1   ; R6=ctx()` (after 12)
    const m = /^(\d+): (.*)$/.exec(line);
    if (!m) {
      const from = /^from \d+ to (\d+)/.exec(line);
      logInsn.push(from ? Number(from[1]) : undefined);
      continue;
    }
    const idx = Number(m[1]);
    logInsn.push(idx);
    const rest = m[2]!;
    const state = rest.startsWith('(') ? rest.split(/\s+; /)[1] : rest;
    if (!state || !/^(R\d|fp-|frame)/.test(state)) continue;
    const list = states.get(idx) ?? [];
    if (list.length < MAX_STATES_PER_INSN)
      list.push(rest.startsWith('(') ? `after: ${state}` : `before: ${state}`);
    states.set(idx, list);
  }
  return { ...r, states, logInsn, ms };
}

/** Log lines kept for the page: the first ones, then the end (where a rejection is explained). */
export const LOG_HEAD = 20_000;
export const LOG_TAIL = 200;

/** Cuts a huge level-2 log to what the page can show; states and stats stay. */
export function trimVerification(v: Verification): Verification {
  if (v.log.length <= LOG_HEAD + LOG_TAIL) return v;
  const cut = v.log.length - LOG_HEAD - LOG_TAIL;
  return {
    ...v,
    log: [...v.log.slice(0, LOG_HEAD), `... ${cut} lines not shown ...`, ...v.log.slice(-LOG_TAIL)],
    logInsn: [...v.logInsn.slice(0, LOG_HEAD), undefined, ...v.logInsn.slice(-LOG_TAIL)],
  };
}
