// tsbpf verify: the verifier's verdict and kernel-format log, without running anything
// (what kbpf --log prints for the kernel's verifier).
import { UsageError } from '../../errors.ts';
import { linkProgram } from '../../elf/link.ts';
import type { ProgType } from '../../elf/sections.ts';
import { verify } from '../../verifier/index.ts';
import { flag, int, onePositional, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import { json } from '../io.ts';
import { mapInfo, mapSpecFromObject, parseMapSpec } from '../map-spec.ts';
import { loadInput, pickProgram, programFromBytes } from '../program-input.ts';
import { VerifierRejection } from '../verify-hook.ts';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Verify a program as the kernel would when root loads it, and print the log',
  usage: `verify [options] FILE.bin|FILE.s|FILE.o

  --type T        raw programs: the program type (default socket_filter)
  --prog NAME     the program of an object (needed when it has several)
  --map SPEC      raw programs: TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES (as for run)
  --log N         log level: 0 none, 1 (default) errors and statistics, 2 every state
  --limit N       instructions the verifier may process (default 1000000)
  --json          {"verdict", "insns_processed", "stats", "log", "error"?}

  Exit code 0 when the program is accepted, 1 when it is rejected.`,
  run(argv, io) {
    const p = parseCommandArgs('verify', argv, {
      type: { type: 'string' },
      prog: { type: 'string' },
      map: { type: 'string', multiple: true },
      log: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    });
    const path = onePositional(p, 'verify', 'FILE');
    const logLevel = int(p, 'log', 1, 2);
    const insnLimit = int(p, 'limit', 1_000_000);
    const input = loadInput(path);
    let req: Parameters<typeof verify>[0];
    let prog: string | undefined;
    if (input.spec) {
      if (strs(p, 'map').length)
        throw new UsageError('--map is for raw programs; an object defines its own maps');
      const ps = pickProgram(input.spec, str(p, 'prog'));
      const linked = linkProgram(input.spec, ps.name, { mapIndex: 'used' });
      const typeOpt = str(p, 'type') as ProgType | undefined;
      prog = linked.name;
      req = {
        insns: linked.insns,
        progType: typeOpt ?? linked.progType,
        maps: linked.maps.map((m) => mapInfo(mapSpecFromObject(m))),
        funcInfo: linked.funcInfo,
        lineInfo: linked.lineInfo,
      };
    } else {
      if (str(p, 'prog') !== undefined)
        throw new UsageError(`${path} is not an ELF object; --prog applies to objects`);
      req = {
        insns: programFromBytes(path, input.bytes, input.kind),
        progType: str(p, 'type') ?? 'socket_filter',
        maps: strs(p, 'map').map((s) => mapInfo(parseMapSpec(s))),
      };
    }
    const res = verify(req, { logLevel, insnLimit });
    const e = res.error;
    if (flag(p, 'json')) {
      io.out(
        json({
          verdict: res.verdict,
          insns_processed: res.insnsProcessed,
          stats: res.stats,
          log: res.log,
          ...(e ? { error: e } : {}),
        }),
      );
    } else {
      io.out([`verdict: ${res.verdict}`, `insns_processed: ${res.insnsProcessed}`, ...res.log].join('\n'));
    }
    if (res.verdict === 'accept') return 0;
    const where = { file: path, ...(prog ? { prog } : {}), ...(e ? { insnIdx: e.insnIdx } : {}) };
    const err = new VerifierRejection(
      `verifier rejected the program: ${e?.message ?? 'rejected'}`,
      where,
      res.log,
    );
    io.err(`tsbpf verify: ${err.format()}`);
    return 1;
  },
};
