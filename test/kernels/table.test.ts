// docs/KERNELS.md is generated; it must match what the scan gives for the committed objects.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { kernelTableMarkdown } from '../../scripts/kernel-table.ts';

test('docs/KERNELS.md is up to date (regenerate: npx tsx scripts/kernel-table.ts)', () => {
  const committed = readFileSync(new URL('../../docs/KERNELS.md', import.meta.url), 'utf8');
  const now = kernelTableMarkdown();
  assert.equal(committed, now);
  assert.match(now, /\| `examples\/timer\/timer\.bpf\.o` \| 5\.15 \|/);
});
