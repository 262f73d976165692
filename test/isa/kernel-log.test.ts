// formatKernelInsn against the running kernel's own verifier log (kernel/bpf/disasm.c),
// through the shared kbpf oracle. Skipped when not root, without gcc, or when bpf() is refused.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assemble } from '../../src/isa/asm/llvm.ts';
import { formatKernelInsn } from '../../src/isa/disasm-kernel.ts';
import { encodeProgram } from '../../src/isa/encode.ts';
import { OP_LDDW } from '../../src/isa/opcode.ts';
import { buildKbpf } from './kbpf.ts';

const kbpf = buildKbpf();
after(() => kbpf?.close());

/** Every `idx: (code) text` the kernel printed, from both the liveness listing and the state walk. */
function kernelLines(bytes: Uint8Array): Map<number, Set<string>> | undefined {
  const r = kbpf!.load(bytes, 2);
  if (!r.accepted) return undefined;
  const out = new Map<number, Set<string>>();
  for (const line of r.log.split('\n')) {
    const m = /^\s*(\d+): (?:[.\d]{10} )?(\([0-9a-f]{2}\) .*?)(?:\s+; .*)?$/.exec(line);
    if (!m) continue;
    const idx = Number(m[1]);
    if (!out.has(idx)) out.set(idx, new Set());
    out.get(idx)!.add(m[2]!);
  }
  return out;
}

const PROGRAMS: Record<string, string> = {
  alu_mem_atomic_jmp: `
    r6 = r1
    r0 = 0
    r7 = 0
    *(u64 *)(r10 - 8) = r0
    *(u32 *)(r10 - 16) = 5
    *(u32 *)(r10 - 12) = -7
    r1 = *(u64 *)(r10 - 8)
    r2 = *(s32 *)(r10 - 16)
    r2 = *(s16 *)(r10 - 16)
    w3 = 7
    w3 += 1
    r3 s/= 3
    w3 s%= -2
    r3 = (s8)r3
    w3 = (s16)w3
    r3 = (s32)r3
    r3 = bswap16 r3
    r3 = be32 r3
    r3 = le64 r3
    r3 = -r3
    w3 = -w3
    r3 <<= 2
    r3 s>>= r7
    w3 ^= w7
    r4 = 0x123456789 ll
    r4 = -1 ll
    lock *(u64 *)(r10 - 8) += r1
    lock *(u32 *)(r10 - 16) |= w1
    r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)
    w1 = atomic_fetch_xor((u32 *)(r10 - 16), w1)
    r0 = cmpxchg_64(r10 - 8, r0, r1)
    w0 = cmpxchg32_32(r10 - 16, w0, w1)
    r1 = xchg_64(r10 - 8, r1)
    w1 = xchg32_32(r10 - 16, w1)
    if r1 > 10 goto +0
    if w1 s< w2 goto +0
    if r1 & 0x80000000 goto +0
    if r3 != -1 goto +0
    if w3 <= w2 goto +0
    goto +0
    gotol +0
    call bpf_ktime_get_ns
    r0 = *(u8 *)skb[0]
    r0 = *(u16 *)skb[r7 + 2]
    r1 = 3
    call sub
    r0 = 0
    exit
  sub:
    r0 = r1
    exit`,
  may_goto_acquire_release: `
    r0 = 0
    *(u64 *)(r10 - 8) = r0
    may_goto +1
    r0 = 1
    r1 = load_acquire((u64 *)(r10 - 8))
    w1 = load_acquire((u8 *)(r10 - 8))
    store_release((u32 *)(r10 - 8), w1)
    store_release((u64 *)(r10 - 8), r1)
    r0 = 0
    exit`,
};

for (const [name, src] of Object.entries(PROGRAMS)) {
  test(`kernel log text: ${name}`, { skip: kbpf ? false : 'needs root, gcc and the kbpf oracle' }, (t) => {
    const insns = assemble(src);
    const lines = kernelLines(encodeProgram(insns));
    if (!lines) {
      t.skip('the kernel did not accept the program (bpf() unavailable or older kernel)');
      return;
    }
    let checked = 0;
    for (let idx = 0; idx < insns.length; idx++) {
      const seen = lines.get(idx);
      assert.ok(seen, `kernel printed insn ${idx}`);
      for (const text of seen) assert.equal(formatKernelInsn(insns, idx), text, `insn ${idx}`);
      checked++;
      if (insns[idx]!.code === OP_LDDW) idx++;
    }
    assert.ok(checked >= 10);
  });
}
