// Which context fields a program type may read or write (kernel: the is_valid_access callbacks
// of struct bpf_verifier_ops: sk_filter_is_valid_access(), tc_cls_act_is_valid_access(),
// bpf_skb_is_valid_access(), xdp_is_valid_access(), syscall_prog_is_valid_access(), ...).
import { SK_BUFF, SK_BUFF_SIZE, XDP_MD, XDP_MD_SIZE } from '../../vm/ctx-layout.ts';
import type { ProgTypeName } from '../env.ts';
import type { RegType } from '../reg.ts';

export type AccessType = 'read' | 'write';

/** What a valid access yields: the loaded register's type (kernel: bpf_insn_access_aux.reg_type). */
export interface CtxAccessInfo {
  regType: RegType;
}

const inField = (off: number, start: number, size: number): boolean => off >= start && off < start + size;

const CB_END = SK_BUFF.cb + 20;
// family .. local_port: the socket fields no skb program type may touch
const inSockFields = (off: number): boolean => off >= SK_BUFF.family && off < SK_BUFF.local_port + 4;

// kernel: bpf_skb_is_valid_access()
function skbIsValidAccess(off: number, size: number, t: AccessType): boolean {
  if (off < 0 || off >= SK_BUFF_SIZE) return false;
  if (off % size !== 0) return false;
  if (inField(off, SK_BUFF.cb, 20)) return off + size <= CB_END;
  if (
    inField(off, SK_BUFF.remote_ip6, 16) ||
    inField(off, SK_BUFF.local_ip6, 16) ||
    inField(off, SK_BUFF.remote_ip4, 4) ||
    inField(off, SK_BUFF.local_ip4, 4) ||
    inField(off, SK_BUFF.data, 4) ||
    inField(off, SK_BUFF.data_meta, 4) ||
    inField(off, SK_BUFF.data_end, 4)
  ) {
    return size === 4;
  }
  if (inField(off, SK_BUFF.flow_keys, 8)) return false;
  if (inField(off, SK_BUFF.hwtstamp, 8)) return t === 'read' && size === 8;
  if (inField(off, SK_BUFF.tstamp, 8)) return size === 8;
  if (off === SK_BUFF.sk) return t === 'read' && size === 8;
  if (inField(off, SK_BUFF.sk, 8)) return false;
  if (off === SK_BUFF.tstamp_type) return false;
  // padding between tstamp_type and hwtstamp
  if (off > SK_BUFF.tstamp_type && off < SK_BUFF.hwtstamp) return false;
  if (t === 'write') return size === 4;
  // narrow reads of the low part of a 4-byte field (kernel: bpf_ctx_narrow_access_ok())
  return size <= 4 && (size & (size - 1)) === 0;
}

// kernel: sk_filter_is_valid_access()
function skFilterIsValidAccess(off: number, size: number, t: AccessType): boolean {
  if (
    inField(off, SK_BUFF.tc_classid, 4) ||
    inField(off, SK_BUFF.data, 4) ||
    inField(off, SK_BUFF.data_meta, 4) ||
    inField(off, SK_BUFF.data_end, 4) ||
    inSockFields(off) ||
    inField(off, SK_BUFF.tstamp, 8) ||
    inField(off, SK_BUFF.wire_len, 4) ||
    inField(off, SK_BUFF.hwtstamp, 8)
  ) {
    return false;
  }
  if (t === 'write' && !inField(off, SK_BUFF.cb, 20)) return false;
  return skbIsValidAccess(off, size, t);
}

// kernel: tc_cls_act_is_valid_access()
function tcClsActIsValidAccess(off: number, size: number, t: AccessType, info: CtxAccessInfo): boolean {
  if (t === 'write') {
    const writable =
      inField(off, SK_BUFF.mark, 4) ||
      inField(off, SK_BUFF.tc_index, 4) ||
      inField(off, SK_BUFF.priority, 4) ||
      inField(off, SK_BUFF.tc_classid, 4) ||
      inField(off, SK_BUFF.cb, 20) ||
      inField(off, SK_BUFF.tstamp, 8) ||
      inField(off, SK_BUFF.queue_mapping, 4);
    if (!writable) return false;
  }
  if (inField(off, SK_BUFF.data, 4)) info.regType = 'PTR_TO_PACKET';
  else if (inField(off, SK_BUFF.data_meta, 4)) info.regType = 'PTR_TO_PACKET_META';
  else if (inField(off, SK_BUFF.data_end, 4)) info.regType = 'PTR_TO_PACKET_END';
  else if (inSockFields(off)) return false;
  return skbIsValidAccess(off, size, t);
}

// kernel: xdp_is_valid_access() (not a devmap program: egress_ifindex is off limits)
function xdpIsValidAccess(off: number, size: number, t: AccessType, info: CtxAccessInfo): boolean {
  if (off === XDP_MD.egress_ifindex) return false;
  if (t === 'write') return false;
  if (off === XDP_MD.data) info.regType = 'PTR_TO_PACKET';
  else if (off === XDP_MD.data_meta) info.regType = 'PTR_TO_PACKET_META';
  else if (off === XDP_MD.data_end) info.regType = 'PTR_TO_PACKET_END';
  // kernel: __is_valid_xdp_access()
  return off >= 0 && off < XDP_MD_SIZE && off % size === 0 && size === 4;
}

/** x86-64 sizeof(struct pt_regs). */
const PT_REGS_SIZE = 168;
/** kernel: PERF_MAX_TRACE_SIZE */
const PERF_MAX_TRACE_SIZE = 2048;
/** kernel: MAX_BPF_FUNC_ARGS */
const MAX_BPF_FUNC_ARGS = 12;

/** kernel: env->ops->is_valid_access(off, size, type, prog, info); null info means invalid. */
export function isValidCtxAccess(
  progType: ProgTypeName,
  off: number,
  size: number,
  t: AccessType,
): CtxAccessInfo | null {
  const info: CtxAccessInfo = { regType: 'SCALAR_VALUE' };
  let ok: boolean;
  switch (progType) {
    case 'socket_filter':
      ok = skFilterIsValidAccess(off, size, t);
      break;
    case 'sched_cls':
    case 'sched_act':
      ok = tcClsActIsValidAccess(off, size, t, info);
      break;
    case 'xdp':
      ok = xdpIsValidAccess(off, size, t, info);
      break;
    case 'syscall':
      // kernel: syscall_prog_is_valid_access(): a plain buffer up to U16_MAX
      ok = off >= 0 && off < 0xffff && off % size === 0;
      break;
    case 'kprobe':
      ok = t === 'read' && off >= 0 && off + size <= PT_REGS_SIZE && off % size === 0;
      break;
    case 'tracepoint':
      ok = t === 'read' && off >= 8 && off < PERF_MAX_TRACE_SIZE && off % size === 0;
      break;
    case 'raw_tracepoint':
    case 'tracing':
      ok = t === 'read' && off >= 0 && off < 8 * MAX_BPF_FUNC_ARGS && off % size === 0 && size === 8;
      break;
    default:
      ok = false;
  }
  return ok ? info : null;
}

/** Program types that may write packet data (kernel: may_access_direct_pkt_data()). */
export function mayWritePacket(progType: ProgTypeName): boolean {
  return progType === 'sched_cls' || progType === 'sched_act' || progType === 'xdp';
}
