// The same run as bpkt.c, through tsbpf's own runtime: load the object with
// src/elf + src/runtime, fill maps, patch .rodata, run the program once per
// frame (runPacketStream), drain ring buffers after each frame, dump the maps.
// Returns bpkt's BpktRun shape so the kernel checks apply unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { runPacketStream } from '../../src/runtime/attach/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';
import {
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_RINGBUF,
} from '../../src/maps/flags.ts';
import type { RingbufMap } from '../../src/maps/ringbuf.ts';
import { repoRoot } from '../examples/kobj.ts';
import type { BpktOptions, BpktRun } from './bpkt.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

export interface TsbpfRunOptions extends BpktOptions {
  verify?: boolean; // run tsbpf's verifier first (default false: it is tested on its own)
  engine?: 'interp' | 'jit';
}

export function runTsbpf(
  object: string,
  prog: string,
  frames: Uint8Array[],
  o: TsbpfRunOptions = {},
): BpktRun {
  const path = join(repoRoot, object);
  const rodata: Record<string, Uint8Array> = {};
  for (const [sym, h] of Object.entries(o.rodata ?? {})) rodata[sym] = unhex(h);
  const c = newCollection(loadCollectionSpec(readFileSync(path), { file: object }), {
    verify: o.verify ?? false,
    engine: o.engine ?? 'interp',
    programs: [prog],
    rodata,
  });
  try {
    for (const [name, k, v] of o.maps ?? []) c.map(name).update(unhex(k), unhex(v));
    const rings = [...c.maps.values()].filter(
      (m) => m.type === BPF_MAP_TYPE_RINGBUF,
    ) as unknown as RingbufMap[];
    const run: BpktRun = { retvals: [], records: new Map(), maps: new Map() };
    runPacketStream(c.program(prog), frames, {
      onPacket: (v) => {
        run.retvals.push(v.retval);
        const recs = rings.flatMap((r) => r.consume()).map(hex);
        if (recs.length) run.records.set(v.index, recs);
      },
    });
    for (const [name, m] of c.maps) {
      if (![BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE].includes(m.type)) continue;
      const entries = new Map<string, string>();
      for (let k = m.nextKey(); k; k = m.nextKey(k)) {
        const v = m.lookup(k);
        if (v?.some((b) => b !== 0)) entries.set(hex(k), hex(v));
      }
      run.maps.set(name, entries);
    }
    return run;
  } finally {
    c.close();
  }
}
