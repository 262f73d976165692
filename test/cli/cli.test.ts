// Every command through main() with a capturing Io: outputs, exit codes, one-line errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cli, root, scratch } from './helpers.ts';

const tmp = scratch('tsbpf-cli-');
after(tmp.remove);
const ex = (p: string): string => join(root, 'examples', p);

function write(name: string, text: string | Uint8Array): string {
  const p = tmp.path(name);
  writeFileSync(p, text);
  return p;
}

/** An error is exactly one line on stderr, names the command, and carries no stack trace. */
function assertOneLineError(err: string, ...mentions: string[]): void {
  const lines = err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr should be one line: ${err}`);
  assert.match(lines[0]!, /^tsbpf[: ]/);
  assert.doesNotMatch(err, /\n\s+at /);
  for (const m of mentions) assert.ok(err.includes(m), `stderr should mention ${m}: ${err}`);
}

test('help, version and unknown commands', async () => {
  const h = await cli('--help');
  assert.equal(h.code, 0);
  for (const c of ['asm', 'disasm', 'run', 'verify', 'obj show', 'obj link', 'btf dump'])
    assert.ok(h.out.includes(c));
  const none = await cli();
  assert.equal(none.code, 2);
  const v = await cli('--version');
  assert.equal(v.code, 0);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(v.out.trim(), `tsbpf ${pkg.version}`);
  const u = await cli('frobnicate');
  assert.equal(u.code, 2);
  assertOneLineError(u.err, 'frobnicate');
  const grp = await cli('obj', 'nope');
  assert.equal(grp.code, 2);
  assertOneLineError(grp.err, 'obj show');
  for (const c of [['asm'], ['run'], ['obj', 'show'], ['btf', 'dump']]) {
    const r = await cli(...c, '--help');
    assert.equal(r.code, 0);
    assert.ok(r.out.startsWith(`usage: tsbpf ${c.join(' ')}`), r.out);
  }
  const bad = await cli('run', '--bogus', 'x');
  assert.equal(bad.code, 2);
  assertOneLineError(bad.err, '--bogus');
});

test('asm writes FILE.bin beside the input with the RFC 9669 encoding', async () => {
  const s = write('three.s', 'r0 = 1\nr0 += 2\nexit\n');
  const r = await cli('asm', s);
  assert.equal(r.code, 0, r.err);
  const bin = tmp.path('three.bin');
  // mov64 imm = 0xb7, add64 imm = 0x07, exit = 0x95; imm is little-endian in bytes 4..7.
  const want = Buffer.from('b700000001000000' + '0700000002000000' + '9500000000000000', 'hex');
  assert.deepEqual(readFileSync(bin), want);
  // The default output is never replaced silently; --force or -o do it.
  writeFileSync(bin, 'mine');
  const again = await cli('asm', s);
  assert.equal(again.code, 2);
  assertOneLineError(again.err, 'three.bin', '--force');
  assert.equal(readFileSync(bin, 'utf8'), 'mine');
  assert.equal((await cli('asm', s, '--force')).code, 0);
  assert.deepEqual(readFileSync(bin), want);
  const j = await cli('asm', s, '-o', tmp.path('other.bin'), '--json');
  assert.deepEqual(JSON.parse(j.out), { output: tmp.path('other.bin'), insns: 3, bytes: 24 });
});

test('asm never overwrites its input and reports the failing line', async () => {
  const s = write('self.s', 'r0 = 0\nexit\n');
  const r = await cli('asm', s, '-o', join(tmp.dir, '.', 'self.s'));
  assert.equal(r.code, 2);
  assertOneLineError(r.err, 'input');
  assert.equal(readFileSync(s, 'utf8'), 'r0 = 0\nexit\n');
  const bad = write('bad.s', 'r0 = 1\nr11 = 2\nexit\n');
  const b = await cli('asm', bad);
  assert.equal(b.code, 2);
  assertOneLineError(b.err, 'bad.s', 'line 2', 'r11');
  assert.equal(existsSync(tmp.path('bad.bin')), false);
  const j = await cli('asm', bad, '--json');
  assert.equal(JSON.parse(j.out).error.code, 'ASM');
  const missing = await cli('asm', tmp.path('missing.s'));
  assert.equal(missing.code, 2);
  assertOneLineError(missing.err, 'missing.s');
});

test('disasm: raw bytecode in LLVM and kernel style', async () => {
  const bin = write(
    'd.bin',
    Buffer.from('b700000001000000' + '0500010000000000' + '0700000002000000' + '9500000000000000', 'hex'),
  );
  const r = await cli('disasm', bin);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^0: r0 = 1$/m);
  assert.match(r.out, /^1: goto L3$/m); // ja +1 from slot 1 lands on slot 3
  assert.match(r.out, /^L3:$/m);
  assert.match(r.out, /^3: exit$/m);
  const k = await cli('disasm', bin, '--kernel-style');
  assert.match(k.out, /^0: \(b7\) r0 = 1$/m);
  assert.match(k.out, /^1: \(05\) goto pc\+1$/m);
  const j = JSON.parse((await cli('disasm', bin, '--json')).out);
  assert.equal(j.programs[0].insns.length, 4);
  // A truncated program is bad input, located at its last slot.
  const t = write('t.bin', Buffer.from('b70000000100000095', 'hex'));
  const tr = await cli('disasm', t);
  assert.equal(tr.code, 2);
  assertOneLineError(tr.err, 't.bin', 'insn 1');
  const p = await cli('disasm', bin, '--prog', 'x');
  assert.equal(p.code, 2);
});

test('disasm: an object lists every program and .text function with its symbol', async () => {
  const o = ex('subprogs/subprogs.bpf.o');
  const r = await cli('disasm', o);
  assert.equal(r.code, 0, r.err);
  for (const name of ['subprogs_xdp', 'subprogs_syscall', 'store_result', 'mix', 'isqrt', 'fold'])
    assert.match(r.out, new RegExp(`^${name}:$`, 'm'));
  assert.match(r.out, /^; SEC\("xdp"\) subprogs_xdp:/m);
  assert.match(r.out, /^; SEC\("syscall"\) subprogs_syscall:/m);
  // Map references carry the relocation's map name.
  assert.match(r.out, /; map results$/m);
  const one = await cli('disasm', o, '--prog', 'subprogs_xdp', '--linked', '--json');
  const j = JSON.parse(one.out);
  assert.equal(j.programs.length, 1);
  // Linked: the subprograms it calls are appended under their own labels.
  assert.ok(j.programs[0].labels.includes('subprogs_xdp'));
  assert.ok(j.programs[0].labels.length > 1, JSON.stringify(j.programs[0].labels));
  const none = await cli('disasm', o, '--prog', 'nope');
  assert.equal(none.code, 2);
  assertOneLineError(none.err, 'nope', 'subprogs_xdp');
});

test('run: xdp reads and writes the packet; data_out shows the write', async () => {
  const s = write(
    'x.s',
    [
      'r2 = *(u32 *)(r1 + 0)', // xdp_md.data
      'r3 = *(u32 *)(r1 + 4)', // xdp_md.data_end
      'r4 = r2',
      'r4 += 2',
      'if r4 > r3 goto out',
      'r0 = *(u8 *)(r2 + 0)',
      'r5 = r0',
      'r5 += 1',
      '*(u8 *)(r2 + 1) = r5',
      'exit',
      'out:',
      'r0 = 0',
      'exit',
    ].join('\n'),
  );
  const pkt = new Uint8Array(20);
  pkt[0] = 7;
  const d = write('pkt', pkt);
  const r = await cli('run', '--type', 'xdp', '--data', d, s, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.retval, 7);
  const want = pkt.slice();
  want[1] = 8;
  assert.equal(j.data_out, Buffer.from(want).toString('hex'));
  // The run's mean time, and outside it the compilation and context setup (integer ns).
  for (const k of ['duration_ns', 'compile_ns', 'setup_ns'])
    assert.ok(Number.isInteger(j[k]) && j[k] >= 0, `${k}: ${j[k]}`);
  // The JIT engine gives the same answer.
  const jit = JSON.parse(
    (await cli('run', '--engine', 'jit', '--type', 'xdp', '--data', d, s, '--json')).out,
  );
  assert.deepEqual([jit.retval, jit.data_out], [j.retval, j.data_out]);
  // Default data: 64 zero bytes, as kbpf; the program returns byte 0 and writes 1 at byte 1.
  const z = JSON.parse((await cli('run', '--type', 'xdp', s, '--json', '--repeat', '3')).out);
  assert.equal(z.retval, 0);
  assert.equal(z.data_out, `00${'01'}${'00'.repeat(62)}`);
});

test('run: socket_filter ld_abs sees the packet after the Ethernet header', async () => {
  const s = write('ld.s', 'r6 = r1\nr0 = *(u8 *)skb[1]\nexit\n');
  const pkt = new Uint8Array(64);
  pkt[12] = 0x86; // not IPv4: no L3 header length requirement
  pkt[13] = 0xdd + 0; // IPv6 would need 40 bytes; 64 are given
  pkt[15] = 0x5a;
  const r = await cli('run', '--data', write('p6', pkt), s);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^retval: 90$/m);
  // data_out: the Ethernet header comes back zeroed.
  const want = pkt.slice();
  want.fill(0, 0, 14);
  assert.match(r.out, new RegExp(`^data_out: ${Buffer.from(want).toString('hex')}$`, 'm'));
});

test('run: --map and lddw src=2 imm=i, with --dump-maps', async () => {
  const s = write('m.s', 'r1 = map_value(1, 4) ll\nr2 = 42\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit\n');
  const r = await cli('run', '--map', 'array:4:4:2', '--map', 'array:4:8:1', '--dump-maps', s);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^map1\[0\]: 000000002a000000$/m);
  assert.match(r.out, /^map0\[1\]: 00000000$/m);
  const j = JSON.parse(
    (await cli('run', '--map', 'array:4:4:2', '--map', 'array:4:8:1', '--dump-maps', '--json', s)).out,
  );
  assert.deepEqual(j.maps[1].entries, [{ key: '0', value: '000000002a000000' }]);
  for (const bad of ['array:4:4', 'nosuch:4:4:1', 'array:4:x:1', 'array:4:4:99999999999']) {
    const b = await cli('run', '--map', bad, s);
    assert.equal(b.code, 2, bad);
    assertOneLineError(b.err, '--map');
  }
  // Only one map given: imm=1 names a map that does not exist (kbpf refuses it before loading).
  const few = await cli('run', '--map', 'array:4:8:1', s);
  assert.equal(few.code, 2);
  assertOneLineError(few.err, 'insn 0', 'map 1');
});

test('run: faults, budgets and engines', async () => {
  // Both are refused by the verifier; --no-verify lets the VM meet them.
  const fs = write('f.s', 'r1 = 0\nr0 = *(u64 *)(r1 + 0)\nexit\n');
  assert.equal((await cli('run', fs)).code, 1);
  const f = await cli('run', fs, '--no-verify');
  assert.equal(f.code, 1);
  assertOneLineError(f.err, 'insn 1', 'NULL');
  const l = await cli('run', '--no-verify', '--max-insns', '1000', write('loop.s', 'l:\ngoto l\n'));
  assert.equal(l.code, 1);
  assertOneLineError(l.err, 'budget');
  const s = write('ok.s', 'r0 = 5\nexit\n');
  const jit = await cli('run', '--engine', 'jit', s);
  assert.equal(jit.code, 0, jit.err);
  assert.match(jit.out, /^retval: 5$/m);
  assert.equal((await cli('run', '--engine', 'interp', s)).code, 0);
  const wasm = await cli('run', '--engine', 'wasm', s);
  assert.equal(wasm.code, 2);
  assertOneLineError(wasm.err, 'interp or jit');
  // A fault inside JIT-compiled code is reported like the interpreter's.
  const jf = await cli('run', '--engine', 'jit', fs, '--no-verify');
  assert.equal(jf.code, 1);
  assertOneLineError(jf.err, 'insn 1');
  const kp = await cli('run', '--type', 'kprobe', s);
  assert.equal(kp.code, 2);
  const sys = JSON.parse((await cli('run', '--type', 'syscall', s, '--json')).out);
  assert.equal(sys.retval, 5);
  assert.equal(sys.data_out, '');
  const noverify = JSON.parse((await cli('run', '--no-verify', s, '--json')).out);
  assert.equal(noverify.verified, false);
  assert.equal(sys.verified, true);
});

test('run: the verifier refuses what the kernel would, unless --no-verify', async () => {
  // r5 is never written: the kernel says "R5 !read_ok".
  const s = write('uninit.s', 'r0 = r5\nexit\n');
  const r = await cli('run', s);
  assert.equal(r.code, 1);
  assertOneLineError(r.err, 'uninit.s', 'insn 0', 'R5 !read_ok');
  const j = JSON.parse((await cli('run', s, '--json')).out);
  assert.equal(j.error.code, 'VERIFY');
  assert.ok(
    j.error.log.some((l: string) => l.includes('R5 !read_ok')),
    JSON.stringify(j.error.log),
  );
  const forced = await cli('run', s, '--no-verify');
  assert.equal(forced.code, 0, forced.err);
  assert.match(forced.out, /^retval: 0$/m);
});

test('run: --map creates other map types through the maps module', async () => {
  // key = 7 on the stack; update(map, &key, &key, BPF_ANY); lookup it back and return *value.
  const s = write(
    'hash.s',
    [
      'r1 = 7',
      '*(u32 *)(r10 - 4) = r1',
      'r1 = map_fd(0) ll',
      'r2 = r10',
      'r2 += -4',
      'r3 = r10',
      'r3 += -4',
      'r4 = 0',
      'call 2',
      'r1 = map_fd(0) ll',
      'r2 = r10',
      'r2 += -4',
      'call 1',
      'if r0 == 0 goto miss',
      'r0 = *(u32 *)(r0 + 0)',
      'exit',
      'miss:',
      'r0 = 99',
      'exit',
    ].join('\n'),
  );
  const r = await cli('run', '--map', 'hash:4:4:8', '--dump-maps', s);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^retval: 7$/m);
  assert.match(r.out, /^map0\[07000000\]: 07000000$/m);
  const bad = await cli('run', '--map', 'hash:0:4:8', s);
  assert.equal(bad.code, 2);
  assertOneLineError(bad.err, 'map 0');
});

test('run: syscall programs read and write their ctx; ctx_out shows it', async () => {
  const s = write('sys.s', 'r2 = *(u32 *)(r1 + 4)\nr2 += 5\n*(u32 *)(r1 + 0) = r2\nr0 = r2\nexit\n');
  const ctx = write('ctx8', Buffer.from('0000000010000000', 'hex'));
  const j = JSON.parse((await cli('run', '--type', 'syscall', '--ctx', ctx, s, '--json')).out);
  assert.equal(j.retval, 0x15); // 0x10 + 5
  assert.equal(j.ctx_out, '1500000010000000');
  assert.equal(j.data_out, '');
  // The kernel refuses repeat for syscall programs.
  const rep = await cli('run', '--type', 'syscall', '--ctx', ctx, '--repeat', '2', s);
  assert.equal(rep.code, 2);
  assertOneLineError(rep.err, 'repeat');
});

test('verify: verdict, log and exit code; processed count as the kernel counts', async () => {
  const bad = write('v.s', 'r0 = r5\nexit\n');
  const r = await cli('verify', bad);
  assert.equal(r.code, 1);
  assert.match(r.out, /^verdict: reject$/m);
  assert.match(r.out, /^R5 !read_ok$/m);
  assertOneLineError(r.err, 'v.s', 'insn 0', 'R5 !read_ok');
  const o = ex('xdp-parse/xdp_parse.bpf.o');
  const j = JSON.parse((await cli('verify', o, '--json')).out);
  assert.equal(j.verdict, 'accept');
  // The kernel's own count for the same linked program (kbpf --log 1), when bpf() works here.
  const bin = tmp.path('vp.bin');
  const link = await cli('obj', 'link', o, '-o', bin);
  const kbpf = join(root, 'node_modules/.cache/kbpf');
  const k = existsSync(kbpf)
    ? spawnSync(kbpf, ['--type', 'xdp', '--log', '1', ...link.out.trim().split(/\s+/), bin], {
        encoding: 'utf8',
      })
    : undefined;
  const m = k ? /^insns_processed: (\d+)$/m.exec(k.stdout) : null;
  if (m) assert.equal(j.insns_processed, Number(m[1]));
  const none = await cli('verify', o, '--log', '3');
  assert.equal(none.code, 2);
});

/** Ethernet + IPv4 + UDP to `port` (checksums are not looked at by the filter). */
function udpPacket(port: number): Uint8Array {
  const p = new Uint8Array(14 + 20 + 8 + 4);
  p.set([0x08, 0x00], 12);
  p.set([0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17], 14); // version 4, ihl 5, ..., protocol 17 (UDP)
  p.set([0x30, 0x39, port >> 8, port & 0xff, 0, 12], 34); // source 12345, dest port, length 12
  return p;
}

test('run: an object program, picked with --prog, with its const volatile data', async () => {
  const o = ex('socket-filter/socket_filter.bpf.o');
  const many = await cli('run', o);
  assert.equal(many.code, 2);
  assertOneLineError(many.err, '--prog', 'udp_port_filter', 'udp_port_legacy');
  for (const prog of ['udp_port_filter', 'udp_port_legacy']) {
    // udp_port = 53 and keep_bytes = 0xffff in .rodata (see socket_filter.bpf.c).
    const dns = JSON.parse(
      (await cli('run', o, '--prog', prog, '--data', write('dns', udpPacket(53)), '--json')).out,
    );
    assert.equal(dns.retval, 0xffff, prog);
    assert.equal(dns.type, 'socket_filter');
    const other = JSON.parse(
      (await cli('run', o, '--prog', prog, '--data', write('o', udpPacket(54)), '--json')).out,
    );
    assert.equal(other.retval, 0, prog);
  }
  const m = await cli('run', o, '--prog', 'udp_port_legacy', '--map', 'array:4:4:1');
  assert.equal(m.code, 2);
});

test('obj show: programs, maps and global variables', async () => {
  const o = ex('globals/globals.bpf.o');
  const j = JSON.parse((await cli('obj', 'show', o, '--json')).out);
  assert.deepEqual(
    j.programs.map((p: { name: string; section: string; type: string }) => [p.name, p.section, p.type]),
    [['globals_xdp', 'xdp', 'xdp']],
  );
  const src = readFileSync(ex('globals/globals.bpf.c'), 'utf8');
  // Every variable the listing names is declared in the source, and the object's data maps hold them.
  for (const v of j.variables as { name: string; section: string; size: number }[]) {
    assert.ok(new RegExp(`\\b${v.name}\\b`).test(src), v.name);
    assert.ok(v.size > 0);
  }
  const runs = j.variables.find((v: { name: string }) => v.name === 'runs');
  assert.equal(runs.section, '.bss');
  const bss = j.maps.find((m: { origin: string }) => m.origin === 'bss');
  assert.equal(bss.type, 'array');
  assert.equal(bss.max_entries, 1);
  const text = await cli('obj', 'show', ex('l4lb/l4lb.bpf.o'));
  assert.equal(text.code, 0);
  assert.match(text.out, /^\s+conntrack\s+lru_hash\s+16\s+24\s+65536\s/m);
  const notObj = await cli('obj', 'show', write('n.bin', new Uint8Array(16)));
  assert.equal(notObj.code, 2);
  assertOneLineError(notObj.err, 'n.bin');
});

test('obj link: the linked .bin with the printed --map specs runs like the object', async () => {
  const o = ex('xdp-parse/xdp_parse.bpf.o');
  const out = tmp.path('parse.bin');
  const r = await cli('obj', 'link', o, '--prog', 'xdp_parse', '-o', out);
  assert.equal(r.code, 0, r.err);
  const specs = r.out.trim().split('\n');
  for (const s of specs) assert.match(s, /^--map \w+:\d+:\d+:\d+$/);
  assert.equal(readFileSync(out).length % 8, 0);
  const pkt = write('ipv4', udpPacket(53));
  const viaObj = JSON.parse((await cli('run', o, '--data', pkt, '--json', '--dump-maps')).out);
  const args = specs.flatMap((s) => s.split(' '));
  const viaBin = JSON.parse(
    (await cli('run', '--type', 'xdp', ...args, '--data', pkt, '--json', '--dump-maps', out)).out,
  );
  assert.equal(viaBin.retval, viaObj.retval);
  assert.equal(viaBin.data_out, viaObj.data_out);
  assert.deepEqual(
    viaBin.maps.map((m: { entries: unknown[] }) => m.entries),
    viaObj.maps.map((m: { entries: unknown[] }) => m.entries),
  );
  const j = JSON.parse((await cli('obj', 'link', o, '-o', out, '--json')).out);
  assert.equal(j.insns * 8, readFileSync(out).length);
  assert.equal(j.maps.length, specs.length);
  const self = await cli('obj', 'link', o, '-o', o);
  assert.equal(self.code, 2);
  assertOneLineError(self.err, 'input');
});

test('btf dump: C and JSON', async () => {
  const o = ex('globals/globals.bpf.o');
  const c = await cli('btf', 'dump', o);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^struct xdp_md \{$/m);
  const j = JSON.parse((await cli('btf', 'dump', o, '--json')).out);
  assert.ok(j.types.some((t: { kind?: string; name?: string }) => t.name === 'xdp_md'));
  const raw = await cli('btf', 'dump', write('r.bin', new Uint8Array(8)));
  assert.equal(raw.code, 2);
});

test('bin/tsbpf.js as a child process: exit codes and a one-line stderr', () => {
  const bin = join(root, 'bin/tsbpf.js');
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: tsbpf/);
  const bad = spawnSync(process.execPath, [bin, 'asm', tmp.path('nope.s')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assertOneLineError(bad.stderr, 'nope.s');
  // '-' reads the program from standard input.
  const piped = spawnSync(process.execPath, [bin, 'disasm', '-', '--kernel-style'], {
    input: Buffer.from('b7000000070000009500000000000000', 'hex'),
    encoding: 'utf8',
  });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stdout, '0: (b7) r0 = 7\n1: (95) exit\n');
  const s = write('c.s', 'r0 = 1\nr0 = *(u32 *)(r0 + 0)\nexit\n');
  const fault = spawnSync(process.execPath, [bin, 'run', s], { encoding: 'utf8' });
  assert.equal(fault.status, 1);
  assertOneLineError(fault.stderr, 'insn 1');
});
