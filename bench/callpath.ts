// Where the time of a short program run goes: XDP_PASS (workloads.bpf.o's xdp_pass) timed at
// each layer of the call path, so a regression shows in the layer that caused it:
//   engine      the engine function alone (JitEngine.run / interpret) on prepared registers
//   repeat      Program.run({ data, repeat }) through a collection: the kernel's duration_ns,
//               which bench/compare.ts reports (goal from issue 6: <= 50 ns on the JIT)
//   single      one Program.run({ data }) per call: context setup, packet copies, result
// Each figure is the best of several rounds (the machine is shared; the range is printed too),
// in wall time and, because a busy machine stretches wall time, in this process's CPU time.
// Run: node --import tsx bench/callpath.ts [--quick]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCollectionSpec } from '../src/elf/index.ts';
import { type Engine as EngineName, newCollection } from '../src/runtime/index.ts';
import { makePacket } from './suite/packet.ts';

const quick = process.argv.includes('--quick');
const root = new URL('..', import.meta.url).pathname;
const objectPath = join(root, 'bench/suite/bpf/workloads.bpf.o');
const ROUNDS = quick ? 3 : 7;
const REPEAT = quick ? 200_000 : 1_000_000;
const SINGLE = quick ? 5_000 : 30_000;

/** This process's CPU time (user + system), ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function spread(xs: number[]): { best: number; detail: string } {
  const best = Math.min(...xs);
  return { best, detail: `best of ${xs.length}; ${best.toFixed(1)}–${Math.max(...xs).toFixed(1)}` };
}

function measure(engine: EngineName): void {
  const spec = loadCollectionSpec(readFileSync(objectPath), { file: objectPath });
  const coll = newCollection(spec, { engine, programs: ['xdp_pass'], vm: { checked: true } });
  try {
    const prog = coll.program('xdp_pass');
    const data = makePacket();
    const first = prog.run({ data });
    console.log(
      `${engine} first run: compile ${(first.compileNs / 1e3).toFixed(0)} µs, setup ${(first.setupNs / 1e3).toFixed(1)} µs, run ${first.durationNs} ns`,
    );
    // Warm-up, so that V8 has optimised every layer before the measured rounds.
    prog.run({ data, repeat: REPEAT });
    for (let i = 0; i < SINGLE; i++) prog.run({ data });

    const vm = coll.vm;
    const loaded = prog.loaded;
    const lo = new Int32Array(16);
    const hi = new Int32Array(16);
    const run = vm.engine;
    const engineNs: number[] = [];
    const repeatNs: number[] = [];
    const singleNs: number[] = [];
    const repeatCpuNs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      for (let i = 0; i < REPEAT; i++) {
        lo[0] = 0;
        hi[0] = 0;
        lo[1] = 4096;
        lo[10] = vm.stackTop;
        run(vm, loaded, lo, hi, 0);
      }
      engineNs.push(((performance.now() - t) * 1e6) / REPEAT);
      const c = cpuMs();
      repeatNs.push(prog.run({ data, repeat: REPEAT }).durationNs);
      repeatCpuNs.push(((cpuMs() - c) * 1e6) / REPEAT);
      t = performance.now();
      for (let i = 0; i < SINGLE; i++) prog.run({ data });
      singleNs.push(((performance.now() - t) * 1e6) / SINGLE);
    }
    if (lo[0] !== 2) throw new Error(`xdp_pass returned ${lo[0]}, not XDP_PASS`);
    const e = spread(engineNs);
    const p = spread(repeatNs);
    const s = spread(singleNs);
    const pc = spread(repeatCpuNs);
    console.log(`${engine} engine call  ${e.best.toFixed(1)} ns  (${e.detail})`);
    console.log(`${engine} run with repeat  ${p.best.toFixed(1)} ns  (${p.detail}; duration_ns)`);
    console.log(`${engine} run with repeat, CPU  ${pc.best.toFixed(1)} ns  (${pc.detail}; process CPU time)`);
    console.log(`${engine} single run  ${s.best.toFixed(0)} ns  (${s.detail})`);
  } finally {
    coll.close();
  }
}

console.log(`XDP_PASS call path, ns per run (checked mode; ${ROUNDS} rounds)`);
measure('jit');
measure('interp');
