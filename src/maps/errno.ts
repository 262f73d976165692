// Errno values map operations return, negated, as the kernel does; and the error the host API
// throws when an operation fails.
import { TsbpfError, type Where } from '../errors.ts';

export const EPERM = 1;
export const ENOENT = 2;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENODATA = 61;
export const EOPNOTSUPP = 95;
/** kernel-internal ENOTSUPP (distinct from EOPNOTSUPP), what e.g. LRU + BPF_F_NO_PREALLOC returns. */
export const ENOTSUPP = 524;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [E2BIG]: 'E2BIG',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC',
  [ENODATA]: 'ENODATA',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [ENOTSUPP]: 'ENOTSUPP',
};

export function errnoName(errno: number): string {
  return NAMES[Math.abs(errno)] ?? `errno ${Math.abs(errno)}`;
}

/** A map operation or creation failed with the errno the kernel's bpf() would set. */
export class MapError extends TsbpfError {
  /** Positive errno value (ENOENT = 2, ...). */
  readonly errno: number;
  constructor(errno: number, message: string, opts: { where?: Where; cause?: unknown } = {}) {
    super('MAP', `${message} (${errnoName(errno)})`, opts);
    this.errno = Math.abs(errno);
  }
}
