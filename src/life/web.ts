// `tsbpf life --web`: the game on a canvas in the browser. The eBPF program runs here, in the
// CLI's own verified LifeHost on the real clock; with `state.frames` set, every generation it
// computes is published whole to the `frames` ring buffer, and this server drains that ring and
// streams the newest frame to the page as server-sent events (GET /frames). The page is one
// self-contained HTML file (no bundle), so the browser only draws: the board it shows is the
// bytes the program wrote into the ring buffer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError } from '../errors.ts';
import type { LifeHost } from './host.ts';
import { HEADER_BYTES, packBoard, ROW_BYTES } from './packed.ts';

/** One server-sent event: a frame as the page decodes it. */
export interface WebFrame {
  generation: number;
  width: number;
  height: number;
  live: number;
  /** base64 of the frame's rows: height × 32 bytes, cell x of a row at bit x % 8 of byte x / 8. */
  rows: string;
}

export interface LifeWebOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Shown on the page's status line (engine, edges, pattern or seed). */
  title: string;
  /** How often the ring buffer is drained and the newest frame sent (ms). */
  pollMs?: number;
}

export interface LifeWebServer {
  url: string;
  server: Server;
  /** Frames sent so far (newest generation). */
  readonly generation: number;
  close(): Promise<void>;
}

/** Serves the page and the frame stream for a host that has not been started yet; starts it. */
export async function serveLife(host: LifeHost, opts: LifeWebOptions): Promise<LifeWebServer> {
  const clients = new Set<ServerResponse>();
  const board = host.board();
  const first = packBoard(board);
  let latest: WebFrame = {
    generation: 0,
    width: host.width,
    height: host.height,
    live: board.cells.reduce((n, c) => n + c, 0),
    rows: Buffer.from(first.subarray(HEADER_BYTES, HEADER_BYTES + host.height * ROW_BYTES)).toString(
      'base64',
    ),
  };
  const send = (res: ServerResponse, f: WebFrame) => res.write(`data: ${JSON.stringify(f)}\n\n`);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(lifePage(opts.title));
    } else if (path === '/frames') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      clients.add(res);
      req.on('close', () => clients.delete(res));
      send(res, latest);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new InputError('IO', `--port ${opts.port}: cannot listen on 127.0.0.1 (${e.code ?? e.message})`),
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });

  host.publishFrames(true);
  const poll = setInterval(() => {
    host.drain(); // the per-generation records: not needed here, but the ring must not fill
    const frames = host.drainFrames();
    const f = frames[frames.length - 1];
    if (!f) return;
    latest = {
      generation: f.generation,
      width: f.width,
      height: f.height,
      live: f.cells.reduce((n, c) => n + c, 0),
      rows: Buffer.from(f.rows).toString('base64'),
    };
    for (const c of clients) send(c, latest);
  }, opts.pollMs ?? 30);
  host.start();

  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    get generation() {
      return latest.generation;
    },
    close: async () => {
      clearInterval(poll);
      for (const c of clients) c.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The page: a canvas with one square per cell (live #8fe388 on #111, a 1-pixel gap when the
 * cells are large enough) and a status line. data-generation / data-live on the canvas say
 * which frame is drawn (the screenshot test reads them).
 */
export function lifePage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tsbpf life</title>
<style>
  body { background: #000; color: #ccc; font: 14px ui-monospace, monospace; margin: 16px; }
  canvas { display: block; image-rendering: pixelated; margin-top: 8px; }
</style>
</head>
<body>
<div id="status">connecting…</div>
<canvas id="board" width="1" height="1"></canvas>
<script>
const title = ${JSON.stringify(title).replace(/</g, '\\u003c')};
const canvas = document.getElementById('board');
const status = document.getElementById('status');
const ctx = canvas.getContext('2d');
const recent = [];
function draw(f) {
  const cell = Math.max(2, Math.min(16, Math.floor(Math.min(1024 / f.width, 768 / f.height))));
  if (canvas.width !== f.width * cell || canvas.height !== f.height * cell) {
    canvas.width = f.width * cell;
    canvas.height = f.height * cell;
  }
  const bin = atob(f.rows);
  ctx.fillStyle = '#111';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#8fe388';
  const gap = cell >= 4 ? 1 : 0;
  for (let y = 0; y < f.height; y++)
    for (let x = 0; x < f.width; x++)
      if ((bin.charCodeAt(y * ${ROW_BYTES} + (x >> 3)) >> (x & 7)) & 1)
        ctx.fillRect(x * cell, y * cell, cell - gap, cell - gap);
  canvas.dataset.cell = String(cell);
  canvas.dataset.live = String(f.live);
  canvas.dataset.generation = String(f.generation);
  const now = performance.now();
  recent.push([now, f.generation]);
  while (recent.length > 1 && recent[0][0] < now - 2000) recent.shift();
  const span = (recent[recent.length - 1][0] - recent[0][0]) / 1000;
  const rate = span > 0 ? (recent[recent.length - 1][1] - recent[0][1]) / span : 0;
  status.textContent = 'generation ' + f.generation + '  live ' + f.live + '  ' + rate.toFixed(0) + ' gen/s  ' +
    f.width + '×' + f.height + '  ' + title;
}
const source = new EventSource('/frames');
source.onmessage = (e) => draw(JSON.parse(e.data));
source.onerror = () => { status.textContent += '  (disconnected)'; };
</script>
</body>
</html>
`;
}
