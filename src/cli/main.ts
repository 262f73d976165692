import { exitCodeFor, TsbpfError } from '../errors.ts';
import type { Command } from './command.ts';
import { commands } from './commands/index.ts';
import { type Io, json, processIo } from './io.ts';

function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: tsbpf COMMAND [options] [FILE]',
    '       tsbpf --help | --version',
    '',
    'Commands:',
    ...lines,
    '',
    "Every command takes --json for machine-readable output. 'tsbpf COMMAND --help' for details.",
    'Exit codes: 0 success, 1 program rejected or failed, 2 bad input or usage.',
  ].join('\n');
}

/** Errors are one line on stderr, whatever text a cause carries. */
const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

function findCommand(argv: string[]): { cmd: Command; rest: string[] } | undefined {
  // Two-word commands ('obj show') first, then one-word ones.
  const two = `${argv[0]} ${argv[1]}`;
  const c2 = commands.find((c) => c.name === two);
  if (c2) return { cmd: c2, rest: argv.slice(2) };
  const c1 = commands.find((c) => c.name === argv[0]);
  if (c1) return { cmd: c1, rest: argv.slice(1) };
  return undefined;
}

/** Runs the CLI; returns the exit code. Only this module and cli/ commands print. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(helpText());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version') {
    io.out('tsbpf 0.1.0');
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    const hint = group.length ? ` (try: ${group.map((c) => c.name).join(', ')})` : '';
    io.err(`tsbpf: unknown command '${argv.slice(0, 2).join(' ')}'${hint}; see 'tsbpf --help'`);
    return 2;
  }
  const { cmd, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: tsbpf ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    const wantJson = rest.includes('--json');
    if (err instanceof TsbpfError) {
      if (wantJson) io.out(json({ error: err.toJSON() }));
      io.err(`tsbpf ${cmd.name}: ${oneLine(err.format())}`);
      return exitCodeFor(err);
    }
    // A bug in tsbpf: say so plainly, keep the stack for the report.
    const e = err instanceof Error ? err : new Error(String(err));
    io.err(`tsbpf ${cmd.name}: internal error (please report): ${oneLine(e.message)}`);
    if (process.env.TSBPF_DEBUG) io.err(e.stack ?? '');
    return 70;
  }
}
