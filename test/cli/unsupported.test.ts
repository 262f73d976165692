// What tsbpf reads but cannot load (test/fixtures/unsupported): struct_ops maps, BPF arenas and
// unknown kfuncs are exit-2 errors that name the section and symbol, never crashes; obj show
// still lists the object.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli, root, scratch } from './helpers.ts';

const fx = (name: string) => `${root}test/fixtures/unsupported/${name}.bpf.o`;

test('struct_ops: obj show lists it as unsupported; loading names the variable and section', async () => {
  const show = await cli('obj', 'show', fx('struct_ops'), '--json');
  assert.equal(show.code, 0, show.err);
  const j = JSON.parse(show.out) as { unsupported: { section: string; symbol: string }[] };
  assert.deepEqual(
    j.unsupported.map((u) => [u.section, u.symbol]),
    [['.struct_ops', 'my_cc']],
  );
  for (const argv of [
    ['run', fx('struct_ops'), '--prog', 'plain_xdp'],
    ['map', 'dump', fx('struct_ops'), '--map', 'my_cc'],
  ]) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /section \.struct_ops: unsupported: struct_ops map "my_cc"/);
  }
});

test('arena: the __arena variable and the arena map are named', async () => {
  const show = await cli('obj', 'show', fx('arena'));
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, /arena +arena/);
  const s = scratch('tsbpf-unsup-');
  try {
    const link = await cli('obj', 'link', fx('arena'), '-o', s.path('a.bin'));
    assert.equal(link.code, 2);
    assert.match(link.err, /insn 0: unsupported: arena variable "counter" \(section \.addr_space\.1\)/);
  } finally {
    s.remove();
  }
  const run = await cli('run', fx('arena'));
  assert.equal(run.code, 2);
  assert.match(run.err, /section \.maps: map arena: map type arena is not supported/);
});

test('kfunc: a call to a kernel function tsbpf lacks names it', async () => {
  const r = await cli('run', fx('kfunc'), '--json');
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /section xdp: prog call_kfunc: insn \d+: unsupported: call to kernel function "bpf_no_such_kfunc"/,
  );
  assert.equal((JSON.parse(r.out) as { error: { code: string } }).error.code, 'ELF');
});
