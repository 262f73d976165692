// Every verifier case file (those without BTF) loaded by the live kernel twice: as root, and with
// CAP_BPF + CAP_NET_ADMIN but without CAP_PERFMON / CAP_SYS_ADMIN (capsh --drop), where the
// kernel verifies with bypass_spec_v1, bypass_spec_v4, allow_ptr_leaks and allow_uninit_stack
// off. Prints the cases whose verdict or processed count changes: what tsbpf's `perfmon: false`
// reproduces (test/verifier/no-perfmon.test.ts compares the two; docs/STATUS.md). Needs root, gcc
// and capsh.
//   npx tsx scripts/kernel-capbpf-diff.ts
import { spawnSync } from 'node:child_process';
import { encodeProgram } from '../src/isa/index.ts';
import { loadCases } from '../test/verifier/cases.ts';
import { prepareKbpf, TempDir } from '../test/oracles.ts';

const tool = prepareKbpf();
if (tool.skip) {
  console.error(`kbpf unavailable: ${tool.skip}`);
  process.exit(2);
}
const dir = new TempDir('tsbpf-capbpf-');
const verdictOf = (out: string): string => /^verdict: (\w+)/m.exec(out)?.[1] ?? 'error';
const processedOf = (out: string): string => /processed (\d+) insns/.exec(out)?.[1] ?? '-';
const lastLine = (out: string): string =>
  out
    .split('\n')
    .filter((l) => l.trim() && !/^(processed|---|verdict|insns_processed|errno)/.test(l))
    .at(-1) ?? '';
let n = 0;
let same = 0;
const verdicts: string[] = [];
const counts: string[] = [];
for (const c of loadCases()) {
  if (c.btf) continue;
  n++;
  const prog = dir.file(`${c.name}.bin`, encodeProgram(c.insns));
  const maps = c.maps.flatMap((m) => ['--map', m.split(':').slice(0, 4).join(':')]);
  const args = [tool.path, '--type', c.progType, '--log', '1', ...maps, prog];
  const root = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  const capped = spawnSync('capsh', ['--drop=cap_sys_admin,cap_perfmon', '--', '-c', args.join(' ')], {
    encoding: 'utf8',
  });
  const r = `${root.stdout}${root.stderr}`;
  const k = `${capped.stdout}${capped.stderr}`;
  if (verdictOf(r) !== verdictOf(k))
    verdicts.push(`${c.name}: ${verdictOf(r)} -> ${verdictOf(k)}: ${lastLine(k)}`);
  else if (processedOf(r) !== processedOf(k))
    counts.push(`${c.name}: processed ${processedOf(r)} -> ${processedOf(k)}`);
  else same++;
}
dir.close();
console.log(
  `${n} case files: ${same} the same, ${verdicts.length} other verdict, ${counts.length} other processed count`,
);
for (const l of [...verdicts, ...counts]) console.log(`  ${l}`);
