// iter/tcp over host-provided sockets (struct sock_common laid out by BTF, the ctx's uid after
// it): hand-made sockets against output written here, /proc/net/tcp against the kernel's own
// iterator over the same sockets, and the verifier's ctx rules against the kernel's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { newCollection } from '../../src/runtime/index.ts';
import { type HostObject, iterate } from '../../src/runtime/iter/index.ts';
import { parseProcTcpLine } from '../../src/runtime/iter/proc-net.ts';
import { verify } from '../../src/verifier/index.ts';
import { closingMessage, logOf } from '../examples/reject-expected.ts';
import { prepareKobj, runKobj } from '../examples/kobj.ts';
import { cli, root } from '../cli/helpers.ts';
import { loadExampleProgram } from '../verifier/objects.ts';
import { runKiter } from './kiter.ts';

const OBJ = join(root, 'test/iter/fixtures/iter_tcp.bpf.o');
const RULES = join(root, 'test/iter/fixtures/iter_tcp_rules.bpf.o');

/** The u32 whose little-endian bytes are the dotted address (a __be32 as it sits in memory). */
const be32 = (dotted: string) => {
  const [a, b, c, d] = dotted.split('.').map(Number);
  return (a! | (b! << 8) | (c! << 16) | (d! << 24)) >>> 0;
};
const be16 = (port: number) => ((port & 0xff) << 8) | (port >> 8);

test('iter/tcp: host sockets as sock_common (anonymous unions) with the ctx uid', () => {
  const spec = loadCollectionSpec(readFileSync(OBJ), { file: 'iter_tcp.bpf.o' });
  const coll = newCollection(spec); // verified: the tcp ctx rules
  const socks: HostObject[] = [
    { skc_family: 2, skc_state: 10, skc_rcv_saddr: be32('127.0.0.1'), skc_num: 8080, uid: 1000 },
    { skc_family: 10, skc_state: 10, skc_num: 22 }, // IPv6: the program skips it
    {
      skc_family: 2,
      skc_state: 1,
      skc_rcv_saddr: be32('10.1.2.3'),
      skc_num: 8080,
      skc_daddr: be32('192.168.100.200'),
      skc_dport: be16(51234),
      uid: 4294967294, // nobody's uid on some systems: printed %u
    },
  ];
  const r = iterate(coll.program('list_tcp'), { objects: socks });
  assert.equal(
    r.text,
    '127.0.0.1:8080 0.0.0.0:0 st 0A uid 1000\n' +
      '10.1.2.3:8080 192.168.100.200:51234 st 01 uid 4294967294\n' +
      '-- 3 sockets --\n',
  );
  assert.throws(
    () => iterate(coll.program('list_tcp'), { objects: [{ skc_family: 2, uid: 'x' }] }),
    /uid must be an integer/,
  );
  coll.close();
});

test('parseProcTcpLine: addresses as printed native u32s, ports in host order', () => {
  const line =
    '   3: 0100007F:1F90 C864A8C0:C822 01 00000000:00000000 00:00000000 00000000  1000        0 4242 1';
  assert.deepEqual(parseProcTcpLine(line), {
    skc_family: 2,
    skc_state: 1,
    skc_rcv_saddr: be32('127.0.0.1'),
    skc_num: 8080,
    skc_daddr: be32('192.168.100.200'),
    skc_dport: be16(51234),
    uid: 1000,
  });
  assert.equal(parseProcTcpLine('  sl  local_address rem_address   st tx_queue'), null);
});

const listen = (): Promise<Server> =>
  new Promise((res) => {
    const s = createServer((c) => c.on('error', () => {}));
    s.listen(0, '127.0.0.1', () => res(s));
  });

test('kernel: its iter/tcp and tsbpf over /proc/net/tcp print the same sockets', async (t) => {
  const server = await listen();
  const port = (server.address() as { port: number }).port;
  const client: Socket = await new Promise((res) => {
    const c = connect(port, '127.0.0.1', () => res(c));
  });
  try {
    const k = runKiter(OBJ, 'list_tcp', '-', [], { readSize: 4096 });
    if (k.skip) return t.skip(k.skip);
    const r = await cli('iter', OBJ, '--sockets', 'host');
    assert.equal(r.code, 0, r.err);
    const ours = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.includes(`:${port} `))
        .sort();
    const kLines = ours(String.fromCharCode(...k.stdout));
    // our listener and both ends of our connection, uid = this process's
    const uid = process.getuid?.() ?? 0;
    assert.deepEqual(
      kLines,
      [
        `127.0.0.1:${client.localPort} 127.0.0.1:${port} st 01 uid ${uid}`,
        `127.0.0.1:${port} 0.0.0.0:0 st 0A uid ${uid}`,
        `127.0.0.1:${port} 127.0.0.1:${client.localPort} st 01 uid ${uid}`,
      ].sort(),
    );
    assert.deepEqual(ours(r.out), kLines);
  } finally {
    client.destroy();
    server.close();
  }
});

/** Program → the kernel's verdict: 'accept', or the first line of its refusal. */
const RULES_EXPECTED: Record<string, string> = {
  tcp_ok: 'accept',
  tcp_no_null_check: "R1 invalid mem access 'trusted_ptr_or_null_'",
  tcp_write_sock: 'only read is supported',
  tcp_write_uid: 'invalid bpf_context access off=16 size=4',
};

for (const [name, want] of Object.entries(RULES_EXPECTED))
  test(`verifier: iter/tcp ${name} ${want === 'accept' ? 'is accepted' : `is refused with "${want}"`}`, () => {
    const r = verify(loadExampleProgram(RULES, name).input, { logLevel: 1 });
    if (want === 'accept') assert.equal(r.verdict, 'accept', r.error?.message);
    else assert.equal(r.error?.message, want);
  });

test('kernel: the iter/tcp verdicts are what Linux says', { skip: prepareKobj() }, () => {
  for (const [name, want] of Object.entries(RULES_EXPECTED)) {
    const r = runKobj(['--prog', name, '--log', '1', RULES]);
    if (want === 'accept') assert.equal(r.programs[0]!.verdict, 'accept', name);
    else assert.equal(closingMessage(logOf(r.stdout))[0], want, name);
  }
});
