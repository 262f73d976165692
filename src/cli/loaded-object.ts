// What the commands that load an object into a live collection share (run, attach, map, iter):
// `--set` values for const volatile globals, and verifying a loaded program.
import { UsageError } from '../errors.ts';
import type { Collection, Program } from '../runtime/collection.ts';
import type { GlobalValue } from '../runtime/globals.ts';
import { objectMapInfo } from '../runtime/map-info.ts';
import { verifyBtfFields } from '../runtime/verify-btf.ts';
import { verifyForRun } from './verify-hook.ts';

/** `--set NAME=VALUE`: integers (decimal, 0x hex, negative), true/false, or a string. */
export function parseGlobals(sets: readonly string[]): Record<string, GlobalValue> {
  const out: Record<string, GlobalValue> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${s}: expected NAME=VALUE`);
    const v = s.slice(eq + 1);
    let value: GlobalValue = v;
    if (/^-?(0x[0-9a-f]+|\d+)$/i.test(v)) {
      const b = v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v);
      value = b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    } else if (v === 'true' || v === 'false') value = v === 'true';
    out[s.slice(0, eq)] = value;
  }
  return out;
}

/**
 * Verifies a program of a live collection, with frozen maps (.rodata) as their current bytes so
 * `--set` values are what the verifier sees. A rejection throws (exit 1).
 */
export function verifyLoaded(path: string, coll: Collection, prog: Program, insnLimit?: number): void {
  // The lddw imm indexes what linkProgram was told: the object's maps or the program's.
  const specs = prog.linked.mapIndex === 'used' ? prog.linked.maps : coll.spec.maps;
  const maps = specs.map((m) => objectMapInfo(coll.spec, m, coll.maps.get(m.name)));
  const v = verifyForRun({
    insns: prog.linked.insns,
    progType: prog.type,
    sleepable: prog.linked.sleepable,
    maps,
    file: path,
    prog: prog.name,
    funcInfo: prog.linked.funcInfo,
    lineInfo: prog.linked.lineInfo,
    btfFields: verifyBtfFields(coll.spec, prog.linked),
    ...(insnLimit === undefined ? {} : { insnLimit }),
  });
  if (v.status === 'rejected') throw v.error;
}
