// Public API of the verifier's numeric domain: pure maths on 32-bit halves, no eBPF meaning.
export * as alu from './alu.ts';
export * as branch from './branch.ts';
export * as coerce from './coerce.ts';
export * as print from './print.ts';
export * as scalar from './scalar.ts';
export * as tnum from './tnum.ts';
export * as u64 from './u64.ts';
export type { Scalar } from './scalar.ts';
export type { Tnum } from './tnum.ts';
export type { U64 } from './u64.ts';
