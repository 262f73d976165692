// Compiled modules keyed by what determines the code: the pre-decoded slots (which include
// resolved lddw values and helper indices), the helper ids and the compile options.
import type { LoadedProgram } from '../vm/program.ts';
import { type CompiledProgram, type CompileOptions, compile } from './compile.ts';
import { loopHelperIndices } from './inline.ts';
import { provenAccesses } from './verified.ts';

/** Distinct program contents remembered for reuse by later loads of the same bytes. */
const MAX_KEYS = 1024;

interface Entry {
  code: Int32Array;
  helperIds: string;
  compiled: CompiledProgram;
}

export interface CacheStats {
  compiles: number;
  hits: number;
  /** Total time spent compiling (ms). */
  compileMs: number;
}

export class JitCache {
  private readonly byProg = new WeakMap<LoadedProgram, CompiledProgram>();
  private readonly byKey = new Map<string, Entry[]>();
  readonly stats: CacheStats = { compiles: 0, hits: 0, compileMs: 0 };

  constructor(private readonly opts: CompileOptions) {}

  get(prog: LoadedProgram): CompiledProgram {
    const known = this.byProg.get(prog);
    if (known) return known;
    // Which helpers the JIT may inline, and whether the verifier's proof drops region checks,
    // determine the code too (inline.ts, verified.ts).
    const helperIds = `${prog.helperIds.join(',')}/${[...loopHelperIndices(prog)].join(',')}/${provenKey(provenAccesses(prog))}`;
    const key = `${fnv(prog.code)}:${prog.len}:${helperIds}`;
    const list = this.byKey.get(key) ?? [];
    for (const e of list)
      if (e.helperIds === helperIds && sameWords(e.code, prog.code)) {
        this.stats.hits++;
        this.byProg.set(prog, e.compiled);
        return e.compiled;
      }
    const compiled = compile(prog, this.opts);
    // Bounded: programs that are still loaded keep their module through byProg anyway.
    if (this.byKey.size >= MAX_KEYS) this.byKey.delete(this.byKey.keys().next().value!);
    this.stats.compiles++;
    this.stats.compileMs += compiled.compileMs;
    list.push({ code: prog.code, helperIds, compiled });
    this.byKey.set(key, list);
    this.byProg.set(prog, compiled);
    return compiled;
  }
}

/** FNV-1a over the words' bytes, as 8 hex digits. */
function fnv(words: Int32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    for (let k = 0; k < 32; k += 8) h = Math.imul(h ^ ((w >>> k) & 0xff), 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The verifier's proven accesses as part of the key ('' when not verified). */
function provenKey(p: Uint8Array | undefined): string {
  if (!p) return '';
  let h = 0x811c9dc5;
  for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p[i]! ^ (i & 0xff), 0x01000193);
  return `v${(h >>> 0).toString(16)}`;
}

function sameWords(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
