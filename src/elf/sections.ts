// SEC("...") name → program type, expected attach type and flags, following libbpf's
// sec_defs[] table (libbpf.c). Names are the kernel's enum names without the prefix,
// lower-cased: BPF_PROG_TYPE_SCHED_CLS → 'sched_cls', BPF_CGROUP_INET_INGRESS → 'cgroup_inet_ingress'.

// kernel: enum bpf_prog_type, in value order.
export const PROG_TYPES = [
  'unspec',
  'socket_filter',
  'kprobe',
  'sched_cls',
  'sched_act',
  'tracepoint',
  'xdp',
  'perf_event',
  'cgroup_skb',
  'cgroup_sock',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
  'sock_ops',
  'sk_skb',
  'cgroup_device',
  'sk_msg',
  'raw_tracepoint',
  'cgroup_sock_addr',
  'lwt_seg6local',
  'lirc_mode2',
  'sk_reuseport',
  'flow_dissector',
  'cgroup_sysctl',
  'raw_tracepoint_writable',
  'cgroup_sockopt',
  'tracing',
  'struct_ops',
  'ext',
  'lsm',
  'sk_lookup',
  'syscall',
  'netfilter',
] as const;
export type ProgType = (typeof PROG_TYPES)[number];

// kernel: enum bpf_attach_type, in value order.
export const ATTACH_TYPES = [
  'cgroup_inet_ingress',
  'cgroup_inet_egress',
  'cgroup_inet_sock_create',
  'cgroup_sock_ops',
  'sk_skb_stream_parser',
  'sk_skb_stream_verdict',
  'cgroup_device',
  'sk_msg_verdict',
  'cgroup_inet4_bind',
  'cgroup_inet6_bind',
  'cgroup_inet4_connect',
  'cgroup_inet6_connect',
  'cgroup_inet4_post_bind',
  'cgroup_inet6_post_bind',
  'cgroup_udp4_sendmsg',
  'cgroup_udp6_sendmsg',
  'lirc_mode2',
  'flow_dissector',
  'cgroup_sysctl',
  'cgroup_udp4_recvmsg',
  'cgroup_udp6_recvmsg',
  'cgroup_getsockopt',
  'cgroup_setsockopt',
  'trace_raw_tp',
  'trace_fentry',
  'trace_fexit',
  'modify_return',
  'lsm_mac',
  'trace_iter',
  'cgroup_inet4_getpeername',
  'cgroup_inet6_getpeername',
  'cgroup_inet4_getsockname',
  'cgroup_inet6_getsockname',
  'xdp_devmap',
  'cgroup_inet_sock_release',
  'xdp_cpumap',
  'sk_lookup',
  'xdp',
  'sk_skb_verdict',
  'sk_reuseport_select',
  'sk_reuseport_select_or_migrate',
  'perf_event',
  'trace_kprobe_multi',
  'lsm_cgroup',
  'struct_ops',
  'netfilter',
  'tcx_ingress',
  'tcx_egress',
  'trace_uprobe_multi',
  'cgroup_unix_connect',
  'cgroup_unix_sendmsg',
  'cgroup_unix_recvmsg',
  'cgroup_unix_getpeername',
  'cgroup_unix_getsockname',
  'netkit_primary',
  'netkit_peer',
  'trace_kprobe_session',
] as const;
export type AttachType = (typeof ATTACH_TYPES)[number];

export interface SecDef {
  /** Section name pattern; a trailing '+' means "this, or this followed by '/' and anything". */
  pattern: string;
  progType: ProgType;
  /** Absent where libbpf passes 0 (which is also the value of cgroup_inet_ingress, but means "none"). */
  attachType?: AttachType;
  sleepable?: boolean;
  /** xdp.frags: BPF_F_XDP_HAS_FRAGS. */
  xdpFrags?: boolean;
  /** The part after '/' names a kernel BTF object to attach to (fentry/, lsm/, tp_btf/, iter/...). */
  attachBtf?: boolean;
}

const d = (
  pattern: string,
  progType: ProgType,
  attachType?: AttachType,
  extra: Partial<SecDef> = {},
): SecDef => ({
  pattern,
  progType,
  ...(attachType ? { attachType } : {}),
  ...extra,
});
const S = { sleepable: true };
const BTF = { attachBtf: true };
const BTF_S = { attachBtf: true, sleepable: true };
const FRAGS = { xdpFrags: true };

