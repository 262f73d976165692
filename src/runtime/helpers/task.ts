// "Current task" helpers answered from host-supplied facts, and probe_read helpers reading
// host-provided memory (or the arena, which stands for kernel memory a program can name).
// kernel: kernel/bpf/helpers.c (bpf_get_current_pid_tgid, _uid_gid, _comm),
// kernel/trace/bpf_trace.c (bpf_probe_read_kernel/_user(_str))
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import { EFAULT, ERANGE, type RuntimeEnv } from './env.ts';

export const BPF_FUNC_probe_read = 4;
export const BPF_FUNC_get_current_pid_tgid = 14;
export const BPF_FUNC_get_current_uid_gid = 15;
export const BPF_FUNC_get_current_comm = 16;
export const BPF_FUNC_get_current_task = 35;
export const BPF_FUNC_probe_read_str = 45;
export const BPF_FUNC_probe_read_user = 112;
export const BPF_FUNC_probe_read_kernel = 113;
export const BPF_FUNC_probe_read_user_str = 114;
export const BPF_FUNC_probe_read_kernel_str = 115;

/** x86-64: TASK_SIZE_MAX + PAGE_SIZE, the end of the user address range. */
const USER_TOP = 0x00007ffffffff000n + 4096n;
/** kernel: TASK_COMM_LEN */
const TASK_COMM_LEN = 16;

const uninitMem = { type: 'ARG_PTR_TO_MEM', flags: ['MEM_UNINIT', 'MEM_WRITE'] } as const;
const sizeOrZero = { type: 'ARG_CONST_SIZE_OR_ZERO' } as const;
export const taskProtos = {
  noArgs: { ret: 'RET_INTEGER', args: [] },
  comm: { ret: 'RET_INTEGER', args: [uninitMem, { type: 'ARG_CONST_SIZE' }] },
  probeRead: { ret: 'RET_INTEGER', gplOnly: true, args: [uninitMem, sizeOrZero, { type: 'ARG_ANYTHING' }] },
} as const satisfies Record<string, FuncProto>;

type Space = 'kernel' | 'user' | 'any';

export function registerTaskHelpers(t: HelperTable, env: RuntimeEnv): void {
  const h = env.host;
  t.register({
    id: BPF_FUNC_get_current_pid_tgid,
    name: 'bpf_get_current_pid_tgid',
    proto: taskProtos.noArgs,
    impl: () => (BigInt((h.tgid ?? h.pid ?? 0) >>> 0) << 32n) | BigInt((h.pid ?? 0) >>> 0),
  });
  t.register({
    id: BPF_FUNC_get_current_uid_gid,
    name: 'bpf_get_current_uid_gid',
    proto: taskProtos.noArgs,
    impl: () => (BigInt((h.gid ?? 0) >>> 0) << 32n) | BigInt((h.uid ?? 0) >>> 0),
  });
  t.register({
    id: BPF_FUNC_get_current_task,
    name: 'bpf_get_current_task',
    proto: taskProtos.noArgs,
    impl: () => BigInt.asUintN(64, h.currentTask ?? 0n),
  });
  // kernel: strscpy_pad(buf, task->comm, size)
  t.register({
    id: BPF_FUNC_get_current_comm,
    name: 'bpf_get_current_comm',
    proto: taskProtos.comm,
    impl: (ctx, buf, size) => {
      if (!ctx.arena.check(buf, size, true))
        return ctx.fault('helper', 'bpf_get_current_comm: buffer not writable');
      const comm = new TextEncoder().encode(h.comm ?? '').subarray(0, TASK_COMM_LEN - 1);
      const out = new Uint8Array(size);
      out.set(comm.subarray(0, Math.max(0, size - 1)));
      ctx.arena.write(buf, out);
      return 0;
    },
  });

  /** Bytes [addr, addr+len) of host memory in `space`, or undefined when unmapped. */
  const source = (ctx: HelperCtx, space: Space, addr: bigint, len: number): Uint8Array | undefined => {
    if (space !== 'user' && addr + BigInt(len) <= 0x80000000n) {
      const a = Number(addr);
      if (ctx.arena.check(a, len, false)) return ctx.arena.u8.subarray(a, a + len);
    }
    for (const m of h.memory ?? []) {
      if (space !== 'any' && m.space !== space) continue;
      const off = addr - m.addr;
      if (off >= 0n && off + BigInt(len) <= BigInt(m.bytes.length))
        return m.bytes.subarray(Number(off), Number(off) + len);
    }
    return undefined;
  };
  const dstOk = (ctx: HelperCtx, dst: number, size: number) => {
    if (size > 0 && !ctx.arena.check(dst, size, true))
      ctx.fault('helper', `probe_read: destination 0x${dst.toString(16)} not writable`);
  };

  // kernel: copy_from_kernel_nofault() refuses user-range addresses with -ERANGE (x86:
  // below TASK_SIZE_MAX + PAGE_SIZE); tsbpf's own arena stands for kernel memory.
  const failure = (space: Space, addr: bigint) => (space === 'kernel' && addr < USER_TOP ? -ERANGE : -EFAULT);

  // kernel: bpf_probe_read_kernel_common() — on a fault the destination is zeroed.
  const read = (space: Space) => (ctx: HelperCtx, dst: number, size: number) => {
    dstOk(ctx, dst, size);
    const addr = ctx.arg64(3);
    const src = source(ctx, space, addr, size);
    if (!src) {
      ctx.arena.u8.fill(0, dst, dst + size);
      return failure(space, addr);
    }
    ctx.arena.u8.set(src, dst);
    return 0;
  };
  // kernel: strncpy_from_kernel_nofault() — copies up to size-1 bytes and a NUL, returns the
  // length with the NUL; a fault zeroes the destination.
  const readStr = (space: Space) => (ctx: HelperCtx, dst: number, size: number) => {
    if (size === 0) return 0;
    dstOk(ctx, dst, size);
    const addr = ctx.arg64(3);
    const u8 = ctx.arena.u8;
    for (let i = 0; i < size; i++) {
      const b = i === size - 1 ? 0 : source(ctx, space, addr + BigInt(i), 1)?.[0];
      if (b === undefined) {
        u8.fill(0, dst, dst + size);
        return failure(space, addr);
      }
      u8[dst + i] = b;
      if (b === 0) return i + 1;
    }
    return size;
  };
  const reg = (id: number, name: string, impl: ReturnType<typeof read>) =>
    t.register({ id, name, proto: taskProtos.probeRead, impl });
  reg(BPF_FUNC_probe_read, 'bpf_probe_read', read('any'));
  reg(BPF_FUNC_probe_read_str, 'bpf_probe_read_str', readStr('any'));
  reg(BPF_FUNC_probe_read_user, 'bpf_probe_read_user', read('user'));
  reg(BPF_FUNC_probe_read_kernel, 'bpf_probe_read_kernel', read('kernel'));
  reg(BPF_FUNC_probe_read_user_str, 'bpf_probe_read_user_str', readStr('user'));
  reg(BPF_FUNC_probe_read_kernel_str, 'bpf_probe_read_kernel_str', readStr('kernel'));
}
