// kptrs and task kfuncs at run time: programs of test/verifier/kptr/kptr.bpf.o run by tsbpf's
// interpreter and JIT against the runtime's one task (the host facts below), with results read
// off the C source, and single runs compared with the kernel's BPF_PROG_TEST_RUN (kobj --run:
// retval and the map as bpf() shows it, kptrs hidden).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCollectionSpec } from '../../src/elf/index.ts';
import type { ArrayMap } from '../../src/maps/array.ts';
import { type Collection, type Engine, newCollection } from '../../src/runtime/index.ts';
import { prepareKobj, runKobj } from '../examples/kobj.ts';

const object = 'test/verifier/kptr/kptr.bpf.o';
const spec = loadCollectionSpec(readFileSync(object), { file: object });
const HOST = { pid: 4242, tgid: 4242, comm: 'kptr-test' };
const XDP_ABORTED = 0;
const XDP_DROP = 1;
const XDP_PASS = 2;
const XDP_TX = 3;
const ENGINES: readonly Engine[] = ['interp', 'jit'];
const KEY = new Uint8Array(4);

function collection(engine: Engine, programs: string[]): Collection {
  return newCollection(spec, { engine, programs, host: HOST });
}

const run = (coll: Collection, prog: string): number =>
  coll.program(prog).run({ data: new Uint8Array(64) }).retval;

/** The value's 8-byte kptr at offset 0 as the arena holds it (not as bpf() shows it). */
function storedTask(coll: Collection): number {
  const m = coll.map('kptrs') as ArrayMap;
  return coll.vm.arena.dv.getUint32(m.elemAddr(0), true);
}

/** Programs that run alone, on a fresh map: what the C source returns. */
const SINGLE: Record<string, number> = {
  kf_acquire_release_ok: XDP_PASS, // the acquired task's tgid is the caller's
  kf_from_pid_ok: XDP_PASS,
  kf_from_pid_missing: XDP_PASS, // pid -5: NULL
  kptr_xchg_ok: XDP_PASS, // the kptr was NULL
  kptr_xchg_null_ok: XDP_DROP, // nothing to take out
  kptr_load_rcu_ok: XDP_DROP,
  kptr_untrusted_load_ok: XDP_DROP,
  kptr_store_untrusted_ok: XDP_PASS,
  kptr_cnt_ok: XDP_PASS,
};

for (const engine of ENGINES) {
  for (const [prog, want] of Object.entries(SINGLE)) {
    test(`${engine}: ${prog} returns ${want}`, () => {
      const coll = collection(engine, [prog]);
      try {
        assert.equal(run(coll, prog), want);
        assert.equal(coll.taskRefs.held, prog === 'kptr_xchg_ok' ? 1 : 0, 'references held after the run');
      } finally {
        coll.close();
      }
    });
  }

  test(`${engine}: a task moves into the map, is read there, swapped and taken out`, () => {
    const progs = ['kptr_xchg_ok', 'kptr_load_rcu_ok', 'kptr_load_acquire_ok', 'kptr_xchg_null_ok'];
    const coll = collection(engine, progs);
    try {
      assert.equal(run(coll, 'kptr_xchg_ok'), XDP_PASS);
      const task = storedTask(coll);
      assert.notEqual(task, 0);
      // bpf() shows the kptr as zeros (check_and_init_map_value())
      assert.deepEqual(coll.map('kptrs').lookup(KEY), new Uint8Array(24));
      assert.equal(run(coll, 'kptr_load_rcu_ok'), XDP_PASS, 'the stored task has the caller pid');
      assert.equal(run(coll, 'kptr_load_acquire_ok'), XDP_PASS);
      // the second exchange gets the first task back and releases it
      assert.equal(run(coll, 'kptr_xchg_ok'), XDP_DROP);
      assert.equal(storedTask(coll), task);
      assert.equal(coll.taskRefs.held, 1);
      assert.equal(run(coll, 'kptr_xchg_null_ok'), XDP_PASS);
      assert.equal(storedTask(coll), 0);
      assert.equal(coll.taskRefs.held, 0);
      assert.equal(run(coll, 'kptr_xchg_null_ok'), XDP_DROP);
      assert.notEqual(XDP_TX, XDP_ABORTED);
    } finally {
      coll.close();
    }
  });

  test(`${engine}: an update from user space clears the kptr (bpf_obj_free_fields())`, () => {
    const coll = collection(engine, ['kptr_xchg_ok', 'kptr_load_rcu_ok']);
    try {
      assert.equal(run(coll, 'kptr_xchg_ok'), XDP_PASS);
      const value = new Uint8Array(24).fill(0xff);
      coll.map('kptrs').update(KEY, value);
      assert.equal(storedTask(coll), 0);
      assert.equal(run(coll, 'kptr_load_rcu_ok'), XDP_DROP);
      // cnt (offset 16) was written; the kptrs (0 and 8) read as zeros
      assert.deepEqual(coll.map('kptrs').lookup(KEY), new Uint8Array(24).fill(0xff, 16));
    } finally {
      coll.close();
    }
  });
}

