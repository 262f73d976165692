// Pinned maps across CLI invocations: `tsbpf run --pin-maps`, `map lookup|update|delete|getnext|
// dump pinned PATH` in bpftool's syntax, LIBBPF_PIN_BY_NAME reuse, and the pin file's guard.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { PIN_MAGIC } from '../../src/cli/pins.ts';
import { cli, root, scratch } from './helpers.ts';

const MAPS = `${root}examples/maps/maps.bpf.o`;
const GLOBALS = `${root}examples/globals/globals.bpf.o`;
const BY_NAME = `${root}test/fixtures/objects/maps.bpf.o`;

test('map update/lookup/delete/getnext on a pin, in bpftool syntax', async () => {
  const s = scratch('tsbpf-pins-');
  const fs = ['--bpffs', s.dir];
  try {
    const pin = await cli('map', 'pin', MAPS, '--map', 'hash_map', ...fs, '--json');
    assert.equal(pin.code, 0, pin.err);
    assert.deepEqual(JSON.parse(pin.out), { map: 'hash_map', pinned: s.path('hash_map'), entries: 0 });
    assert.ok(readFileSync(s.path('hash_map'), 'utf8').startsWith(`${PIN_MAGIC}\n`));
    // Each invocation starts from the file: what one writes, the next one reads.
    const up = (k: string[], v: string[], ...flags: string[]) =>
      cli('map', 'update', 'pinned', 'hash_map', 'key', ...k, 'value', ...v, ...flags, ...fs);
    assert.equal(
      (await up(['7', '0', '0', '0'], ['hex', '2a', '00', '00', '00', '00', '00', '00', '00'])).code,
      0,
    );
    assert.equal(
      (await up(['0x03', '0', '0', '0'], ['5', '0', '0', '0', '0', '0', '0', '0'], 'noexist')).code,
      0,
    );
    const again = await up(['3', '0', '0', '0'], ['6', '0', '0', '0', '0', '0', '0', '0'], 'noexist');
    assert.equal(again.code, 1);
    assert.match(again.err, /update in pinned map hash_map: .*\(EEXIST\)$/m);
    const missing = await up(['4', '0', '0', '0'], ['6', '0', '0', '0', '0', '0', '0', '0'], 'exist');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /ENOENT/);

    const look = await cli(
      'map',
      'lookup',
      'pinned',
      'hash_map',
      'key',
      'hex',
      '07',
      '00',
      '00',
      '00',
      ...fs,
      '--json',
    );
    assert.equal(look.code, 0, look.err);
    const j = JSON.parse(look.out) as { value: string[]; formatted: { key: number; value: number } };
    assert.equal(j.value[0], '0x2a');
    // maps.bpf.c: hash_map is __u32 → __u64, so BTF formats the 42 as a number.
    assert.deepEqual(j.formatted, { key: 7, value: 42 });
    const text = await cli('map', 'lookup', 'pinned', 'hash_map', 'key', '3', '0', '0', '0', ...fs);
    assert.match(text.out, /"key": 3,\n\s+"value": 5/);

    // A walk with one getnext per invocation visits every key once, in `map dump`'s order
    // (the pin keeps the hash seed, so the order survives reloading).
    const dumpOrder = (
      JSON.parse((await cli('map', 'dump', 'pinned', 'hash_map', ...fs, '--json')).out) as { key: string[] }[]
    ).map((e) => e.key[0]);
    const walk: string[] = [];
    let after: string[] = [];
    for (;;) {
      const g = await cli('map', 'getnext', 'pinned', 'hash_map', ...after, ...fs, '--json');
      if (g.code !== 0) {
        assert.match(g.err, /no key after .*\(ENOENT\)/);
        break;
      }
      const k = (JSON.parse(g.out) as { next_key: string[] }).next_key;
      walk.push(k[0]!);
      after = ['key', 'hex', ...k.map((x) => x.slice(2))];
      assert.ok(walk.length <= 2);
    }
    assert.deepEqual(walk, dumpOrder);
    assert.deepEqual(new Set(walk), new Set(['0x07', '0x03']));

    assert.equal(
      (await cli('map', 'delete', 'pinned', 'hash_map', 'key', '7', '0', '0', '0', ...fs)).code,
      0,
    );
    const gone = await cli('map', 'lookup', 'pinned', 'hash_map', 'key', '7', '0', '0', '0', ...fs);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /no such element \(ENOENT\)/);
    const dump = await cli('map', 'dump', 'pinned', 'hash_map', ...fs, '--json');
    assert.equal((JSON.parse(dump.out) as unknown[]).length, 1);

    // Bad arguments: exit 2, naming what was wrong.
    for (const [argv, re] of [
      [['map', 'lookup', 'pinned', 'hash_map', 'key', '1', '0', '0'], /key: the map takes 4 bytes, got 3/],
      [
        ['map', 'lookup', 'pinned', 'hash_map', 'key', 'hex', 'zz', '0', '0', '0'],
        /key: 'zz' is not a byte in hex/,
      ],
      [['map', 'lookup', 'pinned', 'nope', 'key', '1', '0', '0', '0'], /nope: no such pin/],
      [['map', 'lookup', 'hash_map', 'key', '1'], /expected 'pinned PATH'/],
      [['map', 'update', 'pinned', 'hash_map', 'key', '1', '0', '0', '0'], /value DATA is required/],
      [['map', 'lookup', 'pinned', '../x', 'key', '1', '0', '0', '0'], /without '\.\.'/],
    ] as const) {
      const r = await cli(...argv, ...fs);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, re);
    }
  } finally {
    s.remove();
  }
});

