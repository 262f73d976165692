// Every program of every example object (examples/inventory.json: the kernel accepts them all)
// through tsbpf's verifier. Processed-instruction counts must equal the kernel's but for the
// listed differences.
// Programs the kernel needs over 20k steps for are slow here; TSBPF_SLOW=1 runs them too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { verify } from '../../src/verifier/index.ts';
import { loadExampleProgram } from './objects.ts';

interface InventoryProgram {
  name: string;
  type: string;
  verdict: string;
  insnsProcessed: number;
}
interface InventoryObject {
  example: string;
  object: string;
  programs: InventoryProgram[];
}

const root = new URL('../../', import.meta.url).pathname;
const inventory = JSON.parse(readFileSync(`${root}examples/inventory.json`, 'utf8')) as {
  objects: InventoryObject[];
};
const slow = process.env.TSBPF_SLOW === '1';

/** Features tsbpf's verifier does not model yet; the kernel accepts these. */
const UNSUPPORTED: Record<string, string> = {};

/**
 * Programs whose processed-instruction count still differs from the kernel's (issue 4), with
 * tsbpf's count; every other program must process exactly as many as the kernel. core_* are
 * relocated here against the object's own BTF, the kernel's through libbpf against vmlinux.
 */
const COUNT_DIFFERS: Record<string, number> = {
  core_rawtp: 111,
  core_kprobe: 28,
  dump_stats: 192,
  list_tasks: 127,
  tls_parse: 6718,
  l4lb: 269424,
};

for (const o of inventory.objects) {
  for (const p of o.programs) {
    const heavy = p.insnsProcessed > 20000 && !slow;
    const todo = UNSUPPORTED[p.name];
    test(`verify ${o.example}/${p.name} (${p.type})`, {
      skip: heavy ? 'slow (TSBPF_SLOW=1)' : false,
      todo,
    }, (t) => {
      const ex = loadExampleProgram(`${root}${o.object}`, p.name);
      const r = verify(ex.input, { logLevel: 1 });
      t.diagnostic(`processed ${r.insnsProcessed} insns, kernel ${p.insnsProcessed}`);
      assert.equal(p.verdict, 'accept');
      assert.equal(
        r.verdict,
        'accept',
        `${r.error?.message} at insn ${r.error?.insnIdx}\n${r.log.slice(-30).join('\n')}`,
      );
      // the kernel's count, or the known different one (a change either way shows here)
      assert.equal(r.insnsProcessed, COUNT_DIFFERS[p.name] ?? p.insnsProcessed);
      // issue 4: processed instructions within 2x of the kernel's
      assert.ok(
        r.insnsProcessed <= 2 * p.insnsProcessed,
        `processed ${r.insnsProcessed} insns, over twice the kernel's ${p.insnsProcessed}`,
      );
      // on acceptance the level-1 log holds only the statistics, as the kernel's does
      assert.equal(r.log.length, 1);
      assert.match(r.log[0]!, /^processed \d+ insns/);
    });
  }
}
