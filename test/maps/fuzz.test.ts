// Bad input never crashes the maps module: random specs (any type number, sizes from 0 to
// 2^32-1, any flags) either create a map or throw MapError/UsageError, and random host
// operations (wrong key/value sizes, any flags) on created maps do the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { createMap } from '../../src/maps/create.ts';
import { MapError } from '../../src/maps/errno.ts';
import type { BpfMap } from '../../src/maps/map.ts';
import { Arena } from '../../src/vm/arena.ts';
import { mulberry32Below } from '../../src/prng.ts';

const expected = (e: unknown): boolean => e instanceof MapError || e instanceof UsageError;

test('random specs and operations end in a map, a MapError or a UsageError', () => {
  const r = mulberry32Below(4242);
  const size = (): number => [0, 1, 4, 6, 8, 16, 260, 4096, 65536, 2 ** 31, 2 ** 32 - 1][r(11)]! + r(3);
  const arena = new Arena({ maxPages: 4096 });
  let created = 0;
  let refused = 0;
  for (let i = 0; i < 1500; i++) {
    const type = r(4) === 0 ? r(40) : [1, 2, 5, 6, 9, 10, 11, 12, 13, 22, 23, 27, 30][r(13)]!;
    // Half the specs are plausible for their type, so operations get exercised too.
    const plausible = r(2) === 0;
    const keyless = [22, 23, 27, 30].includes(type);
    const spec = {
      type,
      keySize: plausible ? (keyless ? 0 : type === 11 ? 8 : 4) : size(),
      valueSize: plausible ? (type === 27 ? 0 : [12, 13].includes(type) ? 4 : 8) : size(),
      maxEntries: plausible ? (type === 27 ? 4096 : 1 + r(20)) : size(),
      flags: plausible
        ? type === 11
          ? 1
          : 0
        : r(3) === 0
          ? r(1 << 19)
          : [0, 1, 2, 64, 128, 1024, 4096][r(7)]!,
      mapExtra: !plausible && r(4) === 0 ? r(40) : 0,
      innerMap: r(2) ? { type: 'array', keySize: 4, valueSize: 4, maxEntries: 2 } : undefined,
    };
    let m: BpfMap;
    try {
      m = createMap(arena, spec, { nrCpus: 1 + r(3) });
    } catch (e) {
      assert.ok(expected(e), `spec ${JSON.stringify(spec)}: ${String(e)}`);
      refused++;
      continue;
    }
    created++;
    for (let j = 0; j < 20; j++) {
      const key = new Uint8Array(r(3) ? m.keySize : r(9));
      key.forEach((_, k) => {
        key[k] = r(4);
      });
      const value = new Uint8Array(r(3) ? m.hostValueSize : r(17));
      try {
        switch (r(6)) {
          case 0:
            m.update(key, value, r(4) ? r(3) : r(1 << 20));
            break;
          case 1:
            m.lookup(key);
            break;
          case 2:
            m.delete(key);
            break;
          case 3:
            m.nextKey(r(2) ? key : undefined);
            break;
          case 4:
            m.lookupAndDelete(key, r(3));
            break;
          default:
            m.lookupBatch(r(5), r(2) ? key : undefined);
        }
      } catch (e) {
        assert.ok(expected(e), `${m.typeName}: ${String(e)}`);
      }
    }
    m.close();
  }
  assert.ok(created > 300 && refused > 300, `${created} created, ${refused} refused`);
});
