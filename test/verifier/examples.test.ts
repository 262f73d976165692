// Every program of every example object (examples/inventory.json: the kernel accepts them all)
// through tsbpf's verifier. Processed-instruction counts must equal the kernel's but for the
// listed differences.
// Programs the kernel needs over 20k steps for are slow here; TSBPF_SLOW=1 runs them too.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseBtf } from '../../src/btf/unmarshal.ts';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { linkedVerifyProgram } from '../../src/runtime/verify-btf.ts';
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

// libbpf relocates CO-RE accesses against the running kernel's BTF, which then also lays out the
// kernel structs the program reads (iterator ctx, task_struct). So loaded, core_* process exactly
// the kernel's counts, and the iterators stay accepted: vmlinux wraps bpf_iter_meta's `seq` in
// an anonymous union (__bpf_md_ptr), which the BTF walk must enter (kernel: btf_struct_walk()).
const VMLINUX = '/sys/kernel/btf/vmlinux';
const VMLINUX_COUNTS: Record<string, number> = { core_exec: 59, core_rawtp: 100, core_kprobe: 17 };
const vmlinuxPrograms = inventory.objects.flatMap((o) =>
  o.programs
    .filter((p) => p.name in VMLINUX_COUNTS || p.type === 'tracing')
    .map((p) => ({ object: o.object, example: o.example, ...p })),
);
test('with the running kernel BTF as CO-RE target, CO-RE and iterator examples as the kernel loads them', {
  skip: existsSync(VMLINUX) ? false : `${VMLINUX} is missing`,
}, () => {
  const target = parseBtf(readFileSync(VMLINUX), { file: VMLINUX });
  assert.equal(vmlinuxPrograms.length, 5);
  for (const p of vmlinuxPrograms) {
    const spec = loadCollectionSpec(readFileSync(`${root}${p.object}`), { file: p.object });
    const linked = linkProgram(spec, p.name, { mapIndex: 'used', coreTarget: target });
    const r = verify(linkedVerifyProgram(spec, linked, { coreTarget: target }), { logLevel: 1 });
    assert.equal(r.verdict, 'accept', `${p.example}/${p.name}: ${r.error?.message}`);
    const want = VMLINUX_COUNTS[p.name] ?? COUNT_DIFFERS[p.name] ?? p.insnsProcessed;
    assert.equal(r.insnsProcessed, want, `${p.example}/${p.name}`);
  }
});
