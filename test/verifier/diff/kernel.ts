// The batch oracle: kbatch.c (BPF_PROG_LOAD per program, one process per chunk) compiled into
// node_modules/.cache, run as two concurrent processes over the generated programs.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProgram } from '../../../src/isa/index.ts';
import type { GenCase } from './gen/index.ts';

export interface KernelVerdict {
  verdict: 'accept' | 'reject';
  errno: number;
  processed: number;
  /** The last few message lines of the level-1 log (no insn trace, no statistics). */
  msg: string[];
}

const SRC = new URL('./kbatch.c', import.meta.url).pathname;
const CACHE = new URL('../../../node_modules/.cache/', import.meta.url).pathname;

/** The compiled oracle, or undefined when bpf() is out of reach (not root, no gcc). */
export function buildKbatch(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const src = readFileSync(SRC);
  const bin = join(CACHE, `kbatch-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  try {
    mkdirSync(CACHE, { recursive: true });
    execFileSync('gcc', ['-O2', '-o', bin, SRC], { stdio: 'ignore' });
    return bin;
  } catch {
    return undefined;
  }
}

const TRACE =
  /^(\d+: |; |from \d+ to \d+|processed \d+|stack depth|verification time|mark_precise|last_idx|regs=|parent |func#|\s*$)/;

/** The lines a rejection message is made of, from a level-1 log. */
export function messageLines(log: readonly string[]): string[] {
  return log.filter((l) => !TRACE.test(l)).slice(-3);
}

function parse(out: string): KernelVerdict[] {
  const res: KernelVerdict[] = [];
  let cur: KernelVerdict | undefined;
  let log: string[] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith('= ')) {
      const [, v, e, p] = line.split(' ');
      cur = {
        verdict: v === 'accept' ? 'accept' : 'reject',
        errno: Number(e),
        processed: Number(p),
        msg: [],
      };
      log = [];
    } else if (line.startsWith('| ')) log.push(line.slice(2));
    else if (line === '.' && cur) {
      cur.msg = messageLines(log);
      res.push(cur);
      cur = undefined;
    }
  }
  return res;
}

const lineFor = (c: GenCase): string =>
  `${c.type} ${c.maps.length} ${c.maps.map((m) => `${m} `).join('')}${Buffer.from(encodeProgram(c.insns)).toString('hex')}`;

function runChunk(bin: string, cases: readonly GenCase[]): Promise<KernelVerdict[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, [], { maxBuffer: 1 << 30 }, (err, stdout) => {
      if (err) return reject(err);
      const got = parse(stdout);
      if (got.length !== cases.length)
        return reject(new Error(`kbatch answered ${got.length} of ${cases.length}`));
      resolve(got);
    });
    child.stdin!.end(`${cases.map(lineFor).join('\n')}\n`);
  });
}

/** The kernel's verdict on every case, in order, using `procs` concurrent oracle processes. */
export async function kernelVerdicts(
  bin: string,
  cases: readonly GenCase[],
  procs = 2,
): Promise<KernelVerdict[]> {
  const size = Math.ceil(cases.length / procs) || 1;
  const chunks: GenCase[][] = [];
  for (let i = 0; i < cases.length; i += size) chunks.push(cases.slice(i, i + size));
  return (await Promise.all(chunks.map((c) => runChunk(bin, c)))).flat();
}
