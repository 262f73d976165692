// bpf_seq_printf (126) and bpf_seq_write (127): output of iterator programs into the seq_file
// of the session in progress. kernel: kernel/trace/bpf_trace.c
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import type { RuntimeEnv } from '../helpers/env.ts';
import { bprintf, MAX_BPRINTF_VARARGS } from '../../vm/bprintf.ts';
import { EOVERFLOW, type SeqBuf } from './seq-file.ts';

export const BPF_FUNC_seq_printf = 126;
export const BPF_FUNC_seq_write = 127;
const EINVAL = 22;

export const seqProtos = {
  // kernel: bpf_seq_printf_proto (arg1 is a struct seq_file BTF id)
  seqPrintf: {
    ret: 'RET_INTEGER',
    args: [
      { type: 'ARG_PTR_TO_BTF_ID' },
      { type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] },
      { type: 'ARG_CONST_SIZE' },
      { type: 'ARG_PTR_TO_MEM', flags: ['PTR_MAYBE_NULL', 'MEM_RDONLY'] },
      { type: 'ARG_CONST_SIZE_OR_ZERO' },
    ],
  },
  // kernel: bpf_seq_write_proto
  seqWrite: {
    ret: 'RET_INTEGER',
    args: [
      { type: 'ARG_PTR_TO_BTF_ID' },
      { type: 'ARG_PTR_TO_MEM', flags: ['MEM_RDONLY'] },
      { type: 'ARG_CONST_SIZE_OR_ZERO' },
    ],
  },
} as const satisfies Record<string, FuncProto>;

/** seq_file address → buffer, for the iterator sessions of each collection. */
const open = new WeakMap<RuntimeEnv, Map<number, SeqBuf>>();

/** Makes `seq` the target of bpf_seq_* calls that pass `addr`; returns the undo. */
export function bindSeqFile(env: RuntimeEnv, addr: number, seq: SeqBuf): () => void {
  const m = open.get(env) ?? new Map<number, SeqBuf>();
  open.set(env, m);
  m.set(addr, seq);
  return () => m.delete(addr);
}

export function registerSeqHelpers(t: HelperTable, env: RuntimeEnv): void {
  const seqOf = (ctx: HelperCtx, addr: number, name: string): SeqBuf => {
    const s = open.get(env)?.get(addr);
    if (!s || ctx.argHi(1) !== 0)
      return ctx.fault('helper', `${name}: 0x${addr.toString(16)} is not the seq_file of an iterator`);
    return s;
  };
  // kernel: bpf_seq_printf() — 0, -EOVERFLOW when the buffer filled up, -EINVAL for a bad format.
  t.register({
    id: BPF_FUNC_seq_printf,
    name: 'bpf_seq_printf',
    proto: seqProtos.seqPrintf,
    impl: (ctx, m, fmt, fmtSize, data, dataLen) => {
      const seq = seqOf(ctx, m, 'bpf_seq_printf');
      if (dataLen % 8 !== 0 || dataLen > MAX_BPRINTF_VARARGS * 8 || (dataLen > 0 && data === 0))
        return -EINVAL;
      if (!ctx.arena.check(fmt, fmtSize, false))
        return ctx.fault('helper', 'bpf_seq_printf: format not readable');
      if (dataLen > 0 && !ctx.arena.check(data, dataLen, false))
        return ctx.fault('helper', 'bpf_seq_printf: arguments not readable');
      const args: bigint[] = [];
      for (let i = 0; i < dataLen; i += 8) args.push(ctx.arena.dv.getBigUint64(data + i, true));
      const out = bprintf(ctx.arena.read(fmt, fmtSize), args, ctx.arena);
      if (typeof out === 'number') return out;
      // kernel: seq_bprintf() formats into what is left, keeping the output only if it fits.
      if (seq.count < seq.buf.length && seq.write(out)) return 0;
      seq.count = seq.buf.length;
      return -EOVERFLOW;
    },
  });
  // kernel: bpf_seq_write()
  t.register({
    id: BPF_FUNC_seq_write,
    name: 'bpf_seq_write',
    proto: seqProtos.seqWrite,
    impl: (ctx, m, data, len) => {
      const seq = seqOf(ctx, m, 'bpf_seq_write');
      if (len > 0 && !ctx.arena.check(data, len, false))
        return ctx.fault('helper', 'bpf_seq_write: data not readable');
      return seq.write(ctx.arena.read(data, len)) ? 0 : -EOVERFLOW;
    },
  });
}
