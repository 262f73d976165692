// A screenshot test of the terminal animation: `tsbpf life` runs in a detached tmux pane; the
// captured screen must show, in half blocks, the board the model computes for the generation
// the status line names, and q must leave the terminal as it was (main screen, cursor shown,
// the same stty settings).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { patterns } from '../../src/life/board.ts';
import { parseHalfBlocks } from '../../src/life/render.ts';
import { lifeRun } from '../examples/life-model.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
// A private tmux server, so the test never touches anyone's sessions.
const SOCKET = `tsbpf-life-test-${process.pid}`;
const SESSION = 'life';
const W = 30;
const H = 20;

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const capture = () => tmux('capture-pane', '-p', '-t', SESSION).split('\n');
const paneFlags = () => tmux('display-message', '-p', '-t', SESSION, '#{alternate_on} #{cursor_flag}').trim();

async function waitFor<T>(what: string, f: () => T | undefined, ms = 40_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${capture().join('\n')}`);
    await sleep(100);
  }
}

test('tmux: the pane shows the model board of the generation on the status line; q restores the terminal', {
  skip: hasTmux ? false : 'tmux is not installed (apt-get install tmux)',
  timeout: 90_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-life-tmux-'));
  // The pulsar has period 3, so three different screens come round; 300 ms between them.
  const cmd =
    `stty -g > ${dir}/before; node bin/tsbpf.js life --pattern pulsar --width ${W} --height ${H} --period 300; ` +
    `echo $? > ${dir}/exit; stty -g > ${dir}/after; sleep 60`;
  tmux('new-session', '-d', '-s', SESSION, '-x', '100', '-y', '40', '-c', ROOT, cmd);
  try {
    const pulsar = patterns().get('pulsar')!;
    const x0 = Math.floor((W - pulsar.width) / 2);
    const y0 = Math.floor((H - pulsar.height) / 2);
    const start = pulsar.cells.map(([x, y]) => [x + x0, y + y0] as [number, number]);
    let checked = 0;
    const gens = new Set<number>();
    // Several screenshots: each one must be consistent (the frame is one write, but a capture
    // can land in the middle of it, so a torn screen is retried).
    for (let shot = 0; shot < 40 && checked < 3; shot++) {
      const lines = await waitFor('a frame after generation 0', () => {
        const l = capture();
        const m = l.find((s) => /^gen \d+/.test(s));
        return m && !m.startsWith('gen 0 ') ? l : undefined;
      });
      const status = lines.find((s) => s.startsWith('gen '))!;
      const m = /^gen (\d+) {2}live (\d+) {2}[\d.]+ gen\/s {2}engine (jit|interp) {2}torus/.exec(status);
      assert.ok(m, status);
      const gen = Number(m[1]);
      const top = lines.findIndex((s) => s.startsWith('┌'));
      assert.equal(lines[top], `┌${'─'.repeat(W)}┐`);
      const rows = lines.slice(top + 1, top + 1 + H / 2);
      assert.equal(lines[top + 1 + H / 2], `└${'─'.repeat(W)}┘`);
      const inner = rows.map((r) => {
        assert.ok(r.startsWith('│') && r.endsWith('│'), r);
        return r.slice(1, -1);
      });
      const shown = parseHalfBlocks(inner, W, H);
      const want = lifeRun(start, { width: W, height: H, torus: true }, gen);
      const got = new Set<string>();
      shown.cells.forEach((c, i) => {
        if (c) got.add(`${i % W},${Math.floor(i / W)}`);
      });
      const same = got.size === want.size && [...want].every((k) => got.has(k));
      if (!same) {
        await sleep(50);
        continue; // torn capture: try again
      }
      assert.equal(Number(m[2]), want.size, 'live count on the status line');
      gens.add(gen % 3);
      checked++;
      await sleep(320);
    }
    assert.equal(checked, 3, 'three consistent screenshots');
    assert.ok(gens.size >= 2, 'the animation moved on between screenshots');
    assert.equal(paneFlags(), '1 0', 'alternate screen on, cursor hidden while animating');

    tmux('send-keys', '-t', SESSION, 'q');
    await waitFor('the exit status', () => (existsSync(join(dir, 'after')) ? true : undefined), 10_000);
    assert.equal(readFileSync(join(dir, 'exit'), 'utf8').trim(), '0');
    assert.equal(
      readFileSync(join(dir, 'after'), 'utf8'),
      readFileSync(join(dir, 'before'), 'utf8'),
      'stty restored',
    );
    assert.equal(paneFlags(), '0 1', 'main screen, cursor shown');
    assert.ok(!capture().some((l) => l.includes('┌')), 'the board went with the alternate screen');
  } finally {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
  }
});
