import type { Io } from './io.ts';

export interface Command {
  /** One or two words: 'asm', 'obj show'. */
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code: 0 success, 1 program rejected or failed, 2 bad input. */
  run(argv: string[], io: Io): Promise<number> | number;
}
