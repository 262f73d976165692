import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LogPos, VerifierLog } from './log.ts';

// A plain model of the log (the array of lines it was before blocks): what VerifierLog must equal.
class ModelLog {
  lines: string[] = [];
  private continueLast = false;
  add(line: string): void {
    if (this.continueLast) {
      this.continueLast = false;
      this.lines[this.lines.length - 1] += line;
    } else this.lines.push(line);
  }
  endPos(): LogPos {
    const n = this.lines.length;
    return { lines: n, lastLen: n > 0 ? this.lines[n - 1]!.length : 0 };
  }
  truncate(pos: LogPos): void {
    this.lines.length = Math.min(this.lines.length, pos.lines);
    this.continueLast = false;
    const last = pos.lines - 1;
    if (last >= 0 && this.lines[last]!.length > pos.lastLen) {
      this.lines[last] = `${this.lines[last]!.slice(0, pos.lastLen)} `;
      this.continueLast = true;
    }
  }
}

// xorshift32: a fixed pseudo-random walk of adds, instruction lines, states and truncations
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('a long log sealed into blocks reads, truncates and continues lines like a plain array', () => {
  for (const seed of [1, 7, 42]) {
    const rand = rng(seed);
    const log = new VerifierLog(1);
    const model = new ModelLog();
    const saved: LogPos[] = [];
    let maxLines = 0;
    let farBack = 0;
    for (let step = 0; step < 60_000; step++) {
      const r = rand();
      if (r < 0.6) {
        const line = `${step}: (07) r0 += 1`;
        log.addInsnLine(line);
        model.add(line);
        if (rand() < 0.5) {
          const before = model.lines.length;
          log.insnState(step, ' R0=1');
          // the state joins the open instruction line, padded to the kernel's column
          const last = model.lines[before - 1]!;
          const width = Math.ceil(Math.max(last.length + 5, 40) / 8) * 8 - 2;
          model.lines[before - 1] = `${last.padEnd(width)}; R0=1`;
        }
      } else if (r < 0.9) {
        log.add(`from ${step} to ${step + 1}: R1=ctx()`);
        model.add(`from ${step} to ${step + 1}: R1=ctx()`);
      } else if (r < 0.995) {
        const pos = log.endPos;
        assert.deepEqual(pos, model.endPos());
        saved.push(pos);
      } else if (saved.length) {
        // back to a saved position, often one far behind (a branch pushed long ago)
        const k = rand() < 0.05 ? Math.floor(rand() * saved.length) : saved.length - 1;
        const pos = saved.splice(k)[0]!;
        if (model.lines.length - pos.lines > 4096) farBack++;
        log.truncate(pos);
        model.truncate(pos);
      }
      assert.equal(log.length, model.lines.length);
      maxLines = Math.max(maxLines, model.lines.length);
    }
    assert.ok(maxLines > 3 * 4096, `seed ${seed}: the log grew past several blocks (${maxLines})`);
    assert.ok(farBack > 0, `seed ${seed}: some truncation went back more than a block`);
    assert.deepEqual(log.toLines(), model.lines, `seed ${seed}`);
  }
});

test('a line holding a newline stays one line of the result', () => {
  const log = new VerifierLog(2);
  const expected: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const line = i === 5 ? 'two\nparts' : `line ${i}`;
    log.add(line);
    expected.push(line);
  }
  assert.deepEqual(log.toLines(), expected);
});
