// `tsbpf run --follow`: after the run, drive the collection's (virtual-time) event loop so armed
// bpf_timer callbacks fire, and hand every ring-buffer and perf-buffer record to `emit` after
// the event that produced it, through the runtime's async readers (src/runtime/attach/readers.ts).
import { PerfEventArrayMap, RingbufMap } from '../maps/index.ts';
import { PerfReader, RingbufReader } from '../runtime/attach/index.ts';
import type { Collection } from '../runtime/collection.ts';

export interface FollowedRecord {
  map: string;
  kind: 'ringbuf' | 'perf';
  /** Virtual nanoseconds since the run ended. */
  atNs: number;
  cpu?: number;
  data: Uint8Array;
}

export interface FollowReport {
  /** Timer (and other loop) events run. */
  events: number;
  records: number;
  ringbufLost: number;
  perfLost: number;
  /** True when --follow-events stopped the loop before it went idle or reached --follow-ns. */
  cut: boolean;
}

export async function followTimers(
  coll: Collection,
  windowNs: number,
  maxEvents: number,
  emit: (r: FollowedRecord) => void,
): Promise<FollowReport> {
  const rings = [...coll.maps.values()]
    .filter((m): m is RingbufMap => m instanceof RingbufMap)
    .map((m) => new RingbufReader(m));
  const perfs = [...coll.maps.values()]
    .filter((m): m is PerfEventArrayMap => m instanceof PerfEventArrayMap)
    .map((m) => new PerfReader(m));
  const start = coll.loop.now();
  let records = 0;
  // Readers without `follow` end once drained: one pass per loop event.
  const drain = async () => {
    const atNs = coll.loop.now() - start;
    for (const r of rings)
      for await (const data of r) {
        records++;
        emit({ map: r.map.name, kind: 'ringbuf', atNs, data });
      }
    for (const r of perfs)
      for await (const rec of r) {
        records++;
        emit({ map: r.map.name, kind: 'perf', atNs, cpu: rec.cpu, data: rec.data });
      }
  };
  await drain();
  let events = 0;
  while (events < maxEvents) {
    const n = coll.loop.runUntil(start + windowNs, 1);
    if (n === 0) break;
    events += n;
    await drain();
  }
  return {
    events,
    records,
    ringbufLost: rings.reduce((n, r) => n + r.lost, 0),
    perfLost: perfs.reduce((n, r) => n + r.lost, 0),
    cut: events >= maxEvents,
  };
}
