// tsbpf's own words about a rejection: which safety principle the program broke and what a
// programmer usually changes. The kernel's message stays as is; this is an extra line.
import type { Insn } from '../isa/index.ts';
import { opcode as opNs } from '../isa/index.ts';
import type { ProgTypeName } from './env.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const op = { ...opNs };

export type Principle =
  | 'reads only where permitted'
  | 'writes only to valid memory'
  | 'control flow well formed'
  | 'bounded time'
  | 'references released'
  | 'values used as their types allow'
  | 'uses only what the kernel release has';

export interface Explanation {
  principle: Principle;
  hint: string;
}

const isWrite = (insn: Insn | undefined): boolean =>
  insn !== undefined && (op.cls(insn.code) === op.CLASS_ST || op.cls(insn.code) === op.CLASS_STX);

const DROP: Partial<Record<ProgTypeName, string>> = {
  xdp: 'XDP_DROP',
  sched_cls: 'TC_ACT_SHOT',
  sched_act: 'TC_ACT_SHOT',
  socket_filter: '0',
};

export function explain(message: string, insn: Insn | undefined, progType: ProgTypeName): Explanation {
  const mem: Principle = isWrite(insn) ? 'writes only to valid memory' : 'reads only where permitted';
  const pkt = message.match(/^invalid access to packet, off=(-?\d+) size=(\d+)/);
  if (pkt) {
    const end = Number(pkt[1]) + Number(pkt[2]);
    return {
      principle: mem,
      hint: `add \`if (data + ${end} > data_end) return ${DROP[progType] ?? '0'};\` before this access`,
    };
  }
  const uninit = message.match(/^R(\d+) !read_ok/);
  if (uninit) {
    return {
      principle: 'reads only where permitted',
      hint: `R${uninit[1]} is read before it was written on this path (calls clobber R1-R5)`,
    };
  }
  if (/invalid mem access '.*_or_null'/.test(message)) {
    return { principle: mem, hint: 'compare the pointer with NULL (`if (!p) return ...;`) before using it' };
  }
  if (
    /^invalid access to map value|min value is negative|max value is outside|unbounded memory access/.test(
      message,
    )
  ) {
    return {
      principle: mem,
      hint: 'bound the index with an unsigned check against the value size before the access',
    };
  }
  if (/^invalid (read from|write to|variable-offset)|stack R\d+|^invalid size of register/.test(message)) {
    return {
      principle: mem,
      hint: 'stack accesses must stay within [R10-512, R10) and spill pointers whole',
    };
  }
  if (/^invalid bpf_context access|dereference of modified ctx|variable ctx access/.test(message)) {
    return {
      principle: mem,
      hint: `this field of the ${progType} context cannot be ${isWrite(insn) ? 'written' : 'read'} with this size; use the unmodified ctx pointer`,
    };
  }
  if (/^frame pointer is read only|^write into map forbidden|cannot write into/.test(message)) {
    return { principle: 'writes only to valid memory', hint: 'this memory is read-only to the program' };
  }
  if (/^Possibly NULL pointer passed to trusted/.test(message)) {
    return {
      principle: 'values used as their types allow',
      hint: 'check the pointer against NULL before passing it to the kfunc',
    };
  }
  if (
    /must be referenced or trusted|must be a rcu pointer|expects refcounted|expected pointer to allocated/.test(
      message,
    )
  ) {
    return {
      principle: 'references released',
      hint: 'pass a pointer the program holds a reference on (from bpf_task_acquire, bpf_obj_new, bpf_kptr_xchg) or a trusted one; a kptr loaded from a map is only valid in an RCU read section',
    };
  }
  if (/^Unreleased reference|reference leak|must be referenced/.test(message)) {
    return {
      principle: 'references released',
      hint: 'release every reference on every path: submit or discard ring buffer records (bpf_ringbuf_submit/discard), release acquired objects (bpf_task_release, bpf_obj_drop) or move them into a map (bpf_kptr_xchg)',
    };
  }
  if (
    /^(jump out of range|unreachable insn|last insn is not|jump into the middle|call to invalid)/.test(
      message,
    )
  ) {
    return {
      principle: 'control flow well formed',
      hint: 'every jump must land on an instruction of its own function, and every instruction must be reachable',
    };
  }
  if (
    /^(infinite loop detected|BPF program is too large|The sequence of .* jumps is too complex|the call stack of|combined stack size)/.test(
      message,
    )
  ) {
    return {
      principle: 'bounded time',
      hint: 'give every loop a bound the verifier can see, or split the work (bpf_loop, tail calls)',
    };
  }
  if (
    /pointer|prohibited|invalid func|cannot use helper|type=.* expected=|cannot pass map_type|expected prog array|not a known constant/.test(
      message,
    )
  ) {
    return {
      principle: 'values used as their types allow',
      hint: 'pass helpers the argument types their prototypes declare; only add or subtract scalars to pointers',
    };
  }
  return { principle: mem, hint: 'see the kernel message above' };
}
