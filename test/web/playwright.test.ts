// The browser playground end to end: `vite build` into a temp dir, a tiny static server, Debian's
// chromium driven by playwright-core. Verifies an accepted and a rejected example, runs programs,
// steps through the interpreter, shares state through the URL, and keeps working offline.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import assert from 'node:assert/strict';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.o': 'application/octet-stream',
};

type Ctx = import('playwright-core').BrowserContext;
type Page = import('playwright-core').Page;

let outDir = '';
let profile = '';
let server: Server | undefined;
let base = '';
let ctx: Ctx | undefined;
let page: Page;

before(async () => {
  if (skip) return;
  outDir = mkdtempSync(join(tmpdir(), 'tsbpf-web-'));
  profile = mkdtempSync(join(tmpdir(), 'tsbpf-chromium-'));
  const { build } = await import('vite');
  await build({
    configFile: join(import.meta.dirname, '../../vite.config.ts'),
    logLevel: 'silent',
    build: { outDir },
  });
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(outDir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(outDir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const { chromium } = await import('playwright-core');
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
});

after(async () => {
  await ctx?.close();
  server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function pick(value: string): Promise<void> {
  await page.selectOption('#gallery', value);
}

/** Waits for the verifier worker's verdict and returns it. */
async function verdict(): Promise<string> {
  await page.waitForFunction(() =>
    ['accepted', 'rejected'].includes(document.getElementById('verdict')!.textContent!),
  );
  return page.textContent('#verdict') as Promise<string>;
}

test('page weight: the built app, gzipped', { skip }, () => {
  const assets = join(outDir, 'assets');
  let js = 0;
  let all = 0;
  for (const f of [...readdirSync(assets).map((x) => join(assets, x)), join(outDir, 'index.html')]) {
    const gz = gzipSync(readFileSync(f)).length;
    all += gz;
    if (f.endsWith('.js') || f.endsWith('.css') || f.endsWith('.html')) js += gz;
  }
  console.log(
    `# page weight gzipped: app ${js} bytes (html+css+js incl. worker and jit chunks), with example objects ${all} bytes`,
  );
  assert.ok(js > 10_000, 'the bundle holds the verifier and VM');
});

test('loads and is interactive; the default snippet verifies as accepted', { skip }, async () => {
  await page.goto(base);
  await page.waitForSelector('body[data-ready="1"]');
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const mark = performance.getEntriesByName('tsbpf-interactive')[0]!;
    return { domInteractive: nav.domInteractive, ready: mark.startTime };
  });
  assert.equal(await verdict(), 'accepted');
  const firstVerdict = await page.evaluate(
    () => performance.getEntriesByName('tsbpf-first-verdict')[0]!.startTime,
  );
  console.log(
    `# time to interactive: DOM ${t.domInteractive.toFixed(0)} ms, app ready ${t.ready.toFixed(0)} ms, ` +
      `first verdict shown by ${firstVerdict.toFixed(0)} ms (after navigation start)`,
  );
  assert.match((await page.textContent('#processed')) ?? '', /^\d+$/);
});

test('a rejected snippet: message, explanation, and the log line selects the instruction', {
  skip,
}, async () => {
  await pick('asm:xdp-no-check');
  assert.equal(await verdict(), 'rejected');
  const explain = (await page.textContent('#explain')) ?? '';
  // The packet read at insn 1 has no bounds check before it.
  assert.match(explain, /insn 1: .*invalid access to packet/);
  const errLine = page.locator('#log .err').first();
  await errLine.click();
  assert.equal(await page.getAttribute('#listing .sel', 'data-insn'), '1');
});

test("kernel selector: verdict and first reason as each release's verifier gave them", { skip }, async () => {
  // waits until the line says what is expected (a gallery pick loads asynchronously)
  const kernelVerdict = async (want: RegExp): Promise<string> => {
    await page
      .waitForFunction(
        (src) => new RegExp(src).test(document.getElementById('kernel-verdict')!.textContent!),
        want.source,
        { timeout: 20_000 },
      )
      .catch(() => {});
    return (await page.textContent('#kernel-verdict')) ?? '';
  };
  await pick('asm:sum-loop');
  assert.equal(await verdict(), 'accepted');
  assert.equal(await kernelVerdict(/^Linux 6\.18: loads$/), 'Linux 6.18: loads');
  // bounded loops arrived in 5.3: before, check_cfg() refused the back-edge
  await page.selectOption('#kernel', '4.19');
  assert.equal(await verdict(), 'rejected');
  assert.match(
    await kernelVerdict(/^Linux 4\.19: rejected: back-edge from insn \d+ to \d+ \(insn \d+\)$/),
    /^Linux 4\.19: rejected: back-edge from insn \d+ to \d+ \(insn \d+\)$/,
  );
  // bpf_loop (helper 181) arrived in 5.17
  await pick('bpf-loop');
  assert.equal(await verdict(), 'rejected');
  assert.match(
    await kernelVerdict(/^Linux 4\.19: rejected: unrecognized bpf_ld_imm64 insn/),
    /^Linux 4\.19: rejected: unrecognized bpf_ld_imm64 insn/,
  );
  await page.selectOption('#kernel', '5.15');
  assert.equal(await verdict(), 'rejected');
  assert.match(
    await kernelVerdict(/^Linux 5\.15: rejected: invalid func unknown#181 \(insn \d+\)$/),
    /^Linux 5\.15: rejected: invalid func unknown#181 \(insn \d+\)$/,
  );
  await page.selectOption('#kernel', '6.18');
  assert.equal(await verdict(), 'accepted');
  assert.equal(await kernelVerdict(/^Linux 6\.18: loads$/), 'Linux 6.18: loads');
});

test('run: sum of 1..10 returns 55', { skip }, async () => {
  await pick('asm:sum-loop');
  assert.equal(await verdict(), 'accepted');
  await page.click('#run');
  assert.match((await page.textContent('#run-result')) ?? '', /retval: 55\b/);
});

test('bpf_trace_printk lines reach the output panel', { skip }, async () => {
  await pick('asm:printk');
  assert.equal(await verdict(), 'accepted');
  await page.click('#output-clear');
  await page.click('#run');
  assert.equal((await page.textContent('#output'))?.trim(), 'trace: hello 42');
  await pick('asm:sum-loop');
});

test('ring buffer records reach the output panel (examples/maps)', { skip }, async () => {
  await pick('maps');
  await page.waitForFunction(() => document.getElementById('src-name')!.textContent === 'maps.bpf.o');
  await page.selectOption('#prog', 'maps_selftest');
  await page.click('#output-clear');
  await page.click('#run');
  // maps_selftest writes one struct event by reserve/submit (kind 1), one by output (kind 2).
  const lines = ((await page.textContent('#output')) ?? '').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^ringbuf ringbuf: 01 00 00 00/);
  assert.match(lines[1]!, /^ringbuf ringbuf: 02 00 00 00/);
  await pick('asm:sum-loop');
});

test('step through 12 instructions: the register view follows the loop', { skip }, async () => {
  await page.click('#record');
  await page.waitForSelector('#regs tr[data-reg="r0"]');
  const r = (reg: string) => page.textContent(`#regs tr[data-reg="${reg}"] td:nth-child(3)`);
  const seen: string[] = [];
  let changedSteps = 0;
  for (let i = 0; i < 12; i++) {
    seen.push(`${await r('r0')},${await r('r1')}`);
    await page.click('#step-next');
    if ((await page.locator('#regs tr.changed').count()) > 0) changedSteps++;
  }
  assert.match((await page.textContent('#step-pos')) ?? '', /^step 13 \//);
  // The arrow keys move through the same trace.
  await page.locator('#regs').click();
  await page.keyboard.press('ArrowLeft');
  assert.match((await page.textContent('#step-pos')) ?? '', /^step 12 \//);
  // Before insn 0, r0 = 0 and r1 = the context pointer; after `r0 = 0; r1 = 1; r0 += r1;
  // r1 += 1`, r0 = 1 and r1 = 2; one more round through the loop: r0 = 3, r1 = 3.
  assert.match(seen[0]!, /^0,[1-9]/);
  assert.equal(seen[4], '1,2');
  assert.equal(seen[7], '3,3');
  // Every instruction but the loop's compare changes a register.
  assert.ok(changedSteps >= 8, `${changedSteps} steps changed a register`);
});

test('an object: xdp-parse passes a UDP packet and counts it in its map', { skip }, async () => {
  await pick('xdp-parse');
  assert.equal(await verdict(), 'accepted');
  await page.selectOption('#packets', 'udp-dns');
  await page.click('#run');
  assert.match((await page.textContent('#run-result')) ?? '', /retval: 2 \(XDP_PASS\)/);
  // examples/xdp-parse bumps proto_count[1] (IPv4) and [4] (UDP) once per IPv4 UDP packet.
  const ipv4 = page.locator('#maps input[data-map="proto_count"][data-key="01 00 00 00"]');
  assert.equal(await ipv4.inputValue(), '01 00 00 00 00 00 00 00');
  // Edit the counter in the maps panel; the next run adds one to what we wrote.
  await ipv4.fill('05 00 00 00 00 00 00 00');
  await ipv4.press('Enter');
  await page.click('#run');
  assert.equal(await ipv4.inputValue(), '06 00 00 00 00 00 00 00');
  assert.equal(
    await page.locator('#maps input[data-map="proto_count"][data-key="04 00 00 00"]').inputValue(),
    '02 00 00 00 00 00 00 00',
  );
});

test('the WebAssembly JIT engine gives the same results as the interpreter', { skip }, async () => {
  await pick('asm:sum-loop');
  assert.equal(await verdict(), 'accepted');
  await page.selectOption('#engine', 'jit');
  await page.waitForFunction(() => document.getElementById('engine')!.dataset.loaded === 'jit');
  await page.click('#run');
  assert.match((await page.textContent('#run-result')) ?? '', /retval: 55\b/);
  await pick('xdp-parse');
  assert.equal(await verdict(), 'accepted');
  await page.selectOption('#packets', 'arp');
  await page.click('#run');
  // Not IPv4/IPv6: passed, and counted in proto_count[0] (SLOT_OTHER_L2).
  assert.match((await page.textContent('#run-result')) ?? '', /retval: 2 \(XDP_PASS\)/);
  const other = page.locator('#maps input[data-map="proto_count"][data-key="00 00 00 00"]');
  assert.equal(await other.inputValue(), '01 00 00 00 00 00 00 00');
  await page.selectOption('#engine', 'interp');
});

test('the file picker opens raw bytecode and objects', { skip }, async () => {
  // r0 = 7; exit — two 8-byte slots, little-endian imm.
  const raw = Buffer.from('b700000007000000' + '9500000000000000', 'hex');
  await page.setInputFiles('#file', { name: 'seven.bin', mimeType: 'application/octet-stream', buffer: raw });
  assert.equal(await verdict(), 'accepted');
  assert.equal(await page.locator('#listing [data-insn]').count(), 2);
  await page.click('#run');
  assert.match((await page.textContent('#run-result')) ?? '', /retval: 7\b/);
  const obj = join(import.meta.dirname, '../../examples/socket-filter/socket_filter.bpf.o');
  await page.setInputFiles('#file', obj);
  await page.waitForFunction(
    () => document.getElementById('src-name')!.textContent === 'socket_filter.bpf.o',
  );
  const progs = await page.locator('#prog option').allTextContents();
  assert.deepEqual(progs.sort(), ['udp_port_filter', 'udp_port_legacy']);
});

test('bad input is reported where it is, and clears the old verdict', { skip }, async () => {
  await pick('asm:sum-loop');
  assert.equal(await verdict(), 'accepted');
  await page.fill('#editor', 'r0 = 1\nr0 = frobnicate\nexit\n');
  await page.waitForSelector('#load-error:not([hidden])');
  assert.match((await page.textContent('#load-error')) ?? '', /line 2/);
  assert.equal(await page.textContent('#verdict'), '');
  // Not ELF, not a whole number of 8-byte slots.
  await page.setInputFiles('#file', {
    name: 'odd.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(12),
  });
  await page.waitForFunction(() => /8|slot/.test(document.getElementById('load-error')!.textContent!));
  await pick('asm:sum-loop');
  assert.equal(await verdict(), 'accepted');
  assert.equal(await page.isHidden('#load-error'), true);
});

test('the URL hash reproduces program and packet', { skip }, async () => {
  await pick('asm:sum-loop');
  await verdict();
  await page.selectOption('#packets', 'arp');
  const url = page.url();
  assert.match(url, /#./);
  const other = await ctx!.newPage();
  await other.goto(url);
  await other.waitForSelector('body[data-ready="1"]');
  assert.match((await other.inputValue('#editor')) ?? '', /goto loop/);
  assert.match(await other.inputValue('#packet'), /^ff ff ff ff ff ff/);
  await other.close();
});

test('offline after load: examples still load, verify, run, and Life runs on bpf_timer', {
  skip,
}, async () => {
  // Let the background prefetch of the example objects finish first.
  await page.waitForLoadState('networkidle');
  await ctx!.setOffline(true);
  try {
    await pick('asm:uninit-r0');
    assert.equal(await verdict(), 'rejected');
    await pick('life');
    await page.waitForSelector('#life-pane:not([hidden])');
    await page.click('#life-seed');
    const live = Number(await page.getAttribute('#life', 'data-live'));
    assert.ok(live > 0, 'seed put live cells on the board');
    await page.click('#life-start');
    await page.waitForFunction(
      () => /generation [1-9]/.test(document.getElementById('life-info')!.textContent!),
      null,
      {
        timeout: 10_000,
      },
    );
    await page.click('#life-stop');
  } finally {
    await ctx!.setOffline(false);
  }
});
