// Pins and a loaded object (see pins.ts): libbpf's LIBBPF_PIN_BY_NAME — a map whose definition
// says `pinning` takes over DIR/<name> when that pin exists, and is pinned there after the run —
// and `--pin-maps`, which pins every map whose state is its elements (bpftool's pinmaps).
import type { Collection } from '../runtime/collection.ts';
import { loadPinInto, objectBtfBytes, persistable, pinPath, readPin, writePin } from './pins.ts';
import { fileExists } from './io.ts';

const LIBBPF_PIN_BY_NAME = 1;

const byName = (coll: Collection) => coll.spec.maps.filter((m) => m.pinning === LIBBPF_PIN_BY_NAME);

/** Before verifying and running: by-name maps reuse their pins. Returns the pins reused. */
export function reusePins(coll: Collection, dir: string): string[] {
  const used: string[] = [];
  for (const ms of byName(coll)) {
    const path = pinPath(dir, ms.name);
    if (!fileExists(path)) continue;
    loadPinInto(coll.map(ms.name), readPin(path), path);
    used.push(path);
  }
  return used;
}

export interface SavedPins {
  pinned: { map: string; path: string }[];
  /** --pin-maps: maps left out, and why (ring buffers, prog arrays, ...). */
  skipped: { map: string; why: string }[];
}

/** After the run: by-name maps, and with `all` every persistable map, pinned under `dir`. */
export function savePins(coll: Collection, dir: string, objectPath: string, all: boolean): SavedPins {
  const out: SavedPins = { pinned: [], skipped: [] };
  const names = new Set(byName(coll).map((m) => m.name));
  if (all) for (const m of coll.spec.maps) names.add(m.name);
  if (names.size === 0) return out;
  const btf = objectBtfBytes(objectPath, coll.spec);
  for (const name of names) {
    const map = coll.map(name);
    const why = persistable(map);
    if (why) {
      out.skipped.push({ map: name, why });
      continue;
    }
    const path = pinPath(dir, name);
    writePin(path, map, btf);
    out.pinned.push({ map: name, path });
  }
  return out;
}