/** In libbpf's order: the first match wins. */
export const SEC_DEFS: readonly SecDef[] = [
  d('socket', 'socket_filter'),
  d('sk_reuseport/migrate', 'sk_reuseport', 'sk_reuseport_select_or_migrate'),
  d('sk_reuseport', 'sk_reuseport', 'sk_reuseport_select'),
  d('kprobe+', 'kprobe'),
  d('uprobe+', 'kprobe'),
  d('uprobe.s+', 'kprobe', undefined, S),
  d('kretprobe+', 'kprobe'),
  d('uretprobe+', 'kprobe'),
  d('uretprobe.s+', 'kprobe', undefined, S),
  d('kprobe.multi+', 'kprobe', 'trace_kprobe_multi'),
  d('kretprobe.multi+', 'kprobe', 'trace_kprobe_multi'),
  d('kprobe.session+', 'kprobe', 'trace_kprobe_session'),
  d('uprobe.multi+', 'kprobe', 'trace_uprobe_multi'),
  d('uretprobe.multi+', 'kprobe', 'trace_uprobe_multi'),
  d('uprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', S),
  d('uretprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', S),
  d('ksyscall+', 'kprobe'),
  d('kretsyscall+', 'kprobe'),
  d('usdt+', 'kprobe'),
  d('usdt.s+', 'kprobe', undefined, S),
  d('tc/ingress', 'sched_cls', 'tcx_ingress'),
  d('tc/egress', 'sched_cls', 'tcx_egress'),
  d('tcx/ingress', 'sched_cls', 'tcx_ingress'),
  d('tcx/egress', 'sched_cls', 'tcx_egress'),
  d('netkit/primary', 'sched_cls', 'netkit_primary'),
  d('netkit/peer', 'sched_cls', 'netkit_peer'),
  d('tc', 'sched_cls'),
  d('classifier', 'sched_cls'),
  d('action', 'sched_act'),
  d('tracepoint+', 'tracepoint'),
  d('tp+', 'tracepoint'),
  d('raw_tracepoint+', 'raw_tracepoint'),
  d('raw_tp+', 'raw_tracepoint'),
  d('raw_tracepoint.w+', 'raw_tracepoint_writable'),
  d('raw_tp.w+', 'raw_tracepoint_writable'),
  d('tp_btf+', 'tracing', 'trace_raw_tp', BTF),
  d('fentry+', 'tracing', 'trace_fentry', BTF),
  d('fmod_ret+', 'tracing', 'modify_return', BTF),
  d('fexit+', 'tracing', 'trace_fexit', BTF),
  d('fentry.s+', 'tracing', 'trace_fentry', BTF_S),
  d('fmod_ret.s+', 'tracing', 'modify_return', BTF_S),
  d('fexit.s+', 'tracing', 'trace_fexit', BTF_S),
  d('freplace+', 'ext', undefined, BTF),
  d('lsm+', 'lsm', 'lsm_mac', BTF),
  d('lsm.s+', 'lsm', 'lsm_mac', BTF_S),
  d('lsm_cgroup+', 'lsm', 'lsm_cgroup', BTF),
  d('iter+', 'tracing', 'trace_iter', BTF),
  d('iter.s+', 'tracing', 'trace_iter', BTF_S),
  d('syscall', 'syscall', undefined, S),
  d('xdp.frags/devmap', 'xdp', 'xdp_devmap', FRAGS),
  d('xdp/devmap', 'xdp', 'xdp_devmap'),
  d('xdp.frags/cpumap', 'xdp', 'xdp_cpumap', FRAGS),
  d('xdp/cpumap', 'xdp', 'xdp_cpumap'),
  d('xdp.frags', 'xdp', 'xdp', FRAGS),
  d('xdp', 'xdp', 'xdp'),
  d('perf_event', 'perf_event'),
  d('lwt_in', 'lwt_in'),
  d('lwt_out', 'lwt_out'),
  d('lwt_xmit', 'lwt_xmit'),
  d('lwt_seg6local', 'lwt_seg6local'),
  d('sockops', 'sock_ops', 'cgroup_sock_ops'),
  d('sk_skb/stream_parser', 'sk_skb', 'sk_skb_stream_parser'),
  d('sk_skb/stream_verdict', 'sk_skb', 'sk_skb_stream_verdict'),
  d('sk_skb/verdict', 'sk_skb', 'sk_skb_verdict'),
  d('sk_skb', 'sk_skb'),
  d('sk_msg', 'sk_msg', 'sk_msg_verdict'),
  d('lirc_mode2', 'lirc_mode2', 'lirc_mode2'),
  d('flow_dissector', 'flow_dissector', 'flow_dissector'),
  d('cgroup_skb/ingress', 'cgroup_skb', 'cgroup_inet_ingress'),
  d('cgroup_skb/egress', 'cgroup_skb', 'cgroup_inet_egress'),
  d('cgroup/skb', 'cgroup_skb'),
  d('cgroup/sock_create', 'cgroup_sock', 'cgroup_inet_sock_create'),
  d('cgroup/sock_release', 'cgroup_sock', 'cgroup_inet_sock_release'),
  d('cgroup/sock', 'cgroup_sock', 'cgroup_inet_sock_create'),
  d('cgroup/post_bind4', 'cgroup_sock', 'cgroup_inet4_post_bind'),
  d('cgroup/post_bind6', 'cgroup_sock', 'cgroup_inet6_post_bind'),
  d('cgroup/bind4', 'cgroup_sock_addr', 'cgroup_inet4_bind'),
  d('cgroup/bind6', 'cgroup_sock_addr', 'cgroup_inet6_bind'),
  d('cgroup/connect4', 'cgroup_sock_addr', 'cgroup_inet4_connect'),
  d('cgroup/connect6', 'cgroup_sock_addr', 'cgroup_inet6_connect'),
  d('cgroup/connect_unix', 'cgroup_sock_addr', 'cgroup_unix_connect'),
  d('cgroup/sendmsg4', 'cgroup_sock_addr', 'cgroup_udp4_sendmsg'),
  d('cgroup/sendmsg6', 'cgroup_sock_addr', 'cgroup_udp6_sendmsg'),
  d('cgroup/sendmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_sendmsg'),
  d('cgroup/recvmsg4', 'cgroup_sock_addr', 'cgroup_udp4_recvmsg'),
  d('cgroup/recvmsg6', 'cgroup_sock_addr', 'cgroup_udp6_recvmsg'),
  d('cgroup/recvmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_recvmsg'),
  d('cgroup/getpeername4', 'cgroup_sock_addr', 'cgroup_inet4_getpeername'),
  d('cgroup/getpeername6', 'cgroup_sock_addr', 'cgroup_inet6_getpeername'),
  d('cgroup/getpeername_unix', 'cgroup_sock_addr', 'cgroup_unix_getpeername'),
  d('cgroup/getsockname4', 'cgroup_sock_addr', 'cgroup_inet4_getsockname'),
  d('cgroup/getsockname6', 'cgroup_sock_addr', 'cgroup_inet6_getsockname'),
  d('cgroup/getsockname_unix', 'cgroup_sock_addr', 'cgroup_unix_getsockname'),
  d('cgroup/sysctl', 'cgroup_sysctl', 'cgroup_sysctl'),
  d('cgroup/getsockopt', 'cgroup_sockopt', 'cgroup_getsockopt'),
  d('cgroup/setsockopt', 'cgroup_sockopt', 'cgroup_setsockopt'),
  d('cgroup/dev', 'cgroup_device', 'cgroup_device'),
  d('struct_ops+', 'struct_ops'),
  d('struct_ops.s+', 'struct_ops', undefined, S),
  d('sk_lookup', 'sk_lookup', 'sk_lookup'),
  d('netfilter', 'netfilter', 'netfilter'),
];

