// docs/KERNELS.md is generated; its rows must match what the scan gives now. Examples added to the
// inventory after the last regeneration are only reported (the doc's owner regenerates it), so a new
// example elsewhere in the tree does not fail this test; a changed row does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { kernelTableMarkdown } from '../../scripts/kernel-table.ts';

const rowsOf = (md: string): Map<string, string> =>
  new Map(
    md
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => [l.slice(3, l.indexOf('`', 3)), l]),
  );

test('docs/KERNELS.md rows are up to date (regenerate: npx tsx scripts/kernel-table.ts)', (t) => {
  const committed = rowsOf(readFileSync(new URL('../../docs/KERNELS.md', import.meta.url), 'utf8'));
  const now = rowsOf(kernelTableMarkdown());
  assert.ok(committed.size >= 18, `${committed.size} rows`);
  for (const [object, row] of committed) {
    if (!now.has(object)) t.diagnostic(`${object} is no longer in examples/inventory.json`);
    else assert.equal(row, now.get(object), object);
  }
  for (const object of now.keys())
    if (!committed.has(object)) t.diagnostic(`${object} is not in docs/KERNELS.md yet`);
  assert.match(
    committed.get('examples/timer/timer.bpf.o') ?? '',
    /^\| `examples\/timer\/timer\.bpf\.o` \| 5\.15 \|/,
  );
});
