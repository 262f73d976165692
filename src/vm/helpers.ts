// Helper functions callable with `call imm`: id → {name, proto, impl}.
// `proto` mirrors the kernel's struct bpf_func_proto so the verifier can check call sites;
// `impl` runs inside the VM and sees arguments as the low 32 bits (pointers and sizes fit),
// with the full 64-bit values available from the context.
import { UsageError } from '../errors.ts';
import type { Arena } from './arena.ts';
import { bprintf, MAX_BPRINTF_BUF } from './bprintf.ts';

// kernel: enum bpf_return_type
export type RetType =
  | 'RET_INTEGER'
  | 'RET_VOID'
  | 'RET_PTR_TO_MAP_VALUE'
  | 'RET_PTR_TO_MAP_VALUE_OR_NULL'
  | 'RET_PTR_TO_SOCKET_OR_NULL'
  | 'RET_PTR_TO_TCP_SOCK_OR_NULL'
  | 'RET_PTR_TO_SOCK_COMMON_OR_NULL'
  | 'RET_PTR_TO_MEM_OR_NULL'
  | 'RET_PTR_TO_MEM_OR_BTF_ID'
  | 'RET_PTR_TO_BTF_ID'
  | 'RET_PTR_TO_BTF_ID_OR_NULL'
  | 'RET_PTR_TO_DYNPTR_MEM_OR_NULL';

// kernel: enum bpf_arg_type (base types; modifiers go in ArgSpec.flags)
export type ArgType =
  | 'ARG_DONTCARE'
  | 'ARG_CONST_MAP_PTR'
  | 'ARG_PTR_TO_MAP_KEY'
  | 'ARG_PTR_TO_MAP_VALUE'
  | 'ARG_PTR_TO_MEM'
  | 'ARG_PTR_TO_ARENA'
  | 'ARG_CONST_SIZE'
  | 'ARG_CONST_SIZE_OR_ZERO'
  | 'ARG_PTR_TO_CTX'
  | 'ARG_ANYTHING'
  | 'ARG_PTR_TO_SPIN_LOCK'
  | 'ARG_PTR_TO_SOCK_COMMON'
  | 'ARG_PTR_TO_SOCKET'
  | 'ARG_PTR_TO_BTF_ID'
  | 'ARG_PTR_TO_RINGBUF_MEM'
  | 'ARG_CONST_ALLOC_SIZE_OR_ZERO'
  | 'ARG_PTR_TO_BTF_ID_SOCK_COMMON'
  | 'ARG_PTR_TO_PERCPU_BTF_ID'
  | 'ARG_PTR_TO_FUNC'
  | 'ARG_PTR_TO_STACK'
  | 'ARG_PTR_TO_CONST_STR'
  | 'ARG_PTR_TO_TIMER'
  | 'ARG_PTR_TO_KPTR'
  | 'ARG_PTR_TO_DYNPTR'
  | 'ARG_PTR_TO_LONG'
  | 'ARG_PTR_TO_INT';

// kernel: enum bpf_type_flag (the ones helper protos use)
export type TypeFlag =
  | 'PTR_MAYBE_NULL'
  | 'MEM_RDONLY'
  | 'MEM_UNINIT'
  | 'MEM_WRITE'
  | 'MEM_FIXED_SIZE'
  | 'MEM_ALLOC'
  | 'MEM_RINGBUF'
  | 'OBJ_RELEASE'
  | 'DYNPTR_TYPE_LOCAL'
  | 'DYNPTR_TYPE_RINGBUF'
  | 'DYNPTR_TYPE_SKB'
  | 'DYNPTR_TYPE_XDP';

export interface ArgSpec {
  type: ArgType;
  flags?: readonly TypeFlag[];
  /** With MEM_FIXED_SIZE: the access size in bytes (kernel: arg_size[]). */
  size?: number;
}

// kernel: struct bpf_func_proto
export interface FuncProto {
  ret: RetType;
  retFlags?: readonly TypeFlag[];
  /** r1..r5 in order; shorter lists mean the rest are ARG_DONTCARE. */
  args: readonly ArgSpec[];
  gplOnly?: boolean;
  pktAccess?: boolean;
  /** The helper may move packet data, so packet pointers die (kernel: bpf_helper_changes_pkt_data()). */
  changesPktData?: boolean;
  mightSleep?: boolean;
}

/** What a helper implementation can reach while it runs. */
export interface HelperCtx {
  readonly arena: Arena;
  /** Argument n (1..5) as its two 32-bit halves. */
  argLo(n: number): number;
  argHi(n: number): number;
  /** Argument n as an unsigned 64-bit BigInt (slow; for u64 flags and values). */
  arg64(n: number): bigint;
  /** Next value of the VM's seeded PRNG (u32). */
  prandomU32(): number;
  /** Monotonic clock in nanoseconds. */
  nowNs(): number;
  /** Processor id the program pretends to run on. */
  readonly cpu: number;
  /** Where bpf_trace_printk output goes. */
  printk(line: string): void;
  /** Stops the program with a RuntimeFault (helper misuse in checked mode). */
  fault(kind: string, message: string): never;
}

