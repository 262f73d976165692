// Every example object loads into a Collection, and every program that can run without a
// host-described context runs once on both engines with the same result and no fault.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/collection.ts';
import { iterate } from '../../src/runtime/iter/index.ts';
import { udp4Packet } from '../examples/packets.ts';

const PACKET = new Set(['xdp', 'sched_cls', 'socket_filter']);
const NO_CTX = new Set(['syscall', 'raw_tracepoint', 'kprobe']);

for (const dir of readdirSync('examples', { withFileTypes: true }).filter((d) => d.isDirectory())) {
  const obj = readdirSync(`examples/${dir.name}`).find((f) => f.endsWith('.bpf.o'));
  if (!obj) continue;
  test(`${dir.name}: loads and runs on both engines alike`, () => {
    const file = `examples/${dir.name}/${obj}`;
    const spec = loadCollectionSpec(readFileSync(file), { file });
    const results = (['interp', 'jit'] as const).map((engine) => {
      const c = newCollection(spec, {
        verify: false,
        engine,
        vm: { seed: 1 },
        host: { pid: 7, comm: 'smoke' },
      });
      const out: string[] = [];
      for (const p of c.programs.values()) {
        if (PACKET.has(p.type)) {
          const r = p.run({ data: udp4Packet(53) });
          out.push(`${p.name}=${r.retval}:${Buffer.from(r.dataOut).toString('hex')}`);
        } else if (dir.name === 'sleepable') {
          // its ctx holds a user pointer and length: a zero length reads nothing
          out.push(`${p.name}=${p.run({ ctx: new Uint8Array(16) }).retval}`);
        } else if (p.section === 'iter/task') {
          const tasks = [{ pid: 7, tgid: 7, comm: 'smoke', prio: 120, static_prio: 120 }];
          out.push(`${p.name}=${JSON.stringify(iterate(p, { objects: tasks }).text)}`);
        } else if (NO_CTX.has(p.type)) {
          out.push(`${p.name}=${p.run().retval}`);
        }
      }
      c.loop.runUntilIdle(10_000);
      c.close();
      return out;
    });
    assert.ok(results[0]!.length > 0 || dir.name === 'core');
    assert.deepEqual(results[1], results[0]);
  });
}
