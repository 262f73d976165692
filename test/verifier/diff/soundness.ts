// The soundness check: a program tsbpf's verifier accepts runs in the interpreter's checked
// mode on random packets and contexts without a memory, ctx, pc or opcode fault.
import { RuntimeFault, TsbpfError } from '../../../src/errors.ts';
import { createMap } from '../../../src/maps/index.ts';
import { testRun } from '../../../src/runtime/test-run.ts';
import { Vm } from '../../../src/vm/vm.ts';
import type { GenCase } from './gen/index.ts';
import type { Rng } from './gen/rng.ts';

/** Fault kinds that mean the verifier let something unsafe through. */
const UNSOUND_KINDS = new Set(['mem', 'ctx', 'pc', 'opcode']);

export type RunOutcome =
  | { kind: 'ok'; runs: number }
  | { kind: 'fault'; fault: string; faultKind: string; input: string }
  | { kind: 'skipped'; why: string };

function randomBytes(r: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(0, 255);
  return b;
}

export function runChecked(c: GenCase, r: Rng, inputs = 4): RunOutcome {
  for (let i = 0; i < inputs; i++) {
    const vm = new Vm({ checked: true, budget: 2_000_000, seed: r.int(0, 2 ** 31) });
    const maps = c.maps.map((spec) => {
      const [type, k, v, n] = spec.split(':');
      return createMap(vm.arena, {
        type: type!,
        keySize: Number(k),
        valueSize: Number(v),
        maxEntries: Number(n),
      });
    });
    // small packets reach the failing side of every bounds check, large ones the passing side
    const len = r.pick([14, 15, 20, 34, 60, 64, 128, 256]);
    const data = randomBytes(r, len);
    const input = `packet ${len} bytes ${Buffer.from(data).toString('hex').slice(0, 40)}`;
    try {
      if (c.type === 'syscall') testRun(c.insns, { type: 'syscall', ctx: randomBytes(r, 512), maps, vm });
      else testRun(c.insns, { type: c.type, data, maps, vm });
    } catch (e) {
      if (e instanceof RuntimeFault && UNSOUND_KINDS.has(e.kind))
        return { kind: 'fault', fault: e.message, faultKind: e.kind, input };
      if (e instanceof TsbpfError) return { kind: 'skipped', why: e.message };
      return {
        kind: 'fault',
        fault: `${(e as Error).name}: ${(e as Error).message}`,
        faultKind: 'exception',
        input,
      };
    } finally {
      for (const m of maps) m.close();
    }
  }
  return { kind: 'ok', runs: inputs };
}
