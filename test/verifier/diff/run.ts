// One differential run: generate programs, get the kernel's verdicts (live through kbatch, or
// replayed from a recording), verify each with tsbpf, classify, and run the accepted ones in
// checked mode. Shared by verifier-diff.test.ts and scripts/fuzz-verifier.ts.
import { existsSync, readFileSync } from 'node:fs';
import { type Classified, classify, messageClass, type Outcome } from './classify.ts';
import { type GenCase, generate } from './gen/index.ts';
import { mulberry32 } from './gen/rng.ts';
import { buildKbatch, type KernelVerdict, kernelVerdicts } from './kernel.ts';
import { type RunOutcome, runChecked } from './soundness.ts';

export const CORPUS = new URL('../diff-corpus/', import.meta.url).pathname;
export const VERDICTS_FILE = `${CORPUS}kernel-verdicts.json`;
export const KNOWN_UNSOUND_FILE = `${CORPUS}known-unsound.json`;

/** A recorded kernel verdict: v accept/reject, e errno, p insns processed, m message lines. */
export interface RecordedVerdict {
  v: 'a' | 'r';
  e: number;
  p: number;
  m?: string[];
}

export const toRecorded = (k: KernelVerdict): RecordedVerdict =>
  k.verdict === 'accept'
    ? { v: 'a', e: 0, p: k.processed }
    : { v: 'r', e: k.errno, p: k.processed, m: k.msg };
export const fromRecorded = (r: RecordedVerdict): KernelVerdict => ({
  verdict: r.v === 'a' ? 'accept' : 'reject',
  errno: r.e,
  processed: r.p,
  msg: r.m ?? [],
});

export function loadRecorded(): Record<string, RecordedVerdict> {
  return existsSync(VERDICTS_FILE)
    ? (JSON.parse(readFileSync(VERDICTS_FILE, 'utf8')) as Record<string, RecordedVerdict>)
    : {};
}

export interface Disagreement {
  case: GenCase;
  kernel: KernelVerdict;
  result: Classified;
}

