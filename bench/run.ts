// `npm run bench`: runs every bench/*.ts module in turn (each in its own process, so one
// module's JIT warm-up and garbage do not colour the next), prints their tables, and records
// them in bench/results/latest.json. Arguments go to every module (`npm run bench -- --quick`);
// bare words pick modules by name (`npm run bench -- interp`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));

interface Row {
  label: string;
  value: number;
  unit: string;
  detail?: string;
}

interface ModuleResult {
  module: string;
  exitCode: number | null;
  wallMs: number;
  rows: Row[];
  output: string[];
}

// "checked   xorshift64 (alu64)    56.6 M insns/s  (2.4 M insns in 42.4 ms CPU)": the value
// follows two or more spaces, so numbers inside a label ("sort 64 u32") stay in the label.
const ROW =
  /^(?<label>.+?)\s{2,}(?<value>\d+(?:\.\d+)?)\s+(?<unit>[A-Za-zµ][\w/µ ]*?)(?:\s+\((?<detail>.*)\))?\s*$/;

export function parseRow(line: string): Row | undefined {
  const m = ROW.exec(line);
  if (!m?.groups) return undefined;
  const { label, value, unit, detail } = m.groups as {
    label: string;
    value: string;
    unit: string;
    detail?: string;
  };
  return {
    label: label.trim().replace(/\s+/g, ' '),
    value: Number(value),
    unit,
    ...(detail ? { detail } : {}),
  };
}

function modules(): string[] {
  const all = readdirSync(here)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
    .sort();
  return names.length ? all.filter((f) => names.some((n) => f.includes(n))) : all;
}

function runModule(file: string): ModuleResult {
  const name = basename(file, '.ts');
  console.log(`\n== ${name} ${flags.join(' ')}`.trimEnd());
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, file), ...flags], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const wallMs = Math.round(performance.now() - t);
  const output = (r.stdout ?? '').split('\n').filter((l) => l.trim() !== '');
  for (const l of output) console.log(l);
  if (r.status !== 0) console.log(`(${name} exited with ${r.status ?? r.signal})`);
  const rows = output.map(parseRow).filter((x): x is Row => x !== undefined);
  return { module: name, exitCode: r.status, wallMs, rows, output };
}

function main(): number {
  const list = modules();
  if (list.length === 0) {
    console.error(`bench: no benchmark module matches ${names.join(' ')}`);
    return 2;
  }
  const results = list.map(runModule);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    args,
    modules: results,
  };
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  // Write then rename, so an interrupted run never leaves half a file.
  const tmp = join(dir, 'latest.json.tmp');
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, join(dir, 'latest.json'));
  console.log(
    `\nwrote bench/results/latest.json (${results.length} module${results.length === 1 ? '' : 's'})`,
  );
  return results.every((r) => r.exitCode === 0) ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