/** Arguments are the low 32 bits of r1..r5, unsigned. Return a number (safe integer) or a BigInt. */
export type HelperImpl = (
  ctx: HelperCtx,
  r1: number,
  r2: number,
  r3: number,
  r4: number,
  r5: number,
) => number | bigint;

export interface Helper {
  id: number;
  name: string;
  proto: FuncProto;
  impl: HelperImpl;
}

// kernel: enum bpf_func_id (the ids used here)
export const BPF_FUNC_map_lookup_elem = 1;
export const BPF_FUNC_map_update_elem = 2;
export const BPF_FUNC_map_delete_elem = 3;
export const BPF_FUNC_ktime_get_ns = 5;
export const BPF_FUNC_trace_printk = 6;
export const BPF_FUNC_get_prandom_u32 = 7;
export const BPF_FUNC_get_smp_processor_id = 8;
export const BPF_FUNC_ktime_get_boot_ns = 125;
export const BPF_FUNC_ktime_get_coarse_ns = 160;

const EINVAL = 22;

/** A mutable id → helper table. Start from baseHelpers() and register more (maps, skb, ...). */
export class HelperTable {
  private readonly byId = new Map<number, Helper>();

  register(h: Helper): this {
    if (!Number.isInteger(h.id) || h.id <= 0) throw new UsageError(`helper ${h.name}: bad id ${h.id}`);
    if (h.proto.args.length > 5) throw new UsageError(`helper ${h.name}: more than 5 arguments`);
    this.byId.set(h.id, h);
    return this;
  }

  get(id: number): Helper | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  ids(): number[] {
    return [...this.byId.keys()].sort((a, b) => a - b);
  }

  /** A copy, so a caller can add helpers without touching a shared table. */
  clone(): HelperTable {
    const t = new HelperTable();
    for (const h of this.byId.values()) t.register(h);
    return t;
  }
}

const retInt = (args: readonly ArgSpec[] = []): FuncProto => ({ ret: 'RET_INTEGER', args });

// kernel: bpf_ktime_get_ns_proto and friends. All clocks read the VM's one clock: tests get
// determinism by passing a fake clock to the VM.
const ktimeGetNs: HelperImpl = (ctx) => ctx.nowNs();

/** The helpers every program type gets (kernel: bpf_base_func_proto(), minus maps). */
export function baseHelpers(): HelperTable {
  const t = new HelperTable();
  t.register({ id: BPF_FUNC_ktime_get_ns, name: 'bpf_ktime_get_ns', proto: retInt(), impl: ktimeGetNs });
  t.register({
    id: BPF_FUNC_ktime_get_boot_ns,
    name: 'bpf_ktime_get_boot_ns',
    proto: retInt(),
    impl: ktimeGetNs,
  });
  t.register({
    id: BPF_FUNC_ktime_get_coarse_ns,
    name: 'bpf_ktime_get_coarse_ns',
    proto: retInt(),
    impl: ktimeGetNs,
  });
  t.register({
    id: BPF_FUNC_get_prandom_u32,
    name: 'bpf_get_prandom_u32',
    proto: retInt(),
    impl: (ctx) => ctx.prandomU32(),
  });
  t.register({
    id: BPF_FUNC_get_smp_processor_id,
    name: 'bpf_get_smp_processor_id',
    proto: retInt(),
    impl: (ctx) => ctx.cpu,
  });
  t.register({
    id: BPF_FUNC_trace_printk,
    name: 'bpf_trace_printk',
    // kernel: bpf_trace_printk_proto — r3..r5 are ARG_DONTCARE (read only as the format asks).
    proto: {
      ...retInt([{ type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] }, { type: 'ARG_CONST_SIZE' }]),
      gplOnly: true,
    },
    impl: (ctx, fmtAddr, fmtSize) => {
      if (fmtSize === 0 || !ctx.arena.check(fmtAddr, fmtSize, false)) return -EINVAL;
      const bytes = ctx.arena.u8.subarray(fmtAddr, fmtAddr + fmtSize);
      // kernel: bpf_bprintf_prepare() with MAX_TRACE_PRINTK_VARARGS (3), then bstr_printf()
      const out = bprintf(bytes, [ctx.arg64(3), ctx.arg64(4), ctx.arg64(5)], ctx.arena);
      if (typeof out === 'number') return out;
      const line = String.fromCharCode(...out);
      ctx.printk(line.slice(0, MAX_BPRINTF_BUF - 1));
      return line.length;
    },
  });
  return t;
}
