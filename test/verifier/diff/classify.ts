// tsbpf's verify() against a kernel verdict: the five outcomes, and whether the rejection
// messages match (tsbpf's first error line is one of the kernel's message lines).
import { verify } from '../../../src/verifier/index.ts';
import { mapInfo } from '../cases.ts';
import type { GenCase } from './gen/index.ts';
import type { KernelVerdict } from './kernel.ts';

export type Outcome = 'agree-accept' | 'agree-reject' | 'unsound' | 'overstrict' | 'crash';

export interface Classified {
  outcome: Outcome;
  /** tsbpf's error message, or the exception text on a crash. */
  tsbpf: string;
  /** Both rejected and tsbpf's message is one of the kernel's lines. */
  sameMessage: boolean;
}

export function runTsbpf(c: GenCase): { verdict: 'accept' | 'reject' | 'crash'; message: string } {
  try {
    const r = verify({ insns: c.insns, progType: c.type, maps: c.maps.map(mapInfo) }, { logLevel: 1 });
    return { verdict: r.verdict, message: r.error?.message ?? '' };
  } catch (e) {
    const err = e as Error;
    return { verdict: 'crash', message: `${err.name}: ${err.message}` };
  }
}

export function classify(c: GenCase, k: KernelVerdict): Classified {
  const t = runTsbpf(c);
  if (t.verdict === 'crash') return { outcome: 'crash', tsbpf: t.message, sameMessage: false };
  if (t.verdict === 'accept')
    return { outcome: k.verdict === 'accept' ? 'agree-accept' : 'unsound', tsbpf: '', sameMessage: false };
  if (k.verdict === 'accept') return { outcome: 'overstrict', tsbpf: t.message, sameMessage: false };
  const sameMessage = t.message !== '' && k.msg.some((l) => l.startsWith(t.message));
  return { outcome: 'agree-reject', tsbpf: t.message, sameMessage };
}

/** A message with its numbers and register names folded, for grouping disagreements. */
export const messageClass = (m: string): string =>
  m
    .replace(/\bR\d+\b/g, 'R#')
    .replace(/-?\b(0x[0-9a-f]+|\d+)\b/g, '#')
    .slice(0, 90);
