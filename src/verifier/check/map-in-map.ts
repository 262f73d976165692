// Maps of maps (kernel: map->inner_map_meta). A lookup in an array_of_maps/hash_of_maps yields
// map_value_or_null like any lookup; the null check turns the non-null side into a map pointer
// to the inner map template (kernel: mark_ptr_or_null_reg()), which lookups then take as R1.
// The templates are appended to the verifier's map list so a register can name them by index.
import type { MapInfo } from '../env.ts';
import type { RegState } from '../reg.ts';
import { copyReg } from '../reg.ts';

export const isMapInMap = (m: MapInfo | undefined): boolean =>
  m?.type === 'array_of_maps' || m?.type === 'hash_of_maps';

/**
 * The program's maps followed by each outer map's inner template; `innerIndex[i]` is where map
 * i's template went (-1 for ordinary maps). Indices below `maps.length` are unchanged.
 */
export function withInnerMaps(maps: readonly MapInfo[]): { maps: MapInfo[]; innerIndex: number[] } {
  const all = [...maps];
  const innerIndex = maps.map(() => -1);
  maps.forEach((m, i) => {
    if (!isMapInMap(m) || !m.inner) return;
    innerIndex[i] = all.length;
    all.push(m.inner);
  });
  return { maps: all, innerIndex };
}

/** kernel: mark_ptr_or_null_reg(), non-null side of a map value from a map of maps. */
export function innerMapPointer(r: RegState, innerIndex: readonly number[]): RegState | null {
  if (r.type !== 'PTR_TO_MAP_VALUE') return null;
  const inner = innerIndex[r.mapIndex] ?? -1;
  if (inner < 0) return null;
  // copyReg(): the one object shape of every register (a spread builds another)
  const c = copyReg(r);
  c.type = 'CONST_PTR_TO_MAP';
  c.mapIndex = inner;
  c.maybeNull = false;
  c.id = 0;
  return c;
}
