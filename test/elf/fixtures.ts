// Shared by the elf/btf tests: the object files to check and a runner for the LLVM/bpftool
// tools whose output the tests compare against (tests skip, saying why, when a tool is missing).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
export const FIXTURE_DIR = join(root, 'test/fixtures/objects');

/** Our fixtures plus the examples' objects (read-only), as absolute paths. */
export function objectFiles(): string[] {
  const out = readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.o'))
    .map((f) => join(FIXTURE_DIR, f));
  const ex = join(root, 'examples');
  if (existsSync(ex)) {
    for (const d of readdirSync(ex)) {
      const dir = join(ex, d);
      try {
        for (const f of readdirSync(dir)) if (f.endsWith('.o')) out.push(join(dir, f));
      } catch {
        // not a directory
      }
    }
  }
  return out.sort();
}

export function fixture(name: string): string {
  return join(FIXTURE_DIR, name);
}

export function readObject(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Runs a tool; undefined when it is not installed (the caller skips with a message). */
export function run(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) return undefined;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export const hasTool = (cmd: string): boolean => !spawnSync(cmd, ['--version']).error;

export const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
