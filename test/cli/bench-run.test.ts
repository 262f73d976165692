// bench/run.ts reads benchmark tables back into rows for bench/results/latest.json.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRow } from '../../bench/run.ts';

test('bench rows: value after two spaces, numbers inside labels stay in the label', () => {
  assert.deepEqual(
    parseRow('checked   bubble sort 64 u32 (branchy)      69.3 M insns/s  (1.8 M insns in 25.6 ms CPU)'),
    {
      label: 'checked bubble sort 64 u32 (branchy)',
      value: 69.3,
      unit: 'M insns/s',
      detail: '1.8 M insns in 25.6 ms CPU',
    },
  );
  assert.deepEqual(parseRow('load l4lb.o  12 ms'), { label: 'load l4lb.o', value: 12, unit: 'ms' });
  assert.equal(parseRow('== interp'), undefined);
});
