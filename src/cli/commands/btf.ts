// tsbpf btf dump: an object's BTF as C declarations (like bpftool btf dump format c) or JSON.
import { formatBtf } from '../../btf/format-c.ts';
import { BtfError, UsageError } from '../../errors.ts';
import { flag, onePositional, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { json } from '../io.ts';
import { loadInput } from '../program-input.ts';

export const btfDumpCommand: Command = {
  name: 'btf dump',
  summary: "Print an object's BTF as C declarations, or as JSON",
  usage: `btf dump FILE.o [--json]

  Without --json: C, in the order and layout bpftool btf dump ... format c uses.
  --json: {"types": [...]} as bpftool btf dump ... -j prints them.`,
  run(argv, io) {
    const p = parseCommandArgs('btf dump', argv, { json: { type: 'boolean' } });
    const path = onePositional(p, 'btf dump', 'FILE.o');
    const input = loadInput(path);
    if (!input.spec) throw new UsageError(`${path} is not an ELF object`);
    const btf = input.spec.btf;
    if (!btf)
      throw new BtfError('the object has no .BTF section (build with clang -g)', { where: { file: path } });
    io.out(flag(p, 'json') ? json(btf.toJSON()) : formatBtf(btf));
    return 0;
  },
};
