// The feature table's shape and the per-release answers of kernelProfile(), on hand-made
// instructions whose encodings come from the kernel's uapi (include/uapi/linux/bpf.h).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAP_TYPES } from '../../src/elf/map-types.ts';
import { PROG_TYPES } from '../../src/elf/sections.ts';
import type { Insn } from '../../src/isa/insn.ts';
import { HELPER_NAMES } from '../../src/isa/helper-names.ts';
import {
  CAPABILITIES,
  compareVersions,
  firstBackEdge,
  HELPERS,
  helperForProgType,
  KERNEL_VERSIONS,
  kernelProfile,
  MAP_FLAGS_SINCE,
  MAP_TYPES_SINCE,
  PROG_TYPES_SINCE,
  SK_BUFF_FIELDS,
  XDP_MD_FIELDS,
} from '../../src/kernels/index.ts';

const insn = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

test('every helper id, program type and map type the project knows has a release and a source', () => {
  for (let id = 1; id < HELPER_NAMES.length; id++) {
    const h = HELPERS.get(id);
    assert.ok(h, `helper ${id} ${HELPER_NAMES[id]}`);
    assert.equal(h.name, HELPER_NAMES[id]);
    assert.ok(h.source.length > 10);
  }
  for (const t of PROG_TYPES.slice(1)) assert.ok(PROG_TYPES_SINCE[t], `program type ${t}`);
  for (const t of MAP_TYPES.slice(1)) assert.ok(MAP_TYPES_SINCE[t], `map type ${t}`);
});

test('each source names a commit or document, or says it is unverified', () => {
  const all = [
    ...HELPERS.values(),
    ...Object.values(PROG_TYPES_SINCE),
    ...Object.values(MAP_TYPES_SINCE),
    ...MAP_FLAGS_SINCE,
    ...Object.values(CAPABILITIES),
    ...SK_BUFF_FIELDS,
    ...XDP_MD_FIELDS,
  ];
  for (const f of all) {
    assert.match(f.since, /^\d+\.\d+$/);
    assert.ok(/[0-9a-f]{12}/.test(f.source) || /unverified|uapi|bcc|cilium\/ebpf/.test(f.source), f.source);
  }
});

test('helper ids are handed out in order of introduction: releases never go back as ids grow', () => {
  // An independent check of the dates: the kernel appends each new helper to the end of
  // enum bpf_func_id, so a helper with a higher id cannot be older than one with a lower id.
  let newest = '3.15';
  for (const [id, h] of [...HELPERS].sort((a, b) => a[0] - b[0])) {
    assert.ok(compareVersions(h.since, newest) >= 0, `helper ${id} ${h.name} ${h.since} after ${newest}`);
    newest = h.since;
  }
  assert.equal(HELPERS.get(181)?.name, 'bpf_loop');
  assert.equal(HELPERS.get(126)?.since, '5.8', 'bpf_seq_printf came with BPF iterators (5.8)');
});

test('context fields are ordered, disjoint, and only ever appended', () => {
  for (const fields of [SK_BUFF_FIELDS, XDP_MD_FIELDS]) {
    for (let i = 1; i < fields.length; i++)
      assert.ok(fields[i]!.off >= fields[i - 1]!.off + fields[i - 1]!.size);
  }
  // uapi sizes (offsetof on linux/bpf.h): xdp_md is 24 bytes, __sk_buff 192.
  const last = (f: readonly { off: number; size: number }[]) => f[f.length - 1]!.off + f[f.length - 1]!.size;
  assert.equal(last(XDP_MD_FIELDS), 24);
  assert.equal(last(SK_BUFF_FIELDS), 192);
});

test('limits: 4096 insns and 131072 processed before 5.2, one million from 5.2 (commit c04c0d2b968a)', () => {
  assert.equal(kernelProfile('4.19').maxInsns, 4096);
  assert.equal(kernelProfile('4.19').maxProcessedInsns, 131072);
  assert.equal(kernelProfile('5.1').maxInsns, 4096);
  assert.equal(kernelProfile('5.2').maxInsns, 1_000_000);
  assert.equal(kernelProfile('5.2').maxProcessedInsns, 1_000_000);
  assert.equal(kernelProfile('6.18').maxProcessedInsns, 1_000_000);
  assert.equal(kernelProfile('6.18').maxInsnsUnprivileged, 4096);
});

