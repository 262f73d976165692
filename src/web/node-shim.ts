// src/runtime/event-loop.ts reads process.hrtime at module load (Node's monotonic clock). The
// browser has no `process`; performance.now() is the same kind of clock. Imported first by main.ts.
// TODO(runtime): drop once event-loop.ts picks its clock without touching `process` at load.
const g = globalThis as { process?: unknown };
if (g.process === undefined) {
  const hrtime = Object.assign(() => [0, 0], {
    bigint: (): bigint => BigInt(Math.round(performance.now() * 1e6)),
  });
  g.process = { hrtime, env: {}, argv: [] };
}
export {};
