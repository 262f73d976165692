// Every example object's runnable programs through both engines: each runs on a few packets
// (or an empty context) in two collections built the same way, one interpreted and one on the
// JIT; retval, r0, data_out, ctx_out, errors and every map's contents afterwards must agree.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { JitEngine } from '../../src/jit/index.ts';
import type { BpfMap } from '../../src/maps/map.ts';
import { type Collection, newCollection } from '../../src/runtime/collection.ts';
import type { Engine } from '../../src/vm/vm.ts';
import { ETH_P_ARP, ETH_P_IPV6, ethernet, ipv4, ipv6, tcp, udp, udp4Packet } from '../examples/packets.ts';

const root = new URL('../../examples', import.meta.url).pathname;
const objects = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(root, d.name))
      .filter((f) => f.endsWith('.o'))
      .map((f) => join(root, d.name, f)),
  )
  .sort();

const PACKET_TYPES = new Set(['xdp', 'sched_cls', 'sched_act', 'socket_filter', 'cgroup_skb']);
const CTX_TYPES = new Set(['syscall', 'raw_tracepoint', 'kprobe', 'tracepoint', 'perf_event']);

const payload = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
const packets = [
  udp4Packet(53),
  udp4Packet(80, payload),
  ethernet(0x0800, ipv4(6, tcp(1234, 80, 0x18))),
  ethernet(0x0800, ipv4(17, udp(5000, 4789, payload), { ttl: 1 })),
  ethernet(ETH_P_IPV6, ipv6(17, udp(1, 2, payload))),
  ethernet(ETH_P_ARP, new Uint8Array(28)),
  new Uint8Array(14),
];

type Outcome = Record<string, unknown>;

function dumpMaps(coll: Collection): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // Prog arrays and maps of maps hold ids, which differ between collections.
  for (const [name, m] of coll.maps) if (!/prog_array|of_maps/.test(m.typeName)) out[name] = dumpMap(m);
  return out;
}

function dumpMap(m: BpfMap): string[] {
  const rows: string[] = [];
  try {
    for (let k = m.nextKey(), n = 0; k && n < 4096; k = m.nextKey(k), n++) {
      const v = m.lookup(k);
      rows.push(`${hex(k)}=${v instanceof Uint8Array ? hex(v) : String(v)}`);
    }
  } catch (e) {
    rows.push(`error: ${e instanceof Error ? e.message : String(e)}`);
  }
  // Hash maps iterate in an order that depends on a per-map random seed.
  return rows.sort();
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Runs every runnable program of `file` in a fresh collection; undefined if it does not load. */
function runAll(file: string, engine: Engine | undefined): Outcome | undefined {
  const spec = loadCollectionSpec(readFileSync(file), { file });
  let coll: Collection;
  try {
    coll = newCollection(spec, { vm: { seed: 7, checked: true } });
  } catch {
    return undefined;
  }
  // Until the runtime wires CollectionOptions.engine = 'jit', swap the VM's engine in place.
  if (engine) (coll.vm as { engine: Engine }).engine = engine;
  const out: Outcome = {};
  try {
    for (const [name, prog] of coll.programs) {
      const inputs: { data?: Uint8Array; ctx?: Uint8Array }[] = PACKET_TYPES.has(prog.type)
        ? packets.map((data) => ({ data }))
        : CTX_TYPES.has(prog.type)
          ? [{}, { ctx: new Uint8Array(64) }]
          : [];
      inputs.forEach((input, i) => {
        try {
          const r = prog.run(input);
          out[`${name}#${i}`] = {
            retval: r.retval,
            r0: r.r0.toString(16),
            data: hex(r.dataOut),
            ctx: r.ctxOut ? hex(r.ctxOut) : undefined,
          };
        } catch (e) {
          out[`${name}#${i}`] = {
            error: e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e),
          };
        }
      });
    }
    out.maps = dumpMaps(coll);
    out.trace = coll.tracePipe.join('\n');
  } finally {
    coll.close();
  }
  return out;
}

const jit = new JitEngine();
let ran = 0;
for (const file of objects) {
  test(file.slice(root.length + 1), () => {
    const want = runAll(file, undefined);
    const got = runAll(file, jit.run);
    assert.deepEqual(got, want);
    if (want) ran += Object.keys(want).length - 2;
  });
}

test('the examples ran programs through the JIT', () => {
  assert.ok(ran > 50, `only ${ran} program runs`);
  assert.ok(jit.stats.compiles > 10, `only ${jit.stats.compiles} programs compiled`);
  assert.equal(jit.stats.interpreted, 0, 'callbacks ran compiled too');
  console.log(`examples: ${ran} runs, JIT stats ${JSON.stringify(jit.stats)}`);
});
