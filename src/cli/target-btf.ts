// `--btf FILE`: the target BTF CO-RE relocations are applied against, as libbpf's
// btf_custom_path: a raw BTF file (/sys/kernel/btf/vmlinux) or an ELF object with a .BTF section.
// Without it relocations stay as compiled, i.e. against the object's own types.
import type { Btf } from '../btf/btf.ts';
import { parseBtf } from '../btf/unmarshal.ts';
import { readElf } from '../elf/reader.ts';
import { InputError } from '../errors.ts';
import type { Parsed } from './args.ts';
import { str } from './args.ts';
import { readInput } from './io.ts';
import { inputKind } from './program-input.ts';

/** The option, for commands' parseArgs tables. */
export const BTF_OPTION = { btf: { type: 'string' } } as const;

/** The option's help lines, its text starting at column `col` as the command's others do. */
export function btfUsage(col: number): string {
  const pad = ' '.repeat(col);
  return [
    `  ${'--btf FILE'.padEnd(col - 2)}CO-RE target BTF: raw BTF (/sys/kernel/btf/vmlinux)`,
    `${pad}or an ELF object with .BTF (default: relocations stay as compiled)`,
  ].join('\n');
}

// vmlinux is several MB and costs ~100 ms to parse; a command that links twice reads it once.
const cache = new Map<string, Btf>();

/** Parses a target BTF file; bad bytes throw a BtfError naming the file and byte offset (exit 2). */
export function readTargetBtf(path: string): Btf {
  const hit = cache.get(path);
  if (hit) return hit;
  const bytes = readInput(path);
  let btf: Btf;
  if (inputKind(path, bytes) === 'object') {
    const elf = readElf(bytes, path);
    const sec = elf.section('.BTF');
    if (!sec)
      throw new InputError('BTF', `--btf ${path}: the ELF file has no .BTF section`, {
        where: { file: path },
      });
    btf = parseBtf(elf.data(sec), { file: path, baseOff: sec.offset });
  } else {
    btf = parseBtf(bytes, { file: path, section: 'raw BTF' });
  }
  cache.set(path, btf);
  return btf;
}

/** `coreTarget` for linkProgram/newCollection when the command got --btf. */
export function coreTargetOpt(p: Parsed): { coreTarget?: Btf } {
  const path = str(p, 'btf');
  return path === undefined ? {} : { coreTarget: readTargetBtf(path) };
}