export interface DiffOptions {
  seed: number;
  n: number;
  heavy?: boolean;
  /** 'live' needs bpf(); 'replay' uses only the recording; 'auto' replays what is recorded. */
  kernel: 'live' | 'replay' | 'auto';
  /** Accepted programs to run in checked mode (at most). */
  soundnessSample: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DiffSummary {
  seed: number;
  programs: number;
  /** Programs without a kernel verdict (replay without a recording), left out of the counts. */
  unknown: number;
  source: 'live' | 'replay' | 'mixed';
  counts: Record<Outcome, number>;
  kernelRejects: number;
  sameMessage: number;
  agreement: number;
  soundness: { ran: number; skipped: number; faults: number };
  /** Per family: programs, kernel accepts, disagreements. */
  families: Record<string, { n: number; kernelAccepts: number; disagree: number }>;
  /** Disagreements by family and kernel message class, most frequent first. */
  top: { key: string; count: number; example: string }[];
  /** Both reject, different messages: kernel class <> tsbpf class, most frequent first. */
  messageMismatches: { key: string; count: number; example: string }[];
}

export interface DiffRun {
  summary: DiffSummary;
  disagreements: Disagreement[];
  faults: { case: GenCase; outcome: RunOutcome }[];
  /** The kernel verdict of every case that has one, by hash (for re-recording). */
  verdicts: Map<string, KernelVerdict>;
  cases: GenCase[];
}

export async function runDiff(o: DiffOptions): Promise<DiffRun> {
  const cases: GenCase[] = [];
  for (let i = 0; i < o.n; i++) cases.push(generate(o.seed, i, { heavy: o.heavy }));
  const recorded = o.kernel === 'live' ? {} : loadRecorded();
  const verdicts = new Map<string, KernelVerdict>();
  for (const c of cases) if (recorded[c.hash]) verdicts.set(c.hash, fromRecorded(recorded[c.hash]!));
  const missing = cases.filter((c) => !verdicts.has(c.hash));
  let live = 0;
  if (missing.length && o.kernel !== 'replay') {
    const bin = buildKbatch();
    if (!bin) {
      if (o.kernel === 'live') throw new Error('bpf() is unavailable (needs root and gcc)');
    } else {
      const ks = await kernelVerdicts(bin, missing);
      for (let i = 0; i < missing.length; i++) verdicts.set(missing[i]!.hash, ks[i]!);
      live = missing.length;
    }
  }
  const counts: Record<Outcome, number> = {
    'agree-accept': 0,
    'agree-reject': 0,
    unsound: 0,
    overstrict: 0,
    crash: 0,
  };
  const disagreements: Disagreement[] = [];
  const faults: DiffRun['faults'] = [];
  const soundness = { ran: 0, skipped: 0, faults: 0 };
  const r = mulberry32(o.seed ^ 0x5eed);
  let unknown = 0;
  let kernelRejects = 0;
  let sameMessage = 0;
  const families: DiffSummary['families'] = {};
  const mismatches = new Map<string, { count: number; example: string }>();
  cases.forEach((c, i) => {
    if (i % 500 === 0) o.onProgress?.(i, cases.length);
    const k = verdicts.get(c.hash);
    if (!k) {
      unknown++;
      return;
    }
    if (k.verdict === 'reject') kernelRejects++;
    const res = classify(c, k);
    counts[res.outcome]++;
    const fam = families[c.family] ?? { n: 0, kernelAccepts: 0, disagree: 0 };
    families[c.family] = fam;
    fam.n++;
    if (k.verdict === 'accept') fam.kernelAccepts++;
    if (!res.outcome.startsWith('agree')) fam.disagree++;
    if (res.sameMessage) sameMessage++;
    else if (res.outcome === 'agree-reject') {
      const key = `${c.family}: ${messageClass(k.msg.at(-1) ?? '')} <> ${messageClass(res.tsbpf)}`;
      const g = mismatches.get(key) ?? { count: 0, example: c.id };
      g.count++;
      mismatches.set(key, g);
    }
    if (res.outcome === 'unsound' || res.outcome === 'overstrict' || res.outcome === 'crash')
      disagreements.push({ case: c, kernel: k, result: res });
    if ((res.outcome === 'agree-accept' || res.outcome === 'unsound') && soundness.ran < o.soundnessSample) {
      const out = runChecked(c, r);
      if (out.kind === 'skipped') soundness.skipped++;
      else soundness.ran++;
      if (out.kind === 'fault') {
        soundness.faults++;
        faults.push({ case: c, outcome: out });
      }
    }
  });
  o.onProgress?.(cases.length, cases.length);
  const total = o.n - unknown;
  const groups = new Map<string, { count: number; example: string }>();
  for (const d of disagreements) {
    const msg = d.result.outcome === 'overstrict' ? d.result.tsbpf : (d.kernel.msg.at(-1) ?? d.result.tsbpf);
    const key = `${d.result.outcome} ${d.case.family}: ${messageClass(msg)}`;
    const g = groups.get(key) ?? { count: 0, example: d.case.id };
    g.count++;
    groups.set(key, g);
  }
  const top = [...groups].map(([key, g]) => ({ key, ...g })).sort((a, b) => b.count - a.count);
  return {
    summary: {
      seed: o.seed,
      programs: o.n,
      unknown,
      source: live === 0 ? 'replay' : live === total ? 'live' : 'mixed',
      counts,
      kernelRejects,
      sameMessage,
      agreement: total ? (counts['agree-accept'] + counts['agree-reject']) / total : 0,
      soundness,
      families,
      top,
      messageMismatches: [...mismatches]
        .map(([key, g]) => ({ key, ...g }))
        .sort((a, b) => b.count - a.count)
        .slice(0, 30),
    },
    disagreements,
    faults,
    verdicts,
    cases,
  };
}