/** kernel-side libbpf: sec_def_matches(). */
function matches(def: SecDef, name: string): boolean {
  if (def.pattern.endsWith('+')) {
    const prefix = def.pattern.slice(0, -1);
    if (!name.startsWith(prefix)) return false;
    return name.length === prefix.length || name[prefix.length] === '/';
  }
  return name === def.pattern;
}

export interface SectionKind extends Omit<SecDef, 'pattern'> {
  /** The table entry that matched, or undefined for an unknown section (progType 'unspec'). */
  pattern?: string;
  /** What follows the first '/', e.g. the kprobe function or tracepoint name. */
  attachTo?: string;
}

/** libbpf: find_sec_def(). Unknown names give progType 'unspec'. */
export function classifySection(name: string): SectionKind {
  const def = SEC_DEFS.find((def) => matches(def, name));
  const slash = name.indexOf('/');
  const attachTo = slash >= 0 ? name.slice(slash + 1) : undefined;
  if (!def) return { progType: 'unspec', ...(attachTo !== undefined ? { attachTo } : {}) };
  return { ...def, ...(attachTo !== undefined ? { attachTo } : {}) };
}

/** The kernel BTF type a BTF-attached program is loaded against (its attach_btf_id). */
export interface AttachBtfTarget {
  /** Name to look up in vmlinux BTF, e.g. 'btf_trace_sched_process_exec'. */
  name: string;
  /** BTF kind of that type. */
  kind: 'typedef' | 'func';
}

/**
 * For a section whose suffix names a kernel BTF object (tp_btf/, fentry/, lsm/, iter/...): the
 * vmlinux type libbpf resolves to attach_btf_id. Undefined for other sections and for freplace,
 * whose target is another BPF program. libbpf: btf_get_kernel_prefix_kind(), find_attach_btf_id().
 */
export function attachBtfTarget(section: string): AttachBtfTarget | undefined {
  const k = classifySection(section);
  if (!k.attachBtf || k.attachTo === undefined || k.progType === 'ext') return undefined;
  switch (k.attachType) {
    case 'trace_raw_tp':
      return { name: `btf_trace_${k.attachTo}`, kind: 'typedef' };
    case 'trace_iter':
      return { name: `bpf_iter_${k.attachTo}`, kind: 'func' };
    case 'lsm_mac':
    case 'lsm_cgroup':
      return { name: `bpf_lsm_${k.attachTo}`, kind: 'func' };
    default:
      return { name: k.attachTo, kind: 'func' };
  }
}