test('a file that is not a pin is never overwritten nor read as one', async () => {
  const s = scratch('tsbpf-pins-');
  try {
    writeFileSync(s.path('notes.txt'), 'my notes\n');
    const r = await cli('map', 'pin', GLOBALS, '--map', '.data', 'notes.txt', '--bpffs', s.dir);
    assert.equal(r.code, 2);
    assert.match(r.err, /refusing to overwrite .*notes\.txt: it is not a tsbpf map pin/);
    assert.equal(readFileSync(s.path('notes.txt'), 'utf8'), 'my notes\n');
    const d = await cli('map', 'dump', 'pinned', 'notes.txt', '--bpffs', s.dir);
    assert.equal(d.code, 2);
    assert.match(d.err, /not a valid tsbpf map pin: no 'tsbpf-map-pin 1' header/);
    writeFileSync(s.path('broken'), `${PIN_MAGIC}\n{"name": 1}\n`);
    const b = await cli('map', 'dump', 'pinned', 'broken', '--bpffs', s.dir);
    assert.equal(b.code, 2);
  } finally {
    s.remove();
  }
});

test('run --pin-maps, then dump; LIBBPF_PIN_BY_NAME maps carry state from run to run', async () => {
  const s = scratch('tsbpf-pins-');
  const fs = ['--bpffs', s.dir];
  try {
    const r = await cli('run', MAPS, '--prog', 'maps_selftest', '--pin-maps', ...fs, '--json');
    assert.equal(r.code, 0, r.err);
    const pins = (JSON.parse(r.out) as { pins: { pinned: { map: string }[]; skipped: { map: string }[] } })
      .pins;
    assert.deepEqual(pins.pinned.map((x) => x.map).sort(), [
      'array_map',
      'hash_map',
      'lru_map',
      'percpu_array_map',
      'percpu_hash_map',
    ]);
    assert.deepEqual(pins.skipped.map((x) => x.map).sort(), ['bloom', 'queue', 'ringbuf', 'stack']);
    // The pinned hash holds what the program left in it: the same as --dump-maps showed.
    const run = JSON.parse(
      (await cli('run', MAPS, '--prog', 'maps_selftest', '--dump-maps', '--json')).out,
    ) as {
      maps: { name: string; entries: { key: string; value: string }[] }[];
    };
    const inRun = run.maps.find((m) => m.name === 'hash_map')!.entries.length;
    const dumped = JSON.parse(
      (await cli('map', 'dump', 'pinned', 'hash_map', ...fs, '--json')).out,
    ) as unknown[];
    assert.equal(dumped.length, inRun);
    assert.ok(inRun > 0);

    // maps.bpf.c (fixture): `sized` is LIBBPF_PIN_BY_NAME and use_maps adds 1 to its element 0.
    for (let i = 1; i <= 3; i++) {
      const u = await cli('run', BY_NAME, '--prog', 'use_maps', '--no-verify', ...fs, '--json');
      assert.equal(u.code, 0, u.err);
      const p = (JSON.parse(u.out) as { pins: { reused: string[] } }).pins;
      assert.equal(p.reused.length, i === 1 ? 0 : 1);
    }
    const sized = await cli('map', 'lookup', 'pinned', 'sized', 'key', '0', '0', '0', '0', ...fs, '--json');
    assert.equal((JSON.parse(sized.out) as { value: string[] }).value[0], '0x03');
    // A pin that does not match the definition is refused, as libbpf refuses to reuse it.
    const other = await cli('map', 'pin', MAPS, '--map', 'array_map', 'sized', ...fs);
    assert.equal(other.code, 0, other.err);
    const bad = await cli('run', BY_NAME, '--prog', 'use_maps', '--no-verify', ...fs);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /pinned map .*sized does not match map sized: value_size 8 vs 16/);
  } finally {
    s.remove();
  }
});

test('map create: an empty pinned map of the given shape; the kernel-like checks on its attributes', async () => {
  const s = scratch('tsbpf-create-');
  const fs = ['--bpffs', s.dir];
  try {
    const made = await cli(
      'map',
      'create',
      'counts',
      'type',
      'lru_hash',
      'key',
      '4',
      'value',
      '8',
      'entries',
      '2',
      ...fs,
      '--json',
    );
    assert.equal(made.code, 0, made.err);
    assert.deepEqual(JSON.parse(made.out), {
      pinned: s.path('counts'),
      type: 'lru_hash',
      key_size: 4,
      value_size: 8,
      max_entries: 2,
    });
    const put = (k: string) =>
      cli(
        'map',
        'update',
        'pinned',
        'counts',
        'key',
        k,
        '0',
        '0',
        '0',
        'value',
        '1',
        '0',
        '0',
        '0',
        '0',
        '0',
        '0',
        '0',
        ...fs,
      );
    for (const k of ['1', '2', '3']) assert.equal((await put(k)).code, 0);
    // an LRU map of 2 entries keeps the two most recent keys
    const dump = await cli('map', 'dump', 'pinned', 'counts', ...fs, '--json');
    assert.equal(dump.code, 0, dump.err);
    assert.equal((JSON.parse(dump.out) as unknown[]).length, 2);
    // zero-sized keys are refused as BPF_MAP_CREATE refuses them; unknown words are usage errors
    assert.equal(
      (await cli('map', 'create', 'bad', 'type', 'hash', 'key', '0', 'value', '8', 'entries', '1', ...fs))
        .code,
      2,
    );
    assert.equal(
      (await cli('map', 'create', 'bad', 'type', 'hash', 'key', '4', 'colour', 'red', ...fs)).code,
      2,
    );
    // a user's file is never overwritten
    writeFileSync(s.path('notes'), 'mine');
    assert.equal(
      (await cli('map', 'create', 'notes', 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', ...fs))
        .code,
      2,
    );
    assert.equal(readFileSync(s.path('notes'), 'utf8'), 'mine');
  } finally {
    s.remove();
  }
});
