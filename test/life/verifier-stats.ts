// The numbers of docs/LIFE.md: verifier statistics of each Life program from tsbpf's verifier
// and from the running kernel's (through kobj, --log 4), side by side, at 64×40 and 256×256.
// Run: node --import tsx test/life/verifier-stats.ts   (kernel columns need bpf() and kobj)
import { readFileSync } from 'node:fs';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { LIFE_OBJECT } from '../../src/life/host.ts';
import { verifyLifeProgram } from '../../src/life/verify.ts';
import { newCollection } from '../../src/runtime/index.ts';
import { kobjPath, leHex, prepareKobj, runKobj } from '../examples/kobj.ts';

const PROGRAMS = ['step', 'start', 'stop', 'seed'];

interface KernelStats {
  processed: number;
  maxStates: number;
  totalStates: number;
  peakStates: number;
  stack: number[];
  usec: number;
}

function kernelStats(prog: string, width: number, height: number): KernelStats | string {
  const r = runKobj([
    LIFE_OBJECT,
    '--prog',
    prog,
    '--log',
    '4',
    '--set-rodata',
    `width=${leHex(width, 4)}`,
    '--set-rodata',
    `height=${leHex(height, 4)}`,
  ]);
  const text = `${r.stdout}\n${r.stderr}`;
  const m =
    /processed (\d+) insns \(limit \d+\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+)/.exec(
      text,
    );
  const s = /stack depth ([\d+]+)/.exec(text);
  const t = /verification time (\d+) usec/.exec(text);
  if (!m || !s) return `kobj: ${r.programs[0]?.error ?? r.stderr.split('\n')[0] ?? 'no log'}`;
  return {
    processed: Number(m[1]),
    maxStates: Number(m[2]),
    totalStates: Number(m[3]),
    peakStates: Number(m[4]),
    stack: s[1]!.split('+').map(Number),
    usec: Number(t?.[1] ?? 0),
  };
}

const kobjSkip = prepareKobj();
const spec = loadCollectionSpec(readFileSync(LIFE_OBJECT), { file: LIFE_OBJECT });
for (const [width, height] of [
  [64, 40],
  [256, 256],
] as const) {
  const coll = newCollection(spec, { verify: false, rodata: { width, height } });
  console.log(`\n### ${width} × ${height}\n`);
  console.log(
    '| program | processed insns (tsbpf / kernel) | max states per insn | total states | peak states | time (tsbpf / kernel) |',
  );
  console.log('|---|---|---|---|---|---|');
  const frames: string[] = [];
  for (const name of PROGRAMS) {
    const v = verifyLifeProgram(spec, coll, name);
    const st = v.result.stats;
    const k = kobjSkip ? kobjSkip : kernelStats(name, width, height);
    const kk = typeof k === 'string' ? undefined : k;
    const pair = (a: number, b: number | undefined) =>
      `${a.toLocaleString('en')} / ${b?.toLocaleString('en') ?? '–'}`;
    console.log(
      `| \`${name}\` (${v.result.verdict}) | ${pair(st.insnsProcessed, kk?.processed)} | ${pair(st.maxStatesPerInsn, kk?.maxStates)} | ` +
        `${pair(st.totalStates, kk?.totalStates)} | ${pair(st.peakStates, kk?.peakStates)} | ` +
        `${(v.ms / 1000).toFixed(2)} s / ${kk ? `${(kk.usec / 1e6).toFixed(3)} s` : '–'} |`,
    );
    const ends = [...v.functions.map((f) => f.insnOff).slice(1), v.insns];
    v.functions.forEach((f, i) => {
      frames.push(
        `| \`${name}\` | ${i === 0 ? 'main' : `\`${f.name}\``} | ${f.insnOff} | ${ends[i]! - f.insnOff} | ` +
          `${st.stackDepth[i] ?? '–'} / ${kk?.stack[i] ?? '–'} |`,
      );
    });
    if (typeof k === 'string') console.error(`${name}: kernel column empty: ${k}`);
  }
  console.log("\nPer function of each loaded image (the kernel's subprograms, in `stack depth` order):\n");
  console.log('| program | function | first insn | insns | stack bytes (tsbpf / kernel) |');
  console.log('|---|---|---|---|---|');
  for (const f of frames) console.log(f);
  coll.close();
}
if (kobjSkip) console.error(`kernel columns skipped: ${kobjSkip} (${kobjPath})`);
