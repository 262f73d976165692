// Sleepable helpers (kernel: bpf_func_proto.might_sleep): they read host data that may not be
// there yet, and then throw a SleepRequest (vm/sleep.ts) instead of returning.
// kernel: kernel/bpf/helpers.c (bpf_copy_from_user, bpf_copy_from_user_task,
// bpf_copy_from_user_str), kernel/trace/bpf_trace.c (bpf_d_path)
import type { Helper, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import { markSleepable, SleepRequest } from '../../vm/sleep.ts';
import { EFAULT, EINVAL } from '../helpers/env.ts';
import { KFUNC_IDS } from '../helpers/kfuncs.ts';
import type { UserMemory } from './user-memory.ts';

export const BPF_FUNC_d_path = 147;
export const BPF_FUNC_copy_from_user = 148;
export const BPF_FUNC_copy_from_user_task = 191;
const ENAMETOOLONG = 36;
/** kernel: BPF_F_PAD_ZEROS (bpf_copy_from_user_str flags) */
const BPF_F_PAD_ZEROS = 1;

const ANY = { type: 'ARG_ANYTHING' } as const;
const UNINIT_MEM = { type: 'ARG_PTR_TO_MEM', flags: ['MEM_UNINIT', 'MEM_WRITE'] } as const;
const SIZE0 = { type: 'ARG_CONST_SIZE_OR_ZERO' } as const;

/** The 64-bit user pointer in argument n (user addresses fit in 2^53). */
function userAddr(ctx: HelperCtx, n: number): number {
  return (ctx.argHi(n) >>> 0) * 4294967296 + (ctx.argLo(n) >>> 0);
}

const hex = (a: number): string => `0x${a.toString(16)}`;

function dstOk(ctx: HelperCtx, dst: number, size: number, what: string): void {
  if (!ctx.arena.check(dst, size, true))
    ctx.fault('helper', `${what}: destination ${hex(dst)} (${size} bytes) is not writable memory`);
}

/** Copies [addr, addr+size) into dst; sleeps when the bytes are on their way; -EFAULT (dst zeroed) when unmapped. */
function copyIn(
  ctx: HelperCtx,
  mem: UserMemory,
  dst: number,
  size: number,
  addr: number,
  what: string,
): number {
  const r = mem.read(addr, size);
  if (r.kind === 'wait') throw new SleepRequest(r.until, `user memory at ${hex(addr)}, ${size} bytes`);
  dstOk(ctx, dst, size, what);
  if (r.kind === 'fault') {
    ctx.arena.u8.fill(0, dst, dst + size);
    return -EFAULT;
  }
  ctx.arena.u8.set(r.bytes, dst);
  return 0;
}

export function sleepHelpers(mem: UserMemory): Helper[] {
  // bpf_d_path results that arrived while the program slept, until the call runs again.
  const paths = new Map<number, string | undefined>();
  return [
    {
      id: BPF_FUNC_copy_from_user,
      name: 'bpf_copy_from_user',
      proto: { ret: 'RET_INTEGER', args: [UNINIT_MEM, SIZE0, ANY], mightSleep: true },
      impl: markSleepable((ctx, dst, size) => {
        if (size === 0) return 0;
        return copyIn(ctx, mem, dst, size, userAddr(ctx, 3), 'bpf_copy_from_user');
      }),
    },
    {
      id: BPF_FUNC_copy_from_user_task,
      name: 'bpf_copy_from_user_task',
      // tsbpf has one user address space: every task reads the same UserMemory.
      proto: {
        ret: 'RET_INTEGER',
        args: [UNINIT_MEM, SIZE0, ANY, { type: 'ARG_PTR_TO_BTF_ID' }, ANY],
        mightSleep: true,
      },
      impl: markSleepable((ctx, dst, size) => {
        if ((ctx.argLo(5) | ctx.argHi(5)) !== 0) return -EINVAL;
        if (size === 0) return 0;
        return copyIn(ctx, mem, dst, size, userAddr(ctx, 3), 'bpf_copy_from_user_task');
      }),
    },
    {
      id: BPF_FUNC_d_path,
      name: 'bpf_d_path',
      proto: { ret: 'RET_INTEGER', args: [{ type: 'ARG_PTR_TO_BTF_ID' }, UNINIT_MEM, SIZE0] },
      impl: markSleepable((ctx, path, buf, sz) => {
        let p: string | undefined;
        if (paths.has(path)) {
          p = paths.get(path);
          paths.delete(path);
        } else {
          const got = mem.dPath?.(path);
          if (got instanceof Promise)
            throw new SleepRequest(
              got.then(
                (s) => paths.set(path, s),
                () => paths.set(path, undefined),
              ),
              `the path of struct path ${hex(path)}`,
            );
          p = got;
        }
        if (sz === 0) return -ENAMETOOLONG;
        dstOk(ctx, buf, sz, 'bpf_d_path');
        if (p === undefined) return -EFAULT;
        const bytes = new TextEncoder().encode(p);
        // kernel: d_path() fills the buffer from its end; bpf_d_path moves it to the start.
        if (bytes.length + 1 > sz) return -ENAMETOOLONG;
        ctx.arena.u8.set(bytes, buf);
        ctx.arena.u8[buf + bytes.length] = 0;
        return bytes.length + 1;
      }),
    },
  ];
}

/** kernel: bpf_copy_from_user_str() (a kfunc, 6.12+). */
export function copyFromUserStrKfunc(mem: UserMemory): Helper {
  return {
    id: KFUNC_IDS.bpf_copy_from_user_str!,
    name: 'bpf_copy_from_user_str',
    proto: { ret: 'RET_INTEGER', args: [UNINIT_MEM, SIZE0, ANY, ANY], mightSleep: true },
    impl: markSleepable((ctx, dst, sz) => {
      const flags = ctx.argLo(4);
      if (ctx.argHi(4) !== 0 || (flags & ~BPF_F_PAD_ZEROS) !== 0) return -EINVAL;
      if (sz === 0) return 0;
      const addr = userAddr(ctx, 3);
      const max = sz - 1; // strncpy_from_user(dst, src, sz - 1)
      let run = mem.readUpTo(addr, max);
      const complete = (b: Uint8Array | undefined) => b !== undefined && (b.length === max || b.includes(0));
      if (!complete(run)) {
        const r = mem.read(addr, max);
        if (r.kind === 'wait') throw new SleepRequest(r.until, `a user string at ${hex(addr)}`);
        run = mem.readUpTo(addr, max);
      }
      dstOk(ctx, dst, sz, 'bpf_copy_from_user_str');
      const u8 = ctx.arena.u8;
      if (!complete(run)) {
        if (flags & BPF_F_PAD_ZEROS) u8.fill(0, dst, dst + sz);
        return -EFAULT;
      }
      const nul = run!.indexOf(0);
      const len = nul >= 0 ? nul : run!.length;
      u8.set(run!.subarray(0, len), dst);
      if (flags & BPF_F_PAD_ZEROS) u8.fill(0, dst + len, dst + sz);
      else u8[dst + len] = 0;
      return len + 1;
    }),
  };
}

/** Registers the sleepable helpers and the bpf_copy_from_user_str kfunc, reading `mem`. */
export function registerSleepHelpers(helpers: HelperTable, kfuncs: HelperTable, mem: UserMemory): void {
  for (const h of sleepHelpers(mem)) helpers.register(h);
  kfuncs.register(copyFromUserStrKfunc(mem));
}
