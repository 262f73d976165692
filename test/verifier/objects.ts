// Verifier inputs from compiled example objects: link a program with src/elf and describe its
// maps the way the verifier needs them (frozen .rodata contents included).
import { readFileSync } from 'node:fs';
import type { LinkedProgram } from '../../src/elf/index.ts';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
import type { VerifyProgram } from '../../src/verifier/index.ts';

export interface ExampleProgram {
  object: string;
  name: string;
  linked: LinkedProgram;
  input: VerifyProgram;
}

export function loadExampleProgram(objectPath: string, name: string): ExampleProgram {
  const spec = loadCollectionSpec(readFileSync(objectPath), { file: objectPath });
  const linked = linkProgram(spec, name, { mapIndex: 'used' });
  return { object: objectPath, name, linked, input: linkedVerifyProgram(spec, linked) };
}
