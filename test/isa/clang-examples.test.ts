// Every example's `clang-19 -S` output, assembled by us section by section, gives the bytes of the
// committed `.o` (same flags as scripts/build-examples.sh). Slots that the object leaves to
// relocations (symbol lddws, bpf-to-bpf and kfunc calls) are skipped. Skipped without clang-19.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assemble } from '../../src/isa/asm/llvm.ts';
import { codeSections } from './elf-code.ts';

const root = new URL('../..', import.meta.url).pathname;
const MARK = 0x5eed5eed;

function clangReady(): boolean {
  try {
    execFileSync('clang-19', ['--version'], { stdio: 'ignore' });
    return existsSync('/usr/include/bpf/bpf_helpers.h');
  } catch {
    return false;
  }
}

/** The .s text split by section, code lines rewritten so relocated operands assemble. */
function sectionsOf(s: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur = '.text';
  for (const line of s.split('\n')) {
    const sec = /^\s*\.section\s+"?([^",\s]+)/.exec(line);
    if (sec) cur = sec[1]!;
    else if (/^\s*\.(text|data|bss)\s*$/.test(line)) cur = line.trim();
    const fixed = line
      .replace(/^(\s*r\d+ = )([A-Za-z_.$][\w.$]*(?:[+-]\d+)?)( ll)/, `$1${MARK}$3`)
      .replace(/^(\s*call )([A-Za-z_.$][\w.$]*)\s*$/, '$1pc-1');
    if (!out.has(cur)) out.set(cur, []);
    out.get(cur)!.push(fixed);
  }
  return out;
}

test('clang-19 -S of every example assembles to its committed object', {
  skip: clangReady() ? false : 'clang-19 or libbpf headers missing',
}, () => {
  const work = mkdtempSync(join(tmpdir(), 'tsbpf-ex-'));
  const arch = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
  let compared = 0;
  let examples = 0;
  try {
    for (const n of readdirSync(join(root, 'examples')).sort()) {
      const base = join(root, 'examples', n, n.replace(/-/g, '_'));
      if (!existsSync(`${base}.bpf.c`) || !existsSync(`${base}.bpf.o`)) continue;
      const flagsFile = join(root, 'examples', n, 'build-flags');
      const extra = existsSync(flagsFile)
        ? readFileSync(flagsFile, 'utf8').trim().split(/\s+/).filter(Boolean)
        : [];
      const out = join(work, `${n}.s`);
      execFileSync(
        'clang-19',
        [
          '-target',
          'bpf',
          '-O2',
          '-g',
          '-Wall',
          '-std=gnu11',
          `-ffile-prefix-map=${root}=`,
          '-fdebug-compilation-dir=.',
          `-I/usr/include/${arch}-linux-gnu`,
          ...extra,
          '-S',
          `${base}.bpf.c`,
          '-o',
          out,
        ],
        { stdio: 'ignore', cwd: root },
      );
      const chunks = sectionsOf(readFileSync(out, 'utf8'));
      examples++;
      for (const sec of codeSections(new Uint8Array(readFileSync(`${base}.bpf.o`)))) {
        const text = chunks.get(sec.name);
        assert.ok(text, `${n}: section ${sec.name} is in the .o but not in the .s`);
        const ours = assemble(text.join('\n'), { file: `${n}.s` }, { unlinked: true });
        const want = Buffer.from(sec.bytes);
        assert.equal(
          ours.length * 8,
          want.length,
          `${n} ${sec.name}: slot count (is the committed .o stale?)`,
        );
        for (let k = 0; k < ours.length; k++) {
          const i = ours[k]!;
          if (i.code === 0x18 && i.imm === MARK) {
            k++;
            continue;
          }
          const w = want.readBigUInt64LE(k * 8);
          if (i.code === 0x85 && (w >> 12n) & 0xfn) continue; // relocated call
          const g = Buffer.alloc(8);
          g.writeUInt8(i.code, 0);
          g.writeUInt8(i.dst | (i.src << 4), 1);
          g.writeInt16LE(i.off, 2);
          g.writeInt32LE(i.imm, 4);
          assert.equal(g.readBigUInt64LE(0).toString(16), w.toString(16), `${n} ${sec.name} slot ${k}`);
          compared++;
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  assert.ok(examples >= 10 && compared > 3000, `${examples} examples, ${compared} slots compared`);
});
