// Verifier inputs from compiled example objects: link a program with src/elf and describe its
// maps the way the verifier needs them (frozen .rodata contents included).
import { readFileSync } from 'node:fs';
import type { Btf } from '../../src/btf/index.ts';
import type { LinkedProgram } from '../../src/elf/index.ts';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import type { MapInfo, VerifyProgram } from '../../src/verifier/index.ts';

export interface ExampleProgram {
  object: string;
  name: string;
  linked: LinkedProgram;
  input: VerifyProgram;
}

/** Byte offset of a `struct <name>` member of a map value (kernel: btf_parse_fields(), top level). */
function specialFieldOffset(btf: Btf, typeId: number, name: string): number | undefined {
  const t = btf.resolve(typeId);
  if (t.kind !== 'struct') return undefined;
  for (const m of t.members) {
    const mt = btf.resolve(m.type);
    if (mt.kind === 'struct' && mt.name === name) return m.bitOffset / 8;
  }
  return undefined;
}

export function loadExampleProgram(objectPath: string, name: string): ExampleProgram {
  const spec = loadCollectionSpec(readFileSync(objectPath), { file: objectPath });
  const linked = linkProgram(spec, name, { mapIndex: 'used' });
  const maps: MapInfo[] = linked.maps.map((m) => {
    const info: MapInfo = {
      type: m.typeName,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
      name: m.name,
    };
    if (m.frozen) info.frozenData = m.data ?? new Uint8Array(m.valueSize);
    if (spec.btf && m.valueTypeId) {
      const timerOff = specialFieldOffset(spec.btf, m.valueTypeId, 'bpf_timer');
      if (timerOff !== undefined) info.timerOff = timerOff;
      const lockOff = specialFieldOffset(spec.btf, m.valueTypeId, 'bpf_spin_lock');
      if (lockOff !== undefined) info.spinLockOff = lockOff;
    }
    return info;
  });
  return {
    object: objectPath,
    name,
    linked,
    input: {
      insns: linked.insns,
      progType: linked.progType,
      maps,
      lineInfo: linked.lineInfo,
      funcInfo: linked.funcInfo,
    },
  };
}
