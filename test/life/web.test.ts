// `tsbpf life --web`: the page's canvas, read back pixel by pixel in headless chromium, must show
// exactly the board in the `board` map at the same generation (the timer stops at a fixed
// generation count, so both sides are read at rest); and the CLI serves, streams and quits on
// SIGINT with exit 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { randomBoard } from '../../src/life/board.ts';
import { LifeHost } from '../../src/life/host.ts';
import { serveLife } from '../../src/life/web.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;
const root = new URL('../../', import.meta.url).pathname;

type Ctx = import('playwright-core').BrowserContext;
let ctx: Ctx | undefined;
let profile = '';

before(async () => {
  if (skip) return;
  profile = mkdtempSync(join(tmpdir(), 'tsbpf-life-chromium-'));
  const { chromium } = await import('playwright-core');
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
});

after(async () => {
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// The page's colours (src/life/web.ts): live #8fe388, dead #111.
const LIVE = [0x8f, 0xe3, 0x88];
const DEAD = [0x11, 0x11, 0x11];

const CASES = [
  { width: 40, height: 24, torus: true, seed: 4, generations: 60 },
  // Several words per row, bounded edges, 3-pixel cells without a gap.
  { width: 200, height: 150, torus: false, seed: 9, generations: 25 },
];

for (const c of CASES) {
  const edges = c.torus ? 'torus' : 'bounded';
  test(`browser canvas = board map after ${c.generations} generations (${c.width}×${c.height} ${edges})`, {
    skip,
  }, async () => {
    const host = new LifeHost({
      width: c.width,
      height: c.height,
      torus: c.torus,
      engine: 'jit',
      clock: 'real',
      periodNs: 2_000_000,
      maxGenerations: c.generations,
      verify: false,
    });
    host.setBoard(randomBoard(c.seed, c.width, c.height));
    const web = await serveLife(host, { port: 0, title: 'test' });
    const page = await ctx!.newPage();
    try {
      await page.goto(web.url);
      await page.waitForSelector(`#board[data-generation="${c.generations}"]`, { timeout: 30_000 });
      assert.equal(host.generation, c.generations, 'the timer stopped at the generation the page shows');
      // The centre pixel of every cell, as the canvas holds it.
      const shot = await page.evaluate(
        ({ w, h }) => {
          const canvas = document.getElementById('board') as HTMLCanvasElement;
          const cell = Number(canvas.dataset.cell);
          const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          const px: number[] = [];
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++) {
              const i = ((y * cell + (cell >> 1)) * img.width + x * cell + (cell >> 1)) * 4;
              px.push(img.data[i]!, img.data[i + 1]!, img.data[i + 2]!);
            }
          return { px, cell, cw: canvas.width, ch: canvas.height };
        },
        { w: c.width, h: c.height },
      );
      assert.equal(shot.cw, c.width * shot.cell);
      assert.equal(shot.ch, c.height * shot.cell);
      const board = host.board();
      let live = 0;
      for (let y = 0; y < c.height; y++)
        for (let x = 0; x < c.width; x++) {
          const rgb = shot.px.slice((y * c.width + x) * 3, (y * c.width + x) * 3 + 3);
          const alive = board.cells[y * c.width + x]!;
          live += alive;
          assert.deepEqual(rgb, alive ? LIVE : DEAD, `cell (${x}, ${y}) of generation ${c.generations}`);
        }
      assert.ok(live > 0, 'a board with live cells (an empty one would prove little)');
      assert.equal(await page.getAttribute('#board', 'data-live'), String(live));
    } finally {
      await page.close();
      await web.close();
      host.stop();
      host.close();
    }
  });
}

test('tsbpf life --web: prints the URL, serves the page and frames, exits 0 on SIGINT', async () => {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin/tsbpf.js'),
      'life',
      '--web',
      '--port',
      '0',
      '--seed',
      '3',
      '--period',
      '5',
      '--no-verify',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!/http:\/\/127\.0\.0\.1:\d+\//.test(out) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
    assert.ok(url, `no URL printed: ${out} ${err}`);
    const html = await (await fetch(url)).text();
    assert.match(html, /<canvas id="board"/);
    assert.match(html, /new EventSource\('\/frames'\)/);
    // Two events from the stream: generation numbers grow, rows hold height × 32 bytes.
    const ac = new AbortController();
    const res = await fetch(`${url}frames`, { signal: ac.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const frames: { generation: number; width: number; height: number; rows: string }[] = [];
    while (frames.length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
      let end = text.indexOf('\n\n');
      while (end >= 0) {
        frames.push(JSON.parse(text.slice(0, end).replace(/^data: /, '')));
        text = text.slice(end + 2);
        end = text.indexOf('\n\n');
      }
    }
    ac.abort();
    assert.ok(frames.length >= 2, err);
    assert.ok(frames[1]!.generation > frames[0]!.generation, JSON.stringify(frames.map((f) => f.generation)));
    assert.deepEqual([frames[1]!.width, frames[1]!.height], [64, 40]);
    assert.equal(Buffer.from(frames[1]!.rows, 'base64').length, 40 * 32);
    assert.equal((await fetch(`${url}nothing`)).status, 404);
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, err);
  assert.match(err, /stopped after generation \d+/);
});
