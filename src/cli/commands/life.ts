// tsbpf life: Conway's Game of Life computed by examples/life/life.bpf.o on a bpf_timer, drawn
// in the terminal or, with --web, on a canvas in the browser (or printed as JSON / plain frames
// when there is no terminal to animate).
import { UsageError } from '../../errors.ts';
import {
  type Board,
  boardLines,
  liveCount,
  patternBoard,
  randomBoard,
  readBoardFile,
} from '../../life/board.ts';
import { type GenerationEvent, LifeHost, type LifeOptions } from '../../life/host.ts';
import { ESC, frame } from '../../life/render.ts';
import { type LifeWebServer, serveLife } from '../../life/web.ts';
import type { Engine } from '../../runtime/index.ts';
import { flag, int, parseCommandArgs, str } from '../args.ts';
import type { Command } from '../command.ts';
import { type Io, json } from '../io.ts';

const OPTIONS = {
  width: { type: 'string' },
  height: { type: 'string' },
  edges: { type: 'string' },
  period: { type: 'string' },
  pattern: { type: 'string' },
  board: { type: 'string' },
  seed: { type: 'string' },
  engine: { type: 'string' },
  generations: { type: 'string' },
  json: { type: 'boolean' },
  web: { type: 'boolean' },
  port: { type: 'string' },
  'no-verify': { type: 'boolean' },
  'verify-limit': { type: 'string' },
} as const;

/** Frames printed when stdout is not a terminal and --generations is not given. */
const PLAIN_FRAMES = 3;

interface Setup {
  opts: LifeOptions;
  board: Board;
  generations: number | undefined;
  periodMs: number;
  note: string;
}

/** --web's default port (0 = any free port). */
const WEB_PORT = 8064;

function setup(argv: string[]): Setup & { json: boolean; web: number | undefined } {
  const p = parseCommandArgs('life', argv, OPTIONS);
  if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const sources = ['pattern', 'board', 'seed'].filter((k) => p.values[k] !== undefined);
  if (sources.length > 1) throw new UsageError(`--${sources.join(', --')}: give only one of them`);
  const edges = str(p, 'edges') ?? 'torus';
  if (edges !== 'torus' && edges !== 'bounded')
    throw new UsageError(`--edges: torus or bounded, got '${edges}'`);
  const engine = str(p, 'engine') ?? 'jit';
  if (engine !== 'jit' && engine !== 'interp')
    throw new UsageError(`--engine: jit or interp, got '${engine}'`);
  const boardFile = str(p, 'board');
  const fromFile = boardFile !== undefined ? readBoardFile(boardFile) : undefined;
  let width = int(p, 'width', fromFile?.width ?? 64, 256);
  let height = int(p, 'height', fromFile?.height ?? 40, 256);
  if (fromFile && (width !== fromFile.width || height !== fromFile.height))
    throw new UsageError(
      `--board ${boardFile} is ${fromFile.width}×${fromFile.height}; drop --width/--height`,
    );
  if (width < 1 || height < 1) throw new UsageError('--width and --height must be at least 1');
  width = Math.floor(width);
  height = Math.floor(height);
  const periodMs = int(p, 'period', 50, 3_600_000);
  const generations = p.values.generations === undefined ? undefined : int(p, 'generations', 0);
  let board: Board;
  let note = '';
  const pattern = str(p, 'pattern');
  if (fromFile) board = fromFile;
  else if (pattern !== undefined) {
    board = patternBoard(pattern, width, height);
    note = pattern;
  } else {
    const seed = int(p, 'seed', Math.floor(Math.random() * 2 ** 31), 2 ** 32 - 1);
    board = randomBoard(seed, width, height);
    note = `seed ${seed}`;
  }
  const web = flag(p, 'web');
  if (web && flag(p, 'json')) throw new UsageError('--web and --json: give only one of them');
  if (!web && p.values.port !== undefined) throw new UsageError('--port needs --web');
  return {
    json: flag(p, 'json'),
    web: web ? int(p, 'port', WEB_PORT, 65535) : undefined,
    board,
    generations,
    periodMs,
    note,
    opts: {
      width,
      height,
      torus: edges === 'torus',
      engine: engine as Engine,
      verify: !flag(p, 'no-verify'),
      ...(p.values['verify-limit'] !== undefined ? { verifyLimit: int(p, 'verify-limit', 1_000_000) } : {}),
    },
  };
}

/** --json: N generations as fast as the virtual clock allows, then the board. */
function runJson(s: Setup, io: Io): number {
  if (s.generations === undefined) throw new UsageError('--json needs --generations N');
  const host = new LifeHost({ ...s.opts, periodNs: 0, maxGenerations: s.generations });
  try {
    host.setBoard(s.board);
    if (s.generations > 0) {
      host.start();
      host.runGenerations(s.generations);
    }
    const b = host.board();
    io.out(
      json({
        generation: host.generation,
        width: b.width,
        height: b.height,
        live: liveCount(b),
        board: boardLines(b),
      }),
    );
    return 0;
  } finally {
    host.close();
  }
}