test('capability switches flip at their release', () => {
  assert.equal(kernelProfile('5.2').boundedLoops, false);
  assert.equal(kernelProfile('5.3').boundedLoops, true);
  assert.equal(kernelProfile('4.15').bpfToBpfCalls, false);
  assert.equal(kernelProfile('4.16').bpfToBpfCalls, true);
  assert.equal(kernelProfile('5.4').tailCallsInSubprogs, false);
  assert.equal(kernelProfile('5.10').tailCallsInSubprogs, true);
  assert.equal(kernelProfile('5.5').globalFunctions, false);
  assert.equal(kernelProfile('5.6').globalFunctions, true);
  assert.throws(() => kernelProfile('six'), RangeError);
  assert.equal(kernelProfile('6.18.44-fc-v595').version, '6.18', 'uname -r of the test machine');
  assert.equal(kernelProfile('5.2.0').maxInsns, 1_000_000);
});

test('helpers: bpf_loop (181) from 5.17, bpf_timer_init (169) from 5.15, ringbuf_output (130) from 5.8', () => {
  assert.equal(kernelProfile('5.16').helperAvailable(181, 'xdp'), false);
  assert.equal(kernelProfile('5.16').helperMissing(181)?.since, '5.17');
  assert.equal(kernelProfile('5.17').helperAvailable(181, 'xdp'), true);
  assert.equal(kernelProfile('5.14').helperAvailable(169), false);
  assert.equal(kernelProfile('5.15').helperAvailable(169), true);
  assert.equal(kernelProfile('5.7').helperAvailable(130), false);
  assert.equal(kernelProfile('5.8').helperAvailable(130), true);
  assert.equal(kernelProfile('6.18').helperAvailable(100_000), false, 'unknown ids are never available');
});

test('map types and flags', () => {
  const p = kernelProfile('5.4');
  assert.equal(p.mapTypeAvailable('hash'), true);
  assert.equal(p.mapTypeMissing('ringbuf')?.since, '5.8');
  assert.equal(kernelProfile('5.15').mapTypeAvailable('bloom_filter'), false);
  assert.equal(kernelProfile('5.16').mapTypeAvailable('bloom_filter'), true);
  assert.equal(p.mapFlagsMissing(1 << 10)?.name, 'BPF_F_MMAPABLE');
  assert.equal(kernelProfile('5.5').mapFlagsMissing(1 << 10), null);
  assert.equal(kernelProfile('6.18').mapFlagsMissing(1 << 30)?.since, '99.0');
});

test('instructions: cpu v4 from 6.6, jmp32 from 5.1, may_goto from 6.9, atomics with fetch from 5.12', () => {
  const sdiv = insn(0x3f, 1, 2, 1); // ALU64 | DIV | X with off=1
  const udiv = insn(0x3f, 1, 2, 0);
  const movsx = insn(0xbf, 1, 2, 8); // ALU64 | MOV | X with off=8
  const ldsx = insn(0x91, 1, 2, 0); // LDX | MEMSX | B
  const bswap = insn(0xd7, 1, 0, 0, 16); // ALU64 | END
  const gotol = insn(0x06, 0, 0, 0, 5); // JMP32 | JA
  const jeq32 = insn(0x16, 1, 0, 2, 0); // JMP32 | JEQ | K
  const mayGoto = insn(0xe5, 0, 0, 3, 0);
  const fetchAdd = insn(0xdb, 1, 2, 0, 0x01); // STX | ATOMIC | DW, BPF_ADD | BPF_FETCH
  const xadd = insn(0xdb, 1, 2, 0, 0x00);
  for (const i of [sdiv, movsx, ldsx, bswap, gotol]) {
    assert.equal(kernelProfile('6.5').insnAvailable(i), false, `0x${i.code.toString(16)}`);
    assert.equal(kernelProfile('6.6').insnAvailable(i), true);
  }
  assert.equal(kernelProfile('4.19').insnAvailable(udiv), true);
  assert.equal(kernelProfile('5.0').insnMissing(jeq32)?.feature, 'jmp32');
  assert.equal(kernelProfile('5.1').insnAvailable(jeq32), true);
  assert.equal(kernelProfile('6.8').insnMissing(mayGoto)?.feature, 'may_goto');
  assert.equal(kernelProfile('6.9').insnAvailable(mayGoto), true);
  assert.equal(kernelProfile('5.11').insnAvailable(fetchAdd), false);
  assert.equal(kernelProfile('5.12').insnAvailable(fetchAdd), true);
  assert.equal(kernelProfile('4.19').insnAvailable(xadd), true);
});

