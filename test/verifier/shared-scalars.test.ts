// State copies share their registers' scalars (reg.ts copyRegSharingScalar()): a check that
// changed one in place would silently change another path's state. With TSBPF_VERIFIER_FREEZE=1
// every shared scalar is frozen, so such a change throws (verify() reports it as an internal
// error). This runs every example program and every case file that way, in a child process
// because the flag is read when the verifier loads, and compares the results with this process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { verify } from '../../src/verifier/index.ts';
import { caseProgram, loadCases } from './cases.ts';
import { loadExampleProgram } from './objects.ts';

const root = new URL('../../', import.meta.url).pathname;

/** "name verdict insns" per program; an internal error (a frozen scalar written) shows as "crash". */
export function summary(): string[] {
  const out: string[] = [];
  const run = (name: string, f: () => { verdict: string; insnsProcessed: number }): void => {
    try {
      const r = f();
      out.push(`${name} ${r.verdict} ${r.insnsProcessed}`);
    } catch (e) {
      out.push(`${name} crash ${(e as Error).message}`);
    }
  };
  const inventory = JSON.parse(readFileSync(`${root}examples/inventory.json`, 'utf8')) as {
    objects: { object: string; programs: { name: string; insnsProcessed: number }[] }[];
  };
  for (const o of inventory.objects) {
    // the kernel's heavy ones (l4lb, life) take long here too; examples.test.ts has the rest
    for (const p of o.programs.filter((p) => p.insnsProcessed <= 20000)) {
      run(p.name, () => verify(loadExampleProgram(`${root}${o.object}`, p.name).input, { logLevel: 0 }));
    }
  }
  for (const c of loadCases()) {
    run(c.name, () => verify(caseProgram(c), { logLevel: 1 }));
  }
  return out;
}

if (process.env.TSBPF_SHARED_SCALARS_CHILD === '1') {
  process.stdout.write(JSON.stringify(summary()));
} else {
  test('no check changes a shared scalar in place: examples and cases verify the same with them frozen', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TSBPF_VERIFIER_FREEZE: '1', TSBPF_SHARED_SCALARS_CHILD: '1' },
      maxBuffer: 64 << 20,
    });
    assert.equal(child.status, 0, child.stderr);
    const frozen = JSON.parse(child.stdout) as string[];
    assert.equal(frozen.filter((l) => l.includes(' crash ')).join('\n'), '');
    assert.deepEqual(frozen, summary());
    assert.ok(frozen.length > 100);
  });
}