const skip = prepareKobj();
test('kernel: BPF_PROG_TEST_RUN gives the same retval and map contents', { skip }, () => {
  for (const prog of Object.keys(SINGLE)) {
    const k = runKobj(['--run', prog, '--dump-maps', object]);
    assert.equal(k.runError, undefined, prog);
    assert.equal(k.retval, SINGLE[prog], prog);
    const coll = collection('interp', [prog]);
    try {
      run(coll, prog);
      const ours = Buffer.from(coll.map('kptrs').lookup(KEY) as Uint8Array).toString('hex');
      assert.deepEqual(k.mapValues.get('kptrs')?.get('00000000'), [ours], prog);
    } finally {
      coll.close();
    }
  }
});

// objects of the program's own type (obj_new.bpf.o): allocated zeroed, written, stashed, dropped
const objObject = 'test/verifier/kptr/obj_new.bpf.o';
const objSpec = loadCollectionSpec(readFileSync(objObject), { file: objObject });
const OBJ_SINGLE: Record<string, number> = {
  obj_new_ok: XDP_PASS,
  obj_new_zeroed: XDP_PASS,
  obj_kptr_xchg_ok: XDP_PASS, // the kptr was NULL
  obj_kptr_take_ok: XDP_DROP, // nothing to take out
  obj_kptr_load: XDP_DROP,
};
const objCollection = (engine: Engine, programs: string[]): Collection =>
  newCollection(objSpec, { engine, programs, host: HOST });

for (const engine of ENGINES) {
  for (const [prog, want] of Object.entries(OBJ_SINGLE)) {
    test(`${engine}: ${prog} returns ${want}`, () => {
      const coll = objCollection(engine, [prog]);
      try {
        assert.equal(run(coll, prog), want);
        assert.equal(coll.objects.size, prog === 'obj_kptr_xchg_ok' ? 1 : 0, 'objects alive after the run');
      } finally {
        coll.close();
      }
    });
  }

  test(`${engine}: an object is stashed in the map, read and written there, and taken out`, () => {
    const progs = ['obj_kptr_xchg_ok', 'obj_kptr_load', 'obj_kptr_load_write', 'obj_kptr_take_ok'];
    const coll = objCollection(engine, progs);
    try {
      assert.equal(run(coll, 'obj_kptr_xchg_ok'), XDP_PASS);
      assert.equal(coll.objects.size, 1);
      assert.equal(run(coll, 'obj_kptr_load'), XDP_PASS, 'a == 7');
      assert.equal(run(coll, 'obj_kptr_load_write'), XDP_PASS);
      assert.equal(run(coll, 'obj_kptr_load'), XDP_TX, 'a == 8 now');
      // a second object replaces the first, which the program drops
      assert.equal(run(coll, 'obj_kptr_xchg_ok'), XDP_DROP);
      assert.equal(coll.objects.size, 1);
      assert.equal(run(coll, 'obj_kptr_take_ok'), XDP_PASS, 'the new object has a == 7');
      assert.equal(coll.objects.size, 0);
    } finally {
      coll.close();
    }
  });
}

test('kernel: obj_new.bpf.o single runs give the same retval and map contents', { skip }, () => {
  for (const prog of Object.keys(OBJ_SINGLE)) {
    const k = runKobj(['--run', prog, '--dump-maps', objObject]);
    assert.equal(k.runError, undefined, prog);
    assert.equal(k.retval, OBJ_SINGLE[prog], prog);
    const coll = objCollection('interp', [prog]);
    try {
      run(coll, prog);
      const ours = Buffer.from(coll.map('holders').lookup(KEY) as Uint8Array).toString('hex');
      assert.deepEqual(k.mapValues.get('holders')?.get('00000000'), [ours], prog);
    } finally {
      coll.close();
    }
  }
});
