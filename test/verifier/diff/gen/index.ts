// The program generator: generate(seed, index) builds one program from its own PRNG stream,
// picking a family (weighted so that roughly half of the programs are near misses the kernel
// rejects), writing it as LLVM-syntax text, assembling it and applying structural patches.
import { createHash } from 'node:crypto';
import { assembleAuto } from '../../../../src/isa/asm/index.ts';
import { disassemble, encodeProgram, type Insn } from '../../../../src/isa/index.ts';
import { Asm, type DiffType } from './asm.ts';
import { ctxAccess, heavyLoop, loop, returns, scalarAlu, stack, structural } from './families-basic.ts';
import { calls, helpers, jmp32Bounds, mapValue, packet, ptrArith, ringbuf } from './families-mem.ts';
import { paths } from './families-paths.ts';
import { mulberry32, programSeed } from './rng.ts';

export type { DiffType } from './asm.ts';

export interface GenCase {
  /** `seed:index`, enough to rebuild the program. */
  id: string;
  family: string;
  tags: string[];
  type: DiffType;
  /** kbatch map specs, TYPE:KEY:VALUE:MAX. */
  maps: string[];
  insns: Insn[];
  /** The program as text (the disassembly when structural patches make it unassemblable). */
  asm: string;
  /** sha256 of type, maps and bytes: the key of recorded kernel verdicts. */
  hash: string;
}

const FAMILIES: [string, (a: Asm) => void, number][] = [
  ['scalar', scalarAlu, 8],
  ['stack', stack, 12],
  ['ctx', ctxAccess, 10],
  ['loop', loop, 12],
  ['return', returns, 1],
  ['structural', structural, 4],
  ['map', mapValue, 16],
  ['packet', packet, 16],
  ['calls', calls, 5],
  ['helpers', helpers, 8],
  ['ringbuf', ringbuf, 6],
  ['ptr-arith', ptrArith, 7],
  ['jmp32', jmp32Bounds, 6],
  ['paths', paths, 14],
];
const TOTAL = FAMILIES.reduce((s, f) => s + f[2], 0);

export interface GenOptions {
  /** Include programs near the 1M processed-insn limit (slow: about a second each). */
  heavy?: boolean;
}

export function generate(seed: number, index: number, opts: GenOptions = {}): GenCase {
  const r = mulberry32(programSeed(seed, index));
  const a = new Asm(r, 'socket_filter');
  let family: string;
  // every 500th program is a limit loop (a random draw here proved too rare)
  if (opts.heavy && index % 500 === 499) {
    family = 'loop-limit';
    heavyLoop(a);
  } else if (opts.heavy && r.chance(0.004)) {
    family = 'loop-heavy';
    loop(a, true);
  } else {
    let x = r.next() * TOTAL;
    let f = FAMILIES[0]!;
    for (const g of FAMILIES) {
      f = g;
      x -= g[2];
      if (x < 0) break;
    }
    family = f[0];
    f[1](a);
  }
  const text = `${a.lines.filter((l) => l !== '').join('\n')}\n`;
  const insns = assembleAuto(text, `gen-${seed}-${index}.s`);
  for (const p of a.patches) p(insns);
  const asm = a.patches.length ? disassemble(insns) : text;
  const bytes = encodeProgram(insns);
  const hash = createHash('sha256')
    .update(`${a.type} ${a.maps.join(',')} `)
    .update(bytes)
    .digest('hex')
    .slice(0, 24);
  return { id: `${seed}:${index}`, family, tags: a.tags, type: a.type, maps: a.maps, insns, asm, hash };
}
