// Runs the verifier off the main thread: a big program can keep it busy for seconds, and the
// page must stay usable (and cancellable: the page terminates this worker).
import type { ProgramView, Verification } from './verification.ts';
import { trimVerification, verifyProgram } from './verification.ts';

export interface VerifyRequest {
  id: number;
  view: ProgramView;
  /** A Linux release to verify as ("5.10"); unset: 6.18. */
  kernel?: string;
}
export type VerifyReply = { id: number; result: Verification } | { id: number; error: string };

self.onmessage = (e: MessageEvent<VerifyRequest>) => {
  const { id, view, kernel } = e.data;
  let reply: VerifyReply;
  try {
    reply = { id, result: trimVerification(verifyProgram(view, 2, kernel)) };
  } catch (err) {
    reply = { id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  self.postMessage(reply);
};
