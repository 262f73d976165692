// The compute loops bench/interp.ts and bench/jit.ts time: eBPF assembly plus an independent
// JS model of the r0 each must return, so a fast but wrong engine fails the bench.
export interface LoopCase {
  name: string;
  asm: string;
  /** Expected r0 (computed by an independent JS model), to keep the bench honest. */
  expect: () => bigint;
}

export function xorshift(scale: number): LoopCase {
  const N1 = Math.round(2_000_000 * scale);
  return {
    name: 'xorshift64 (alu64)',
    asm: `
    lddw %r1, 0x123456789abcdef
    mov %r0, 0
    mov %r2, ${N1}
  loop:
    mov %r3, %r1
    lsh %r3, 13
    xor %r1, %r3
    mov %r3, %r1
    rsh %r3, 7
    xor %r1, %r3
    mov %r3, %r1
    lsh %r3, 17
    xor %r1, %r3
    add %r0, %r1
    sub %r2, 1
    jne %r2, 0, loop
    exit`,
    expect: () => {
      const M = (1n << 64n) - 1n;
      let x = 0x123456789abcdefn;
      let acc = 0n;
      for (let i = 0; i < N1; i++) {
        x ^= (x << 13n) & M;
        x ^= x >> 7n;
        x ^= (x << 17n) & M;
        acc = (acc + x) & M;
      }
      return acc;
    },
  };
}

export function memsum(scale: number): LoopCase {
  const N2 = Math.round(60_000 * scale);
  return {
    name: 'stack byte sum (ldx/stx)',
    asm: `
    mov %r1, %r10
    sub %r1, 256
    mov %r2, 0
  fill:
    stxb [%r1], %r2
    add %r1, 1
    add %r2, 1
    jne %r1, %r10, fill
    mov %r0, 0
    mov %r4, ${N2}
  outer:
    mov %r1, %r10
    sub %r1, 256
  inner:
    ldxb %r3, [%r1]
    add %r0, %r3
    ldxw %r3, [%r1]
    xor %r0, %r3
    add %r1, 4
    jne %r1, %r10, inner
    sub %r4, 1
    jne %r4, 0, outer
    exit`,
    expect: () => {
      const M = (1n << 64n) - 1n;
      let acc = 0n;
      for (let k = 0; k < N2; k++)
        for (let i = 0; i < 256; i += 4) {
          acc = (acc + BigInt(i)) & M;
          const w = BigInt(i | ((i + 1) << 8) | ((i + 2) << 16) | ((i + 3) << 24)) & 0xffffffffn;
          acc ^= w;
        }
      return acc;
    },
  };
}

export function sort(scale: number): LoopCase {
  const N3 = Math.round(1200 * scale);
  return {
    name: 'bubble sort 64 u32 (branchy)',
    asm: `
    mov %r0, 0
    mov %r9, ${N3}
  round:
    mov %r1, %r10
    sub %r1, 256
    mov %r2, %r9
  fill:
    mul32 %r2, 1103515245
    add32 %r2, 12345
    stxw [%r1], %r2
    add %r1, 4
    jne %r1, %r10, fill
    mov %r5, 63
  pass:
    mov %r1, %r10
    sub %r1, 256
    mov %r6, %r5
  step:
    ldxw %r3, [%r1]
    ldxw %r4, [%r1+4]
    jle %r3, %r4, noswap
    stxw [%r1], %r4
    stxw [%r1+4], %r3
  noswap:
    add %r1, 4
    sub %r6, 1
    jne %r6, 0, step
    sub %r5, 1
    jne %r5, 0, pass
    ldxw %r3, [%r10-256]
    add %r0, %r3
    ldxw %r3, [%r10-4]
    add %r0, %r3
    sub %r9, 1
    jne %r9, 0, round
    exit`,
    expect: () => {
      let acc = 0n;
      for (let k = N3; k > 0; k--) {
        const a: number[] = [];
        let r = k;
        for (let i = 0; i < 64; i++) {
          r = (Math.imul(r, 1103515245) + 12345) >>> 0;
          a.push(r);
        }
        a.sort((x, y) => x - y);
        acc += BigInt(a[0]!) + BigInt(a[63]!);
      }
      return acc;
    },
  };
}

/** xorshift, memsum and sort: the loops both benches run, `scale` 1 for full size. */
export const computeLoops = (scale: number): LoopCase[] => [xorshift(scale), memsum(scale), sort(scale)];

/** CPU time of this process (user + system) in ms: steadier than wall time on a shared machine. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
