// The dynptr helpers' return codes and memory effects, run by the live kernel (BPF_PROG_TEST_RUN
// through kbpf) and by tsbpf's interpreter and JIT: one XDP program stores every helper's result
// in an array map value, whose bytes must be the kernel's.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assembleAuto } from '../../src/isa/index.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { sharedJitEngine } from '../../src/jit/index.ts';
import { createMap } from '../../src/maps/index.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { verify } from '../../src/verifier/index.ts';
import { ArrayMap, Vm } from '../../src/vm/index.ts';
import { prepareKbpf, runKbpfSync, TempDir } from '../oracles.ts';

/** res[k] = r0, the k-th u64 of the result value (r9 holds the value pointer). */
const store = (k: number): string => `*(u64 *)(r9 + ${8 * k}) = r0`;
/** r0 = r0 != 0 (slice addresses differ between kernels; only whether one came back matters). */
const isSet = 'if r0 == 0 goto +1\nr0 = 1';
const dp = (off: number, reg = 'r1'): string => `${reg} = r10\n${reg} += ${off}`;

// value: results at [0, 128), the local dynptr's memory at [128, 192)
const SOURCE = `
r1 = 0
*(u32 *)(r10 - 4) = r1
r1 = 0x1122334455667788 ll
*(u64 *)(r10 - 40) = r1
r1 = map_fd(0) ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +LAST
r9 = r0
r1 = r9
r1 += 128
r2 = 64
r3 = 0
${dp(-16, 'r4')}
call 197
${store(0)}
${dp(-16)}
r2 = 60
${dp(-40, 'r3')}
r4 = 8
r5 = 0
call 202
${store(1)}
${dp(-16)}
r2 = 56
${dp(-40, 'r3')}
r4 = 8
r5 = 0
call 202
${store(2)}
${dp(-16)}
r2 = 0
${dp(-40, 'r3')}
r4 = 4
r5 = 1
call 202
${store(3)}
${dp(-48)}
r2 = 8
${dp(-16, 'r3')}
r4 = 57
r5 = 0
call 201
${store(4)}
${dp(-48)}
r2 = 8
${dp(-16, 'r3')}
r4 = 56
r5 = 0
call 201
r0 = *(u64 *)(r10 - 48)
${store(5)}
r1 = r9
r1 += 128
r2 = 8
r3 = 1
${dp(-32, 'r4')}
call 197
${store(6)}
${dp(-48)}
r2 = 8
${dp(-32, 'r3')}
r4 = 0
r5 = 0
call 201
${store(7)}
${dp(-16)}
r2 = 60
r3 = 8
call 203
${isSet}
${store(8)}
${dp(-16)}
r2 = 56
r3 = 8
call 203
${isSet}
${store(9)}
r1 = map_fd(1) ll
r2 = 16
r3 = 0
${dp(-64, 'r4')}
call 198
${store(10)}
${dp(-64)}
r2 = 8
r3 = 8
call 203
${isSet}
${store(11)}
${dp(-64)}
r2 = 0
call 200
r1 = map_fd(1) ll
r2 = 0x1000000
r3 = 0
${dp(-80, 'r4')}
call 198
${store(12)}
${dp(-80)}
r2 = 0
call 200
r1 = map_fd(1) ll
r2 = 8
r3 = 1
${dp(-80, 'r4')}
call 198
${store(13)}
${dp(-80)}
r2 = 0
call 200
r1 = map_fd(1) ll
r2 = 8192
r3 = 0
${dp(-80, 'r4')}
call 198
${store(14)}
${dp(-80)}
r2 = 0
call 199
r0 = 2
exit
`;

function program() {
  // the null check jumps to the final `r0 = 2`
  const lines = SOURCE.trim().split('\n');
  const probe = assembleAuto(lines.join('\n').replace('+LAST', '+0'), 'dynptr-run.s');
  const nullCheck = probe.findIndex((i) => i.code === 0x15 && i.dst === 0);
  return assembleAuto(
    lines.join('\n').replace('+LAST', `+${probe.length - 2 - nullCheck - 1}`),
    'dynptr-run.s',
  );
}

const tool = prepareKbpf();
const dir = new TempDir('tsbpf-dynptr-');
after(() => dir.close());

const VALUE = 192;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function kernelRun(): { retval?: number; value?: string; raw: string } {
  const insns = program();
  const r = runKbpfSync(tool.path, [
    '--type',
    'xdp',
    '--run',
    '--map',
    `array:4:${VALUE}:1`,
    '--map',
    'ringbuf:0:0:4096',
    '--dump-maps',
    dir.file('p.bin', encodeProgram(insns)),
  ]);
  return { retval: r.retval, value: r.maps.get('map0[0]'), raw: r.raw };
}

function ourRun(engine: 'interp' | 'jit'): { retval: number; value: string } {
  const vm = new Vm(engine === 'jit' ? { seed: 1, engine: sharedJitEngine().run } : { seed: 1 });
  const rb = createMap(vm.arena, { type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 });
  const r = testRun(program(), {
    type: 'xdp',
    data: new Uint8Array(64),
    vm,
    maps: [new ArrayMap(vm.arena, { type: 'array', valueSize: VALUE, maxEntries: 1 }), rb],
  });
  const m = r.maps[0];
  assert.ok(m instanceof ArrayMap);
  return { retval: r.retval, value: hex(m.get(0)) };
}

test('the dynptr program passes tsbpf verifier', () => {
  const r = verify({
    insns: program(),
    progType: 'xdp',
    maps: [
      { type: 'array', keySize: 4, valueSize: VALUE, maxEntries: 1 },
      { type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 },
    ],
  });
  assert.equal(r.verdict, 'accept', r.error?.message);
});

test('dynptr helper results: known values', () => {
  const u64 = (hexValue: string, k: number): bigint => Buffer.from(hexValue, 'hex').readBigInt64LE(8 * k);
  for (const engine of ['interp', 'jit'] as const) {
    const { value } = ourRun(engine);
    // from_mem 0; write past the end -E2BIG; write at the end 0; flags -EINVAL
    assert.deepEqual(
      [0, 1, 2, 3].map((k) => u64(value, k)),
      [0n, -7n, 0n, -22n],
      engine,
    );
    // read past the end -E2BIG; read back what was written
    assert.equal(u64(value, 4), -7n);
    assert.equal(u64(value, 5), 0x1122334455667788n);
    // from_mem with flags fails and leaves a null dynptr, which read refuses
    assert.deepEqual([u64(value, 6), u64(value, 7)], [-22n, -22n]);
    // a slice past the end is NULL, one inside is not
    assert.deepEqual([u64(value, 8), u64(value, 9)], [0n, 1n]);
    // ring buffer: reserve 0 and a slice; too big for a dynptr -E2BIG; flags -EINVAL; too big
    // for the ring -EINVAL
    assert.deepEqual(
      [10, 11, 12, 13, 14].map((k) => u64(value, k)),
      [0n, 1n, -7n, -22n, -22n],
      engine,
    );
  }
});

test('dynptr helpers against the kernel', { skip: tool.skip ?? false }, () => {
  const k = kernelRun();
  assert.equal(k.retval, 2, k.raw);
  for (const engine of ['interp', 'jit'] as const) {
    const ours = ourRun(engine);
    assert.equal(ours.retval, k.retval, engine);
    assert.equal(ours.value, k.value, `${engine}: map value differs from the kernel's\n${k.raw}`);
  }
});
