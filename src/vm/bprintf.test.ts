// bpf_seq_printf's format rules (kernel: bpf_bprintf_prepare) on a small arena.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena } from './arena.ts';
import { bprintf } from './bprintf.ts';

const arena = new Arena();
const fmt = (s: string) => new TextEncoder().encode(`${s}\0`);
const str = (s: string) => {
  const a = arena.alloc(s.length + 1, 8, { kind: 'mem', writable: false });
  arena.write(a, fmt(s));
  return BigInt(a);
};
const run = (f: string, ...args: bigint[]) => {
  const r = bprintf(fmt(f), args, arena);
  return typeof r === 'number' ? r : String.fromCharCode(...r);
};

test('integers: int width unless l/ll, sign only for d/i', () => {
  assert.equal(run('%d %u %x', 0xffff_ffffn, 0x1_0000_0001n, 0xabcn), '-1 1 abc');
  assert.equal(run('%lld %llu', 0xffff_ffff_ffff_fffen, 0xffff_ffff_ffff_fffen), '-2 18446744073709551614');
  assert.equal(run('[%+5d][%-5u][%05i][% d]', 3n, 3n, -3n, 3n), '[   +3][3    ][-0003][ 3]');
  assert.equal(run('%+x', 5n), '5');
});

test('strings and chars', () => {
  assert.equal(run('<%s> <%6s> <%-4s>', str('ab'), str('cd'), str('e')), '<ab> <    cd> <e   >');
  assert.equal(run('<%s>', 0n), '<>'); // unreadable: empty, not a fault
  assert.equal(run('%c%c', 104n, 0x169n), 'hi');
});

test('formats the kernel refuses are -EINVAL', () => {
  for (const f of ['%hd', '%#x', '%.3d', '%zd', '%o', '%s1', '%pZ', '%lf', '%d %d', '\x7f', 'tab\x01'])
    assert.equal(run(f, 1n), -22, JSON.stringify(f));
  assert.equal(bprintf(new Uint8Array([37, 100]), [1n], arena), -22); // no NUL
  assert.equal(run('100%%'), '100%');
});
