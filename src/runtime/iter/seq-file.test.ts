// The read loop of bpf_seq_read() on synthetic objects: how output is cut into reads, what
// overflow and "retry" (-EAGAIN) do, and when the final call happens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { E2BIG, EAGAIN, MAX_ITER_OBJECTS, SEQ_BUF_SIZE, type SeqOps, SeqSession } from './seq-file.ts';

/** Objects 0..n-1, each printing `sizeOf(i)` bytes of the letter for i; records every call. */
function objects(n: number, sizeOf: (i: number) => number, retry = -1) {
  const calls: string[] = [];
  let session: SeqSession<number>;
  const ops: SeqOps<number> = {
    start: (i) => (i < n ? i : null),
    show: (i, seqNum) => {
      calls.push(`show ${i} seq ${seqNum}`);
      if (i === retry) return -EAGAIN;
      session.buffer.write(new Uint8Array(sizeOf(i)).fill(97 + (i % 26)));
      return 0;
    },
    stop: (seqNum) => {
      calls.push(`stop seq ${seqNum}`);
      session.buffer.write(new TextEncoder().encode('.'));
    },
  };
  session = new SeqSession(ops);
  return { session, calls };
}

function readAll(s: SeqSession<number>, size: number): { text: string; reads: number; err?: number } {
  let text = '';
  for (let reads = 1; ; reads++) {
    const r = s.read(size);
    if (typeof r === 'number') return { text, reads, err: r };
    if (r.length === 0) return { text, reads };
    text += String.fromCharCode(...r);
  }
}

test('every object once with its seq_num, then the final call, then end of file', () => {
  const { session, calls } = objects(3, () => 2);
  const r = readAll(session, 1000);
  assert.equal(r.text, 'aabbcc.');
  assert.deepEqual(calls, ['show 0 seq 0', 'show 1 seq 1', 'show 2 seq 2', 'stop seq 2']);
  assert.equal(r.reads, 2);
  assert.equal(session.read(1000).constructor, Uint8Array); // still EOF, no second final call
  assert.equal(calls.length, 4);
});

test('a read stops filling once it has `size` bytes; the next read goes on from there', () => {
  const { session, calls } = objects(4, () => 3);
  assert.equal(String.fromCharCode(...(session.read(5) as Uint8Array)), 'aaabb');
  assert.deepEqual(calls, ['show 0 seq 0', 'show 1 seq 1']);
  assert.equal(String.fromCharCode(...(session.read(5) as Uint8Array)), 'b'); // rest of the buffer
  assert.equal(readAll(session, 5).text, 'cccddd.');
});

test('an empty walk only makes the final call, with seq_num 0', () => {
  const { session, calls } = objects(0, () => 1);
  assert.equal(readAll(session, 10).text, '.');
  assert.deepEqual(calls, ['stop seq 0']);
});

test('retry (-EAGAIN) keeps what came before and fails the read that starts at that object', () => {
  const { session, calls } = objects(5, () => 1, 2);
  const r = readAll(session, 100);
  assert.equal(r.text, 'ab');
  assert.equal(r.err, -EAGAIN);
  assert.deepEqual(calls, ['show 0 seq 0', 'show 1 seq 1', 'show 2 seq 2', 'show 2 seq 2']);
});

test('an object that alone overflows the buffer is E2BIG; seq_write keeps strictly less than the size', () => {
  const fits = objects(1, () => SEQ_BUF_SIZE - 2); // plus '.' = SEQ_BUF_SIZE - 1 bytes: fits
  assert.equal(readAll(fits.session, 1 << 20).text.length, SEQ_BUF_SIZE - 1);
  const whole = objects(1, () => SEQ_BUF_SIZE); // needs count + len < size
  assert.equal(readAll(whole.session, 1 << 20).err, -E2BIG);
  // after a small object, the big one first overflows behind it, then alone in the next read
  const second = objects(2, (i) => (i === 0 ? 1 : SEQ_BUF_SIZE));
  const r = readAll(second.session, 1 << 20);
  assert.equal(r.text, 'a');
  assert.equal(r.err, -E2BIG);
  assert.deepEqual(second.calls, ['show 0 seq 0', 'show 1 seq 1', 'show 1 seq 1']);
});

test('the object after a full buffer runs again in the next read', () => {
  const half = SEQ_BUF_SIZE / 2;
  const { session, calls } = objects(3, () => half - 10);
  const r = readAll(session, 1 << 20);
  assert.equal(r.text.length, 3 * (half - 10) + 1);
  // object 2 does not fit after 0 and 1: shown, discarded, shown again
  assert.deepEqual(calls, ['show 0 seq 0', 'show 1 seq 1', 'show 2 seq 2', 'show 2 seq 2', 'stop seq 2']);
});

test('one read visits at most MAX_ITER_OBJECTS objects', () => {
  const n = MAX_ITER_OBJECTS + 5;
  const { session } = objects(n, () => 0);
  const first = session.read(1 << 20);
  assert.equal(first, -EAGAIN); // nothing printed in a million objects
});