test('context fields: xdp_md.egress_ifindex from 5.8, __sk_buff.tstamp from 5.0', () => {
  assert.equal(kernelProfile('5.7').ctxFieldMissing('xdp', 20, 4)?.name, 'egress_ifindex');
  assert.equal(kernelProfile('5.8').ctxFieldAvailable('xdp', 20, 4), true);
  assert.equal(kernelProfile('4.19').ctxFieldAvailable('xdp', 0, 4), true);
  assert.equal(kernelProfile('4.19').ctxFieldMissing('sched_cls', 152, 8)?.name, 'tstamp');
  assert.equal(kernelProfile('5.0').ctxFieldAvailable('sched_cls', 152, 8), true);
  assert.equal(
    kernelProfile('4.19').ctxFieldAvailable('kprobe', 152, 8),
    true,
    'untracked context: no answer',
  );
});

test('firstBackEdge finds a loop and ignores forward-only control flow', () => {
  const exit = insn(0x95);
  const movImm = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
  // r0 = 0; r1 = 10; loop: r0 += 1; if r0 < r1 goto loop; exit
  const loop = [movImm(0, 0), movImm(1, 10), insn(0x07, 0, 0, 0, 1), insn(0xad, 0, 1, -2), exit];
  assert.deepEqual(firstBackEdge(loop), { from: 3, to: 2 });
  // if r1 == 0 goto +1; r0 = 1; exit — a diamond, no cycle
  const diamond = [insn(0x15, 1, 0, 1, 0), movImm(0, 1), exit];
  assert.equal(firstBackEdge(diamond), null);
  // A jump out of range is the verifier's business, not a loop.
  assert.equal(firstBackEdge([insn(0x05, 0, 0, 100), exit]), null);
});

test('the profiled releases are in ascending order', () => {
  for (let i = 1; i < KERNEL_VERSIONS.length; i++) {
    assert.ok(compareVersions(KERNEL_VERSIONS[i]!, KERNEL_VERSIONS[i - 1]!) > 0);
  }
});

test('helpers per program type (ebpf-docs lists): XDP got bpf_get_current_pid_tgid only in 6.10', () => {
  // ids: 14 get_current_pid_tgid, 44 xdp_adjust_head, 9 skb_store_bytes (kernel enum bpf_func_id).
  assert.equal(helperForProgType(14, 'xdp').since, '6.10');
  assert.equal(kernelProfile('6.6').helperAvailable(14, 'xdp'), false);
  assert.equal(kernelProfile('6.12').helperAvailable(14, 'xdp'), true);
  assert.equal(kernelProfile('4.19').helperAvailable(14, 'kprobe'), true, 'tracing programs had it from 4.2');
  assert.equal(kernelProfile('6.18').helperAvailable(44, 'sched_cls'), false, 'XDP-only helper');
  assert.equal(kernelProfile('6.18').helperAvailable(44, 'xdp'), true);
  assert.equal(kernelProfile('6.18').helperAvailable(9, 'xdp'), false, 'skb-only helper');
  assert.equal(kernelProfile('6.18').helperAvailable(9, 'sched_cls'), true);
  // Without a program type, or for types that inherit their target's helpers, only the release counts.
  assert.equal(kernelProfile('6.18').helperAvailable(44), true);
  assert.equal(kernelProfile('6.18').helperAvailable(44, 'ext'), true);
});
