// The comparative suite: eight workloads of different character (bench/suite/algo.h), each run
// back to back in one process on the kernel's JIT (BPF_PROG_TEST_RUN through the kobj oracle),
// as native C (gcc -O2), and on tsbpf's interpreter and WebAssembly JIT (the fastest of short
// samples: the machine is shared). Prints ns per run, the
// ratios and their geometric means over the compute workloads (all but xdp_pass), checks that
// every engine returns the same retval, and writes bench/results/compare.json (with
// --unchecked: compare-unchecked.json).
// Run: node --import tsx bench/compare.ts [--quick] [--unchecked] [--only NAME,NAME]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadCollectionSpec } from '../src/elf/index.ts';
import { type Engine, newCollection } from '../src/runtime/index.ts';
import { makePacket } from './suite/packet.ts';
import { SHARED_DIR } from '../test/shared-dir.ts';

const root = new URL('..', import.meta.url).pathname;
const suite = join(root, 'bench/suite');
const cache = join(root, 'node_modules/.cache/bench-suite');
const objectPath = join(suite, 'bpf/workloads.bpf.o');
const quick = process.argv.includes('--quick');
const onlyArg = process.argv[process.argv.indexOf('--only') + 1];
const only = process.argv.includes('--only') && onlyArg ? onlyArg.split(',') : undefined;
/** Time each engine spends on one workload (a run lasts at least one call). */
const budgetMs = quick ? 40 : 150;
/**
 * The kernel times BPF_PROG_TEST_RUN without the time it was preempted (bpf_test_timer stops
 * across a reschedule). On a shared machine tsbpf's runs are measured in short samples instead,
 * of which the fastest counts: a preempted sample is slower, never faster. Native C likewise
 * (one process per sample; a run longer than a sample is its own sample).
 */
const TSBPF_SAMPLE_MS = 2;
const NATIVE_SAMPLE_MS = 2;
const NATIVE_SAMPLES = quick ? 8 : 20;
/** --unchecked: tsbpf without run-time memory checks (the verifier has proved the accesses safe). */
const unchecked = process.argv.includes('--unchecked');

interface Workload {
  name: string;
  what: string;
  /** Per-call overhead rather than compute: left out of the geometric means. */
  overhead?: boolean;
}

const WORKLOADS: readonly Workload[] = [
  { name: 'xdp_pass', what: 'return XDP_PASS (call overhead)', overhead: true },
  { name: 'parse', what: 'Ethernet/IPv4/UDP header parse' },
  { name: 'csum', what: 'Internet checksum, 1500 bytes' },
  { name: 'hash', what: 'MurmurHash3 over 1 KiB' },
  { name: 'life', what: 'Life generation, 32×32 torus' },
  { name: 'sort', what: 'bubble sort, 64 u32 on the stack' },
  { name: 'hashmap', what: '64 hash-map lookups (helpers)' },
  { name: 'loop', what: 'bpf_loop, 1M callbacks' },
];

type EngineName = 'kernel' | 'native' | 'interp' | 'jit';
const ENGINES: readonly EngineName[] = ['kernel', 'native', 'interp', 'jit'];

interface Measurement {
  ns?: number;
  retval?: number;
  runs?: number;
  note?: string;
}

function newer(out: string, src: string[]): boolean {
  return existsSync(out) && src.every((s) => statSync(s).mtimeMs <= statSync(out).mtimeMs);
}

/** Builds a tool into the cache with gcc; undefined (and a note) when it cannot. */
function build(out: string, src: string[], args: string[], notes: string[]): string | undefined {
  if (newer(out, src)) return out;
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', out, ...args], { encoding: 'utf8' });
  if (r.status === 0) return out;
  notes.push(`gcc ${out}: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`);
  return undefined;
}

function parseReport(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0 && !m.has(line.slice(0, i))) m.set(line.slice(0, i), line.slice(i + 2).trim());
  }
  return m;
}

/** This process's CPU time in ms (all threads: V8 compiles optimised code in the background). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time each tsbpf engine runs a workload, unmeasured, before the measured runs. */
const warmupMs = quick ? 300 : 600;

/** Repeat count that fills `ms`, given the time of one run. */
function repeatFor(nsPerRun: number, max: number, ms = budgetMs): number {
  return Math.max(1, Math.min(max, Math.round((ms * 1e6) / Math.max(nsPerRun, 1))));
}

