// scripts/build-examples.sh must reproduce the committed objects byte for byte
// (same clang: 19.1.x), so that the .o files are what their sources say.  Skips
// when clang-19 or libbpf-dev is missing: the committed objects are used as they are.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from './kobj.ts';
import { exampleNames, objectPath } from './make-inventory.ts';

function skipReason(): string | undefined {
  const v = spawnSync('clang-19', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return 'clang-19 is not installed';
  if (!/version 19\.1\./.test(v.stdout))
    return `objects were built by clang 19.1, this is ${v.stdout.split('\n')[0]}`;
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf-dev is not installed';
  return undefined;
}

const skip = skipReason();
const out = mkdtempSync(join(tmpdir(), 'tsbpf-build-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('a rebuild into another directory gives the committed bytes', { skip }, () => {
  const r = spawnSync('bash', [join(repoRoot, 'scripts/build-examples.sh'), '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  for (const name of exampleNames()) {
    const committed = readFileSync(join(repoRoot, objectPath(name)));
    const rebuilt = readFileSync(join(out, name, objectPath(name).split('/').pop()!));
    assert.ok(
      committed.equals(rebuilt),
      `${objectPath(name)} differs from a rebuild: run npm run build:examples`,
    );
  }
});

test('the build script explains a missing clang', () => {
  const r = spawnSync('bash', [join(repoRoot, 'scripts/build-examples.sh'), '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, CLANG: 'clang-that-does-not-exist' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /'clang-that-does-not-exist' not found/);
});
