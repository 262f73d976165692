// linkProgram (+ CO-RE against the running kernel's BTF) must produce exactly the instructions
// libbpf loads: same order of appended functions, same offsets, same pseudo map references.
// libbpf-insns.c prints libbpf's result; it needs gcc, libbpf and a kernel that accepts the program.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseBtf } from '../../src/btf/index.ts';
import { linkProgram, loadCollectionSpec } from '../../src/elf/index.ts';
import { OP_LDDW, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE } from '../../src/isa/opcode.ts';
import { base, objectFiles, readObject } from './fixtures.ts';

const root = new URL('../..', import.meta.url).pathname;
const VMLINUX = '/sys/kernel/btf/vmlinux';

function buildTool(): string {
  const bin = join(root, 'node_modules/.cache/libbpf-insns');
  const src = join(root, 'test/elf/libbpf-insns.c');
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
  const r = spawnSync('gcc', ['-O1', '-o', bin, src, '-lbpf'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return `skipped: cannot build libbpf-insns (${r.error?.message ?? r.stderr.trim()})`;
  return bin;
}

const tool = buildTool();
const skip = !tool.startsWith('/') ? tool : !existsSync(VMLINUX) ? 'skipped: no kernel BTF' : false;

test('linked programs equal what libbpf loads', { skip }, (t) => {
  const vmlinux = parseBtf(new Uint8Array(readFileSync(VMLINUX)), { file: VMLINUX });
  let compared = 0;
  let skipped = 0;
  for (const f of objectFiles()) {
    if (base(f) === 'legacy.bpf.o') continue; // libbpf ≥ 1.0 refuses SEC("maps")
    const spec = loadCollectionSpec(readObject(f), { file: base(f) });
    for (const p of spec.programs) {
      if (p.unknownSection || p.relocs.some((r) => r.kind === 'unsupported')) continue;
      const out = spawnSync(tool, [f, p.name], { encoding: 'utf8' });
      if (out.stdout.startsWith('error:')) {
        // The kernel refused it (no attach target here, or poisoned CO-RE): nothing to compare.
        skipped++;
        continue;
      }
      const theirs = out.stdout.trim().split('\n');
      const l = linkProgram(spec, p.name, { coreTarget: vmlinux });
      const ours: string[] = [];
      for (let i = 0; i < l.insns.length; i++) {
        const x = l.insns[i]!;
        if (x.code === OP_LDDW && (x.src === PSEUDO_MAP_FD || x.src === PSEUDO_MAP_VALUE)) {
          ours.push(`${x.code} ${x.dst} ${x.src} ${x.off} map:${spec.maps[x.imm]!.name}`);
          continue;
        }
        ours.push(`${x.code} ${x.dst} ${x.src} ${x.off} ${x.imm}`);
      }
      assert.deepEqual(ours, theirs, `${base(f)} ${p.name}`);
      compared++;
    }
  }
  t.diagnostic(`${compared} programs identical to libbpf's, ${skipped} not loadable here`);
  assert.ok(compared >= 10, `compared ${compared} programs`);
});