function runKernel(kobj: string, w: Workload, pkt: string): Measurement {
  const once = (repeat: number) => {
    const r = spawnSync(kobj, ['--run', w.name, '--repeat', String(repeat), '--data', pkt, objectPath], {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    const rep = parseReport(r.stdout ?? '');
    if (rep.get('verdict') !== 'accept' || !rep.has('duration_ns'))
      return {
        note: `kernel: ${rep.get('verdict') ?? 'no verdict'} ${rep.get('errno') ?? ''} ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}`.trim(),
      };
    return { ns: Number(rep.get('duration_ns')), retval: Number(rep.get('retval')), runs: repeat };
  };
  const probe = once(3);
  if (probe.ns === undefined) return probe;
  return once(repeatFor(probe.ns, 10_000_000));
}

/** The sample with the least ns per run (or the first failure). */
function fastest(sample: () => Measurement, n: number): Measurement {
  let best: Measurement | undefined;
  for (let i = 0; i < n; i++) {
    const m = sample();
    if (m.ns === undefined) return m;
    if (best === undefined || m.ns < best.ns!) best = m;
  }
  return best!;
}

function runNative(bin: string, w: Workload, pkt: string): Measurement {
  return fastest(() => {
    const r = spawnSync(bin, [w.name, pkt, String(NATIVE_SAMPLE_MS)], { encoding: 'utf8' });
    const [ns, ret] = (r.stdout ?? '').trim().split(/\s+/);
    if (r.status !== 0 || ns === undefined || ret === undefined)
      return { note: `native: ${(r.stderr ?? '').trim() || `exit ${r.status}`}` };
    return { ns: Number(ns), retval: Number(ret) };
  }, NATIVE_SAMPLES);
}

function runTsbpf(engine: Engine, w: Workload, data: Uint8Array): Measurement {
  const spec = loadCollectionSpec(readFileSync(objectPath), { file: objectPath });
  const coll = newCollection(spec, { engine, programs: [w.name], vm: { checked: !unchecked } });
  try {
    const prog = coll.program(w.name);
    const first = prog.run({ data }); // JIT compilation, the hash map's inserts
    // Warm-up: V8 needs >100 ms (more on a busy machine) to optimise the interpreter's big
    // switch; measuring before that timed unoptimised code (life 24 ms/run instead of ~1 ms).
    const warm = cpuMs();
    let probe = prog.run({ data });
    // CPU time, not wall time: on a loaded machine V8's background tier-up needs CPU to finish.
    while (cpuMs() - warm < warmupMs && probe.durationNs * 2 <= budgetMs * 1e6)
      probe = prog.run({ data, repeat: repeatFor(probe.durationNs, 50_000_000, budgetMs / 8) });
    // One sample: wall time or this process's CPU time, whichever is less. Both include the run
    // (wall time also any preemption, CPU time also V8's background threads), so the lesser is
    // still an upper bound; CPU time is what keeps runs longer than a time slice honest.
    const sample = (repeat: number): Measurement => {
      const c0 = cpuMs();
      const r = prog.run({ data, repeat });
      const cpuNs = ((cpuMs() - c0) * 1e6) / repeat;
      const note = r.retval === first.retval ? undefined : `${engine}: retval changed between runs`;
      return { ns: Math.min(r.durationNs, cpuNs), retval: r.retval, runs: repeat, ...(note ? { note } : {}) };
    };
    // A run that alone fills half the budget (bpf_loop on the interpreter) is measured once.
    if (probe.durationNs * 2 > budgetMs * 1e6) return sample(1);
    const repeat = repeatFor(probe.durationNs, 50_000_000, TSBPF_SAMPLE_MS);
    const samples = Math.max(
      3,
      Math.round(budgetMs / Math.max(TSBPF_SAMPLE_MS, (repeat * probe.durationNs) / 1e6)),
    );
    return fastest(() => sample(repeat), samples);
  } catch (e) {
    return { note: `${engine}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  } finally {
    coll.close();
  }
}

function geomean(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
const fmtNs = (x?: number) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmtX = (x?: number) => (x === undefined ? '—' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`);

function main(): number {
  mkdirSync(cache, { recursive: true });
  const notes: string[] = [];
  const pktPath = join(cache, 'packet.bin');
  const packet = makePacket();
  writeFileSync(pktPath, packet);
  const nativeSrc = join(suite, 'native/workloads.c');
  const native = build(join(cache, 'native'), [nativeSrc, join(suite, 'algo.h')], [nativeSrc], notes);
  const kobjSrc = `${SHARED_DIR}/tools/kobj/kobj.c`;
  let kobj: string | undefined;
  if (existsSync(kobjSrc))
    kobj = build(join(cache, 'kobj'), [kobjSrc], [kobjSrc, '-lbpf', '-lelf', '-lz'], notes);
  else notes.push(`kernel: ${kobjSrc} not found, kernel column skipped`);

  // The kernel column means "the kernel's JIT" only when the JIT is on (1, or 2 with dumps).
  let kernelJit = 'unknown';
  try {
    kernelJit = readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8').trim();
  } catch {}
  if (kobj && kernelJit === '0')
    notes.push('kernel: bpf_jit_enable is 0, the kernel column is its interpreter');

  const results: Record<string, Record<EngineName, Measurement>> = {};
  const mismatches: string[] = [];
  const list = WORKLOADS.filter((w) => !only || only.includes(w.name));
  console.log(
    `Comparative suite${quick ? ' (quick)' : ''}${unchecked ? ' (tsbpf unchecked)' : ''}: ns per run (tsbpf: fastest ${TSBPF_SAMPLE_MS} ms sample), ${budgetMs} ms per engine and workload; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  );
  for (const w of list) {
    const m: Record<EngineName, Measurement> = {
      kernel: kobj ? runKernel(kobj, w, pktPath) : { note: 'kernel: skipped (no kobj)' },
      native: native ? runNative(native, w, pktPath) : { note: 'native: skipped (no gcc)' },
      interp: runTsbpf('interp', w, packet),
      jit: runTsbpf('jit', w, packet),
    };
    results[w.name] = m;
    for (const e of ENGINES) if (m[e].note) notes.push(`${w.name}: ${m[e].note}`);
    const rets = ENGINES.filter((e) => m[e].retval !== undefined).map((e) => `${e}=${m[e].retval}`);
    if (new Set(rets.map((s) => s.split('=')[1])).size > 1) {
      const msg = `RETVAL MISMATCH in ${w.name}: ${rets.join(' ')}`;
      mismatches.push(msg);
      console.error(`!!! ${msg}`);
    }
  }

  const header = [
    'workload',
    'kernel ns',
    'native ns',
    'interp ns',
    'jit ns',
    'jit/kernel',
    'jit/native',
    'interp/kernel',
  ];
  const rows = list.map((w) => {
    const m = results[w.name]!;
    return [
      w.name,
      fmtNs(m.kernel.ns),
      fmtNs(m.native.ns),
      fmtNs(m.interp.ns),
      fmtNs(m.jit.ns),
      fmtX(ratio(m.jit.ns, m.kernel.ns)),
      fmtX(ratio(m.jit.ns, m.native.ns)),
      fmtX(ratio(m.interp.ns, m.kernel.ns)),
    ];
  });
  const compute = list.filter((w) => !w.overhead).map((w) => results[w.name]!);
  const gm = (a: EngineName, b: EngineName) => {
    const xs = compute.map((m) => ratio(m[a].ns, m[b].ns));
    return xs.every((x) => x !== undefined) ? geomean(xs as number[]) : undefined;
  };
  const geo = {
    jitOverKernel: gm('jit', 'kernel'),
    jitOverNative: gm('jit', 'native'),
    interpOverKernel: gm('interp', 'kernel'),
    kernelOverNative: gm('kernel', 'native'),
  };
  rows.push([
    'geomean (compute)',
    '',
    '',
    '',
    '',
    fmtX(geo.jitOverKernel),
    fmtX(geo.jitOverNative),
    fmtX(geo.interpOverKernel),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  console.log(line(header));
  console.log(widths.map((n) => '-'.repeat(n)).join('-|-'));
  for (const r of rows) console.log(line(r));

  // Goals from the issue, reported rather than asserted (timings on a shared machine vary).
  const life = results.life;
  const pass = results.xdp_pass;
  const goals = {
    jitOverKernelGeomean: {
      goal: '≤ 1.5×',
      value: geo.jitOverKernel,
      met: (geo.jitOverKernel ?? Infinity) <= 1.5,
    },
    jitOverNativeLife: {
      goal: '≤ 2×',
      value: ratio(life?.jit.ns, life?.native.ns),
      met: (ratio(life?.jit.ns, life?.native.ns) ?? Infinity) <= 2,
    },
    jitXdpPassNs: { goal: '≤ 50 ns', value: pass?.jit.ns, met: (pass?.jit.ns ?? Infinity) <= 50 },
  };
  console.log('');
  // "label  value unit (detail)" lines, which bench/run.ts records as rows.
  const num = (x?: number) => (x === undefined ? 'n/a' : x.toFixed(2));
  const met = (g: { met: boolean }) => (g.met ? 'met' : 'not met');
  console.log(
    `geomean jit/kernel  ${num(geo.jitOverKernel)} x  (compute workloads; goal <= 1.5, ${met(goals.jitOverKernelGeomean)})`,
  );
  console.log(`geomean jit/native  ${num(geo.jitOverNative)} x  (compute workloads)`);
  console.log(`geomean interp/kernel  ${num(geo.interpOverKernel)} x  (compute workloads)`);
  console.log(`geomean kernel/native  ${num(geo.kernelOverNative)} x  (compute workloads)`);
  console.log(
    `life jit/native  ${num(goals.jitOverNativeLife.value)} x  (goal <= 2, ${met(goals.jitOverNativeLife)})`,
  );
  console.log(
    `xdp_pass jit  ${num(goals.jitXdpPassNs.value)} ns  (per-run overhead; goal <= 50, ${met(goals.jitXdpPassNs)})`,
  );
  for (const n of notes) console.log(`note: ${n}`);
  if (mismatches.length === 0) console.log('retvals: every engine agrees on every workload');

  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg: loadavg(),
    budgetMs,
    tsbpfSampleMs: TSBPF_SAMPLE_MS,
    nativeSamples: NATIVE_SAMPLES,
    tsbpfChecked: !unchecked,
    kernelJit,
    workloads: list.map((w) => ({ ...w, ...results[w.name] })),
    geomeanOverCompute: geo,
    goals,
    mismatches,
    notes,
  };
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = unchecked ? 'compare-unchecked.json' : 'compare.json';
  const tmp = join(dir, `${file}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, join(dir, file));
  console.log(`wrote bench/results/${file}`);
  return mismatches.length === 0 ? 0 : 1;
}

process.exitCode = main();