/** stdout is not a terminal: a few frames as plain text, computed in virtual time. */
function runPlain(s: Setup, io: Io): number {
  const frames = s.generations ?? PLAIN_FRAMES;
  const host = new LifeHost({ ...s.opts, periodNs: s.periodMs * 1e6, maxGenerations: frames });
  try {
    host.setBoard(s.board);
    const show = () => {
      const b = host.board();
      io.out(`generation ${host.generation}, live ${liveCount(b)}\n${boardLines(b).join('\n')}\n`);
    };
    show();
    if (frames > 0) host.start();
    for (let g = 0; g < frames; g++) {
      host.runGenerations(1);
      show();
    }
    return 0;
  } finally {
    host.close();
  }
}

/** The host for the animation and --web: real-time timer; says so first, since verifying takes a moment. */
function realTimeHost(s: Setup, io: Io): LifeHost {
  if (s.opts.verify !== false)
    io.err(
      `tsbpf life: verifying start and stop with tsbpf's verifier (${s.opts.width}×${s.opts.height})...`,
    );
  return new LifeHost({
    ...s.opts,
    clock: 'real',
    periodNs: s.periodMs * 1e6,
    maxGenerations: s.generations ?? 0,
  });
}

/** The animation: real-time timer, one write per frame, q or Ctrl-C restores the terminal. */
function runAnimation(s: Setup, io: Io): Promise<number> {
  const host = realTimeHost(s, io);
  host.setBoard(s.board);
  const out = process.stdout;
  const stdin = process.stdin;
  const recent: number[] = []; // ms (bpf_ktime_get_ns) at which recent generations were computed
  let live = liveCount(s.board);
  let generation = 0;
  let dirty = true;
  const restore = () => out.write(`${ESC.cursorShow}${ESC.altScreenOff}`);
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      stdin.off('data', onKey);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', restore);
      out.off('resize', onResize);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      try {
        host.stop();
      } finally {
        host.close();
        restore();
      }
      if (message) io.err(message);
      resolve(code);
    };
    const onKey = (data: Buffer) => {
      const k = data.toString();
      if (k.includes('q') || k.includes('Q') || k.includes('\x03')) finish(0);
    };
    const onSignal = () => finish(130);
    const onResize = () => {
      out.write(ESC.clear);
      dirty = true;
    };
    const onEvent = (e: GenerationEvent) => {
      generation = e.generation;
      live = e.live;
      recent.push(e.timeNs / 1e6);
      dirty = true;
    };
    const draw = () => {
      const errors = host.coll.loop.errors;
      if (errors.length) {
        const e = errors[0];
        finish(1, `tsbpf life: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      for (const e of host.drain()) onEvent(e);
      const now = host.coll.loop.now() / 1e6;
      while (recent.length && recent[0]! < now - 2000) recent.shift();
      const ended = s.generations !== undefined && generation >= s.generations;
      if (!dirty && !ended) return;
      dirty = false;
      // Intervals between the generations of the last two seconds.
      const span = recent.length > 1 ? (recent[recent.length - 1]! - recent[0]!) / 1000 : 0;
      const fits =
        !out.columns || (out.columns >= host.width + 2 && out.rows >= Math.ceil(host.height / 2) + 3);
      const note = `${s.note}${ended ? '  done' : ''}${fits ? '' : '  (terminal too small)'}`;
      out.write(
        frame(host.board(), {
          generation,
          live,
          gensPerSec: span > 0 ? (recent.length - 1) / span : 0,
          engine: host.engine,
          edges: host.torus ? 'torus' : 'bounded',
          note,
        }),
      );
    };
    process.on('exit', restore);
    out.on('resize', onResize);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onKey);
    out.write(`${ESC.altScreenOn}${ESC.cursorHide}${ESC.clear}`);
    const timer = setInterval(draw, Math.max(15, Math.min(s.periodMs, 100)));
    draw();
    try {
      host.start();
    } catch (e) {
      finish(1, `tsbpf life: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

/** --web: the game on a canvas in the browser, served from here (src/life/web.ts). */
async function runWeb(s: Setup, port: number, io: Io): Promise<number> {
  const host = realTimeHost(s, io);
  let web: LifeWebServer;
  try {
    host.setBoard(s.board);
    const edges = host.torus ? 'torus' : 'bounded';
    web = await serveLife(host, { port, title: `${host.engine}  ${edges}  ${s.note}` });
  } catch (e) {
    host.close();
    throw e;
  }
  io.out(`tsbpf life: serving ${web.url} (Ctrl-C to stop)\n`);
  return new Promise<number>((resolve) => {
    const finish = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      try {
        host.stop();
      } finally {
        host.close();
      }
      web.close().then(() => {
        io.err(`tsbpf life: stopped after generation ${web.generation}`);
        resolve(0);
      });
    };
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
  });
}

export const lifeCommand: Command = {
  name: 'life',
  summary: "Conway's Game of Life in eBPF on a bpf_timer (examples/life), animated in the terminal",
  usage:
    'life [--width W --height H] [--edges torus|bounded] [--period MS] [--pattern NAME | --board FILE | --seed N]\n' +
    '            [--engine jit|interp] [--generations N] [--json | --web [--port N]] [--no-verify] [--verify-limit INSNS]',
  run(argv, io) {
    const s = setup(argv);
    if (s.json) return runJson(s, io);
    if (s.web !== undefined) return runWeb(s, s.web, io);
    if (!process.stdout.isTTY) return runPlain(s, io);
    return runAnimation(s, io);
  },
};
