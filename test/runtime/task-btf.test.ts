// bpf_get_current_task_btf() at run time (test/runtime/task-btf/task_btf.bpf.o): the task_struct
// it points at carries the same pid, tgid and comm as bpf_get_current_pid_tgid() and
// bpf_get_current_comm() report, on the interpreter and the JIT, laid out by the CO-RE target
// (vmlinux) or, without one, by the object's own BTF.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Btf } from '../../src/btf/btf.ts';
import { parseBtf } from '../../src/btf/unmarshal.ts';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import { type Engine, newCollection } from '../../src/runtime/collection.ts';
import type { HostInfo } from '../../src/runtime/helpers/index.ts';
import { prepareKobj, repoRoot, runKobj } from '../examples/kobj.ts';

const object = join(repoRoot, 'test/runtime/task-btf/task_btf.bpf.o');
const VMLINUX = '/sys/kernel/btf/vmlinux';

interface Seen {
  btfPid: number;
  btfTgid: number;
  helperPid: number;
  helperTgid: number;
  btfComm: string;
  helperComm: string;
}

function run(engine: Engine, host: HostInfo, coreTarget?: Btf): Seen {
  const spec = loadCollectionSpec(readFileSync(object), { file: object });
  const c = newCollection(spec, { engine, host, ...(coreTarget ? { coreTarget } : {}) });
  try {
    const r = c.program('task_fields').run({ ctx: new Uint8Array(8) });
    assert.equal(r.retval, 1);
    const bss = c.map('task_btf.bss').lookup(new Uint8Array(4));
    assert.ok(bss instanceof Uint8Array);
    const dv = new DataView(bss.buffer, bss.byteOffset);
    const str = (off: number) => new TextDecoder().decode(bss.subarray(off, off + 16)).replace(/\0.*$/s, '');
    return {
      btfPid: dv.getUint32(0, true),
      btfTgid: dv.getUint32(4, true),
      helperPid: dv.getUint32(8, true),
      helperTgid: dv.getUint32(12, true),
      btfComm: str(16),
      helperComm: str(32),
    };
  } finally {
    c.close();
  }
}

let vmlinux: Btf | undefined;
const host: HostInfo = { pid: 4242, tgid: 4240, comm: 'tsbpf-worker-th' };
const layouts: [string, () => Btf | undefined, string | undefined][] = [
  ["the object's own BTF", () => undefined, undefined],
  [
    'vmlinux (CO-RE)',
    () => (vmlinux ??= parseBtf(readFileSync(VMLINUX), { file: VMLINUX })),
    existsSync(VMLINUX) ? undefined : `${VMLINUX} is missing`,
  ],
];

for (const [layout, btf, skip] of layouts) {
  for (const engine of ['interp', 'jit'] as const) {
    test(`${engine}, task_struct laid out by ${layout}: task->pid/tgid/comm equal the pid_tgid and comm helpers`, {
      skip,
    }, () => {
      const s = run(engine, host, btf());
      assert.deepEqual(
        { pid: s.btfPid, tgid: s.btfTgid, comm: s.btfComm },
        { pid: s.helperPid, tgid: s.helperTgid, comm: s.helperComm },
      );
      // and both are the host's facts, not zeros that merely agree
      assert.deepEqual(
        { pid: s.btfPid, tgid: s.btfTgid, comm: s.btfComm },
        { pid: 4242, tgid: 4240, comm: 'tsbpf-worker-th' },
      );
    });
  }
}

test('a comm longer than TASK_COMM_LEN - 1 is cut the same way through the task and the helper', () => {
  const s = run('interp', { pid: 7, comm: 'a-very-long-process-name' });
  assert.equal(s.btfComm, 'a-very-long-pro');
  assert.equal(s.helperComm, s.btfComm);
  // no tgid given: the helper and the task both fall back to pid
  assert.equal(s.btfTgid, 7);
  assert.equal(s.helperTgid, 7);
});

test('host facts changed between runs are seen by the next run', () => {
  const h: { pid: number; comm: string } = { pid: 1, comm: 'one' };
  const spec = loadCollectionSpec(readFileSync(object), { file: object });
  const c = newCollection(spec, { host: h });
  try {
    const read = () => {
      c.program('task_fields').run({ ctx: new Uint8Array(8) });
      const bss = c.map('task_btf.bss').lookup(new Uint8Array(4)) as Uint8Array;
      return new DataView(bss.buffer, bss.byteOffset).getUint32(0, true);
    };
    assert.equal(read(), 1);
    h.pid = 2;
    assert.equal(read(), 2);
  } finally {
    c.close();
  }
});

test('kernel: the program these runs use is one Linux accepts', { skip: prepareKobj() }, () => {
  const p = runKobj(['--prog', 'task_fields', object]).programs[0];
  assert.equal(p?.verdict, 'accept', p?.errno);
});
