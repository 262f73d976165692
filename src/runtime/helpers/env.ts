// What the runtime's helpers share: the VM they run in, the event loop timers fire on, the
// function-pointer registry, host-supplied process facts, and per-run side effects.
import type { Btf } from '../../btf/btf.ts';
import type { Vm } from '../../vm/vm.ts';
import type { EventLoop } from '../event-loop.ts';
import type { FuncRegistry } from './func-ptr.ts';

/** Facts about "the current task" and memory that probe_read helpers may read. */
export interface HostInfo {
  /** bpf_get_current_pid_tgid: tgid (process id) in the upper half, pid (thread id) in the lower. */
  pid?: number;
  tgid?: number;
  uid?: number;
  gid?: number;
  /** bpf_get_current_comm (at most 15 bytes are used). */
  comm?: string;
  /**
   * What bpf_get_current_task returns: the kernel address of a task_struct the host lays out
   * in `memory` (default 0, which probe reads fault on).
   */
  currentTask?: bigint;
  /** Memory readable by bpf_probe_read_kernel/_user(_str), at 64-bit host addresses. */
  memory?: readonly HostMemory[];
}

export interface HostMemory {
  space: 'kernel' | 'user';
  addr: bigint;
  bytes: Uint8Array;
}

/** What bpf_redirect / bpf_redirect_map asked for during the last run. */
export interface RedirectAction {
  kind: 'ifindex' | 'map';
  /** ifindex for bpf_redirect; the map key for bpf_redirect_map. */
  target: number;
  flags: bigint;
  map?: string;
}

export interface RuntimeEnv {
  readonly vm: Vm;
  readonly loop: EventLoop;
  readonly funcs: FuncRegistry;
  readonly host: HostInfo;
  /** The BTF kernel objects are laid out by (CO-RE target, else the object's own): bpf_get_current_task_btf. */
  readonly layoutBtf?: Btf;
  /** The program's own BTF: the types bpf_obj_new() allocates (their ids are its ids). */
  readonly progBtf?: Btf;
  /** Program type of the run in progress (helpers such as bpf_redirect depend on it). */
  progType: string;
  /** Set by the redirect helpers; attach points clear it before each run. */
  redirect: RedirectAction | undefined;
  /** bpf_trace_printk / bpf_printk output, one line per call. */
  trace(line: string): void;
}

// errno values (include/uapi/asm-generic/errno-base.h, errno.h)
export const EPERM = 1;
export const ENOENT = 2;
export const E2BIG = 7;
export const EFAULT = 14;
export const EBUSY = 16;
export const EINVAL = 22;
export const ERANGE = 34;
export const EDEADLK = 35;
export const EOPNOTSUPP = 95;
