// Every program of every committed example object must be accepted by the running
// kernel when libbpf loads the object (through kobj), and examples/inventory.json must
// describe the objects as they are.  Skips the kernel part, saying why, when gcc,
// libbpf-dev or a working bpf() are missing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareKobj, repoRoot, runKobj } from './kobj.ts';
import { exampleNames, type Inventory, objectPath } from './make-inventory.ts';

const inventory = JSON.parse(readFileSync(join(repoRoot, 'examples/inventory.json'), 'utf8')) as Inventory;
const skipReason = prepareKobj();

test('every example folder has its source and committed object, and the inventory lists them all', () => {
  const names = exampleNames();
  assert.ok(names.length >= 14, `only ${names.length} examples`);
  for (const n of names) {
    const obj = objectPath(n);
    assert.ok(existsSync(join(repoRoot, obj)), `${obj} is missing: run npm run build:examples`);
    assert.ok(existsSync(join(repoRoot, obj.replace(/\.o$/, '.c'))), `source of ${obj} is missing`);
  }
  assert.deepEqual(
    inventory.objects.map((o) => o.example),
    names,
  );
});

test('objects do not embed the absolute build directory', () => {
  for (const o of inventory.objects) {
    const bytes = readFileSync(join(repoRoot, o.object)).toString('latin1');
    assert.ok(!bytes.includes(repoRoot), `${o.object} contains ${repoRoot}`);
    // but they do carry the relative source path in their debug info
    assert.ok(bytes.includes(o.source), `${o.object} lacks the source path ${o.source}`);
  }
});

test('inventory: every program is recorded as accepted, with its subprograms in .text', () => {
  for (const o of inventory.objects) {
    assert.ok(o.programs.length > 0, o.object);
    for (const p of o.programs) {
      assert.equal(p.verdict, 'accept', `${o.object} ${p.name}`);
      const fn = o.functions.find((f) => f.name === p.name);
      assert.ok(fn, `${o.object}: no symbol for program ${p.name}`);
      assert.equal(fn.section, p.section, `${o.object} ${p.name}: symbol section`);
      assert.equal(fn.insns, p.insns, `${o.object} ${p.name}: symbol size vs kobj's count`);
      // Loaded = own + the .text subprograms it calls, so never fewer.
      assert.ok(p.insnsLoaded >= p.insns);
    }
  }
});

test('only the tail-call stages cannot be loaded one at a time', () => {
  const notAlone = inventory.objects.flatMap((o) =>
    o.programs.filter((p) => p.verdictAlone !== 'accept').map(() => o.example),
  );
  assert.deepEqual([...new Set(notAlone)], ['tail-calls']);
});

test('the large example has over 1,000 instructions in one program', () => {
  const l4lb = inventory.objects.find((o) => o.example === 'l4lb');
  assert.ok(l4lb && l4lb.programs[0]!.insns > 1000);
});

for (const o of inventory.objects) {
  test(`kernel accepts every program of ${o.object}`, { skip: skipReason }, () => {
    const r = runKobj(['--all', o.object]);
    assert.equal(r.status, 0, `kobj exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    const got = r.programs.map((p) => ({
      name: p.program,
      section: p.section,
      type: p.type,
      verdict: p.verdict,
    }));
    const want = o.programs.map((p) => ({
      name: p.name,
      section: p.section,
      type: p.type,
      verdict: 'accept',
    }));
    assert.deepEqual(got, want);
    for (const p of r.programs) {
      assert.equal(p.insns, o.programs.find((q) => q.name === p.program)!.insns, `${p.program} insns`);
    }
    // Program by program (libbpf told to skip the others), as the inventory says.
    const alone = runKobj([o.object]).programs.map((p) => [p.program, p.verdict]);
    assert.deepEqual(
      alone,
      o.programs.map((p) => [p.name, p.verdictAlone]),
    );
  });
}
