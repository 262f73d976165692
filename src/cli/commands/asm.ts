// tsbpf asm: assembly text (LLVM `r0 = 1` or conformance `mov %r0, 1` syntax) → raw bytecode.
import { assembleAuto } from '../../isa/asm/index.ts';
import { encodeProgram } from '../../isa/encode.ts';
import { flag, onePositional, parseCommandArgs, str } from '../args.ts';
import type { Command } from '../command.ts';
import { json, readInput, writeOutput } from '../io.ts';
import { decodeText } from '../program-input.ts';

/** FILE.s → FILE.bin beside it (any other extension gets .bin appended). */
export function defaultBinPath(input: string): string {
  const m = /\.(s|S|asm)$/.exec(input);
  return m ? `${input.slice(0, -m[0].length)}.bin` : `${input}.bin`;
}

export const asmCommand: Command = {
  name: 'asm',
  summary: 'Assemble eBPF assembly into raw bytecode (8-byte little-endian slots)',
  usage: `asm FILE.s [-o FILE.bin] [--force] [--json]

  Both dialects are read: LLVM's C-like syntax ("r0 = 1", clang -S output)
  and the conformance suite's ("mov %r0, 1"); a whole conformance .data file too.

  -o FILE   write here (an existing FILE is replaced, as with cc -o; never an input)
  --force   without -o the output is FILE.bin beside the input, and an existing
            one is kept unless --force is given
  --json    print {"output", "insns", "bytes"}`,
  run(argv, io) {
    const p = parseCommandArgs('asm', argv, {
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const input = onePositional(p, 'asm', 'FILE.s');
    const explicit = str(p, 'output');
    const output = explicit ?? defaultBinPath(input);
    const insns = assembleAuto(decodeText(readInput(input)), input);
    const bytes = encodeProgram(insns);
    writeOutput(output, bytes, [input], { keepExisting: explicit === undefined && !flag(p, 'force') });
    if (flag(p, 'json')) io.out(json({ output, insns: insns.length, bytes: bytes.length }));
    else io.out(`${output}: ${insns.length} instructions, ${bytes.length} bytes`);
    return 0;
  },
};
