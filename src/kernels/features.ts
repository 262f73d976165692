// eBPF features by the kernel version that introduced them, each with its source.
// Versions are mainline releases ("5.8" = first released in v5.8); distribution backports are out of scope.
// Sources, cited in each entry's `source`:
//   - bcc docs/kernel-versions.md ("BPF Features by Linux Kernel Version", iovisor/bcc @6d0a964c2cda):
//     helpers, program and map types, main features, each with its upstream commit;
//   - cilium/ebpf's feature probes (features/*.go @5ba0b3b27a92): the release each probe expects;
//   - isovalent/ebpf-docs (docs.ebpf.io @18ec5e9): the timeline, context-field, BPF_MAP_CREATE and
//     concept pages, which tag items with release and commit.
// Commits are cited by their 12-hex prefix. An entry none of these confirm says "unverified".

/** A mainline kernel release, "major.minor". */
export type KernelVersion = `${number}.${number}`;

/** One feature and the first release that has it. */
export interface FeatureSince {
  since: KernelVersion;
  /** Upstream commit (12-hex prefix) and/or document; contains "unverified" when we could not check it. */
  source: string;
}

const BCC = 'bcc docs/kernel-versions.md';
/** Second source: cilium/ebpf's feature probes (@5ba0b3b27a92), which name the first release of each. */
const CILIUM = 'cilium/ebpf';
/** Third source: isovalent/ebpf-docs (docs.ebpf.io, @18ec5e9), which tags each item with its release and commit. */
const MAP_CREATE_DOC = 'ebpf-docs BPF_MAP_CREATE.md';
const SK_DOC = 'ebpf-docs __sk_buff.md';
const XDP_DOC = 'ebpf-docs BPF_PROG_TYPE_XDP.md';
const TIMELINE = 'ebpf-docs docs/linux/timeline';

/** kernel: enum bpf_func_id, as [id, name without bpf_, since, commit, gplOnly?, note?]. */
type HelperRow = readonly [number, string, KernelVersion, string, boolean?, string?];

// Generated once from bcc's helper table (alphabetical there), joined with src/isa/helper-names.ts by name.
// gplOnly: bcc's "License" column says GPL.
const HELPER_ROWS: readonly HelperRow[] = [
  [1, 'map_lookup_elem', '3.19', 'd0003ec01c66'],
  [2, 'map_update_elem', '3.19', 'd0003ec01c66'],
  [3, 'map_delete_elem', '3.19', 'd0003ec01c66'],
  [4, 'probe_read', '4.1', '2541517c32be', true],
  [5, 'ktime_get_ns', '4.1', 'd9847d310ab4'],
  [6, 'trace_printk', '4.1', '9c959c863f82', true],
  [7, 'get_prandom_u32', '4.1', '03e69b508b6f'],
  [8, 'get_smp_processor_id', '4.1', 'c04167ce2ca0'],
  [9, 'skb_store_bytes', '4.1', '91bc4822c3d6'],
  [10, 'l3_csum_replace', '4.1', '91bc4822c3d6'],
  [11, 'l4_csum_replace', '4.1', '91bc4822c3d6'],
  [12, 'tail_call', '4.2', '04fd61ab36ec'],
  [13, 'clone_redirect', '4.2', '3896d655f4d4'],
  [14, 'get_current_pid_tgid', '4.2', 'ffeedafbf023'],
  [15, 'get_current_uid_gid', '4.2', 'ffeedafbf023'],
  [16, 'get_current_comm', '4.2', 'ffeedafbf023'],
  [17, 'get_cgroup_classid', '4.3', '8d20aabe1c76'],
  [18, 'skb_vlan_push', '4.3', '4e10df9a60d9'],
  [19, 'skb_vlan_pop', '4.3', '4e10df9a60d9'],
  [20, 'skb_get_tunnel_key', '4.3', 'd3aa45ce6b94'],
  [21, 'skb_set_tunnel_key', '4.3', 'd3aa45ce6b94'],
  [22, 'perf_event_read', '4.3', '35578d798400', true],
  [23, 'redirect', '4.4', '27b29f63058d'],
  [24, 'get_route_realm', '4.4', 'c46646d0484f'],
  [25, 'perf_event_output', '4.4', 'a43eec304259', true],
  [26, 'skb_load_bytes', '4.5', '05c74e5e53f6'],
  [27, 'get_stackid', '4.6', 'd5a3b1f69186', true],
  [28, 'csum_diff', '4.6', '7d672345ed29'],
  [29, 'skb_get_tunnel_opt', '4.6', '14ca0751c96f'],
  [30, 'skb_set_tunnel_opt', '4.6', '14ca0751c96f'],
  [31, 'skb_change_proto', '4.8', '6578171a7ff0'],
  [32, 'skb_change_type', '4.8', 'd2485c4242a8'],
  [33, 'skb_under_cgroup', '4.8', '4a482f34afcc'],
  [34, 'get_hash_recalc', '4.8', '13c5c240f789'],
  [35, 'get_current_task', '4.8', '606274c5abd8', true],
  [36, 'probe_write_user', '4.8', '96ae52279594', true],
  [37, 'current_task_under_cgroup', '4.9', '60d20f9195b2'],
  [38, 'skb_change_tail', '4.9', '5293efe62df8'],
  [39, 'skb_pull_data', '4.9', '36bbef52c7eb'],
  [40, 'csum_update', '4.9', '36bbef52c7eb'],
  [41, 'set_hash_invalid', '4.9', '7a4b28c6cc9f'],
  [42, 'get_numa_node_id', '4.10', '2d0e30c30f84'],
  [43, 'skb_change_head', '4.10', '3a0af8fd61f9'],
  [44, 'xdp_adjust_head', '4.10', '17bedab27231'],
  [45, 'probe_read_str', '4.11', 'a5e8c07059d0', true],
  [46, 'get_socket_cookie', '4.12', '91b8270f2a4d'],
  [47, 'get_socket_uid', '4.12', '6acc5c291068'],
  [48, 'set_hash', '4.13', 'ded092cd73c2'],
  [49, 'setsockopt', '4.13', '8c4b4c7e9ff0'],
  [50, 'skb_adjust_room', '4.13', '2be7e212d541'],
  [51, 'redirect_map', '4.14', '97f91a7cf04f'],
  [52, 'sk_redirect_map', '4.14', '174a79ff9515'],
  [53, 'sock_map_update', '4.14', '174a79ff9515'],
  [54, 'xdp_adjust_meta', '4.15', 'de8f3a83b0a0'],
  [55, 'perf_event_read_value', '4.15', '908432ca84fc', true],
  [56, 'perf_prog_read_value', '4.15', '4bebdc7a85aa', true],
  [57, 'getsockopt', '4.15', 'cd86d1fd2102'],
  [58, 'override_return', '4.16', '9802d86585db', true],
  [59, 'sock_ops_cb_flags_set', '4.16', 'b13d88072172'],
  [60, 'msg_redirect_map', '4.17', '4f738adba30a'],
  [61, 'msg_apply_bytes', '4.17', '2a100317c9eb'],
  [62, 'msg_cork_bytes', '4.17', '91843d540a13'],
  [63, 'msg_pull_data', '4.17', '015632bb30da'],
  [64, 'bind', '4.17', 'd74bad4e74ee'],
  [65, 'xdp_adjust_tail', '4.18', 'b32cc5b9a346'],
  [66, 'skb_get_xfrm_state', '4.18', '12bed760a78d'],
  [67, 'get_stack', '4.18', 'de2ff05f48af', true],
  [68, 'skb_load_bytes_relative', '4.18', '4e1ec56cdc59'],
  [69, 'fib_lookup', '4.18', '87f5fc7e48dd', true],
  [70, 'sock_hash_update', '4.18', '81110384441a'],
  [71, 'msg_redirect_hash', '4.18', '81110384441a'],
  [72, 'sk_redirect_hash', '4.18', '81110384441a'],
  [73, 'lwt_push_encap', '4.18', 'fe94cc290f53'],
  [74, 'lwt_seg6_store_bytes', '4.18', 'fe94cc290f53'],
  [75, 'lwt_seg6_adjust_srh', '4.18', 'fe94cc290f53'],
  [76, 'lwt_seg6_action', '4.18', 'fe94cc290f53'],
  [77, 'rc_repeat', '4.18', 'f4364dcfc86d', true],
  [78, 'rc_keydown', '4.18', 'f4364dcfc86d', true],
  [79, 'skb_cgroup_id', '4.18', 'cb20b08ead40'],
  [80, 'get_current_cgroup_id', '4.18', 'bf6fa2c893c5'],
  [81, 'get_local_storage', '4.19', 'cd3394317653'],
  [82, 'sk_select_reuseport', '4.19', '2dbb9b9e6df6'],
  [83, 'skb_ancestor_cgroup_id', '4.19', '7723628101aa'],
  [84, 'sk_lookup_tcp', '4.20', '6acc9b432e67'],
  [85, 'sk_lookup_udp', '4.20', '6acc9b432e67'],
  [86, 'sk_release', '4.20', '6acc9b432e67'],
  [87, 'map_push_elem', '4.20', 'f1a2e44a3aec'],
  [88, 'map_pop_elem', '4.20', 'f1a2e44a3aec'],
  [89, 'map_peek_elem', '4.20', 'f1a2e44a3aec'],
  [90, 'msg_push_data', '4.20', '6fff607e2f14'],
  [91, 'msg_pop_data', '5.0', '7246d8ed4dcc'],
  [92, 'rc_pointer_rel', '5.0', '01d3240a04f4', true],
  [93, 'spin_lock', '5.1', 'd83525ca62cf'],
  [94, 'spin_unlock', '5.1', 'd83525ca62cf'],
  [95, 'sk_fullsock', '5.1', '46f8bc92758c'],
  [96, 'tcp_sock', '5.1', '655a51e536c0'],
  [97, 'skb_ecn_set_ce', '5.1', 'f7c917ba11a6'],
  [98, 'get_listener_sock', '5.1', 'dbafd7ddd623'],
  [99, 'skc_lookup_tcp', '5.2', 'edbf8c01de5a'],
  [100, 'tcp_check_syncookie', '5.2', '399040847084'],
  [101, 'sysctl_get_name', '5.2', '808649fb787d'],
  [102, 'sysctl_get_current_value', '5.2', '1d11b3016cec'],
  [103, 'sysctl_get_new_value', '5.2', '4e63acdff864'],
  [104, 'sysctl_set_new_value', '5.2', '4e63acdff864'],
  [105, 'strtol', '5.2', 'd7a4cb9b6705'],
  [106, 'strtoul', '5.2', 'd7a4cb9b6705'],
  [107, 'sk_storage_get', '5.2', '6ac99e8f23d4'],
  [108, 'sk_storage_delete', '5.2', '6ac99e8f23d4'],
  [109, 'send_signal', '5.3', '8b401f9ed244'],
  [110, 'tcp_gen_syncookie', '5.3', '70d66244317e'],
  [111, 'skb_output', '5.5', 'a7658e1a4164'],
  [112, 'probe_read_user', '5.5', '6ae08ae3dea2', true],
  [113, 'probe_read_kernel', '5.5', '6ae08ae3dea2', true],
  [114, 'probe_read_user_str', '5.5', '6ae08ae3dea2', true],
  [115, 'probe_read_kernel_str', '5.5', '6ae08ae3dea2', true],
  [116, 'tcp_send_ack', '5.5', '206057fe020a'],
  [117, 'send_signal_thread', '5.5', '8482941f0906'],
  [118, 'jiffies64', '5.5', '5576b991e9c1'],
  [119, 'read_branch_records', '5.6', 'fff7b64355ea', true],
  [120, 'get_ns_current_pid_tgid', '5.7', 'b4490c5c4e02'],
  [121, 'xdp_output', '5.6', 'd831ee84bfc9', true],
  [122, 'get_netns_cookie', '5.7', 'f318903c0bf4'],
  [123, 'get_current_ancestor_cgroup_id', '5.6', 'b4490c5c4e02'],
  [124, 'sk_assign', '5.6', 'cf7fbe660f2d'],
  [125, 'ktime_get_boot_ns', '5.8', '71d19214776e'],
  [126, 'seq_printf', '5.7', '492e639f0c22', true],
  [127, 'seq_write', '5.7', '492e639f0c22', true],
  [128, 'sk_cgroup_id', '5.7', 'f307fa2cb4c9'],
  [129, 'sk_ancestor_cgroup_id', '5.7', 'f307fa2cb4c9'],
  [130, 'ringbuf_output', '5.8', '457f44363a88'],
  [131, 'ringbuf_reserve', '5.8', '457f44363a88'],
  [132, 'ringbuf_submit', '5.8', '457f44363a88'],
  [133, 'ringbuf_discard', '5.8', '457f44363a88'],
  [134, 'ringbuf_query', '5.8', '457f44363a88'],
  [135, 'csum_level', '5.7', '7cdec54f9713'],
  [136, 'skc_to_tcp6_sock', '5.9', 'af7ec1383361'],
  [137, 'skc_to_tcp_sock', '5.9', '478cfbdf5f13'],
  [138, 'skc_to_tcp_timewait_sock', '5.9', '478cfbdf5f13'],
  [139, 'skc_to_tcp_request_sock', '5.9', '478cfbdf5f13'],
  [140, 'skc_to_udp6_sock', '5.9', '0d4fad3e57df'],
  [141, 'get_task_stack', '5.9', 'fa28dcb82a38'],
  [142, 'load_hdr_opt', '5.10', '0813a841566f'],
  [143, 'store_hdr_opt', '5.10', '0813a841566f'],
  [144, 'reserve_hdr_opt', '5.10', '0813a841566f'],
  [145, 'inode_storage_get', '5.10', '8ea636848aca'],
  [146, 'inode_storage_delete', '5.10', '8ea636848aca'],
  [147, 'd_path', '5.10', '6e22ab9da793'],
  [148, 'copy_from_user', '5.10', '07be4c4a3e7a'],
  [149, 'snprintf_btf', '5.10', 'c4d0bfb45068'],
  [150, 'seq_printf_btf', '5.10', 'eb411377aed9'],
  [151, 'skb_cgroup_classid', '5.10', 'b426ce83baa7'],
  [152, 'redirect_neigh', '5.10', 'b4ab31414970'],
  [153, 'per_cpu_ptr', '5.10', 'eaa6bcb71ef6'],
  [154, 'this_cpu_ptr', '5.10', '63d9b80dcf2c'],
  [155, 'redirect_peer', '5.10', '9aa1206e8f48'],
  [156, 'task_storage_get', '5.11', '4cf1bc1f1045'],
  [157, 'task_storage_delete', '5.11', '4cf1bc1f1045'],
  [158, 'get_current_task_btf', '5.11', '3ca1032ab7ab', true],
  [159, 'bprm_opts_set', '5.11', '3f6719c7b62f'],
  [160, 'ktime_get_coarse_ns', '5.11', 'd05512618056'],
  [161, 'ima_inode_hash', '5.11', '27672f0d280a'],
  [162, 'sock_from_file', '5.11', '4f19cab76136'],
  [163, 'check_mtu', '5.12', '34b2021cc616'],
  [164, 'for_each_map_elem', '5.13', '69c087ba6225'],
  [165, 'snprintf', '5.13', '7b15523a989b'],
  [166, 'sys_bpf', '5.14', '79a7f8bdb159'],
  [167, 'btf_find_by_name_kind', '5.14', '3d78417b60fb'],
  [168, 'sys_close', '5.14', '3abea089246f'],
  [169, 'timer_init', '5.15', 'b00628b1c7d5'],
  [170, 'timer_set_callback', '5.15', 'b00628b1c7d5'],
  [171, 'timer_start', '5.15', 'b00628b1c7d5'],
  [172, 'timer_cancel', '5.15', 'b00628b1c7d5'],
  [173, 'get_func_ip', '5.15', '5d8b583d04ae'],
  [174, 'get_attach_cookie', '5.15', '7adfc6c9b315'],
  [175, 'task_pt_regs', '5.15', 'dd6e10fbd9f', true],
  [176, 'get_branch_snapshot', '5.16', '856c02dbce4f', true],
  [177, 'trace_vprintk', '5.16', '10aceb629e19', true],
  [178, 'skc_to_unix_sock', '5.16', '9eeb3aa33ae0'],
  [179, 'kallsyms_lookup_name', '5.16', 'd6aef08a872b'],
  [180, 'find_vma', '5.17', '7c7e3d31e785'],
  [181, 'loop', '5.17', 'e6f2dd0f8067'],
  [182, 'strncmp', '5.17', 'c5fb19937455'],
  [183, 'get_func_arg', '5.17', 'f92c1e183604'],
  [184, 'get_func_ret', '5.17', 'f92c1e183604'],
  [185, 'get_func_arg_cnt', '5.17', 'f92c1e183604'],
  [186, 'get_retval', '5.18', 'b44123b4a3dc'],
  [187, 'set_retval', '5.18', 'b44123b4a3dc'],
  [188, 'xdp_get_buff_len', '5.18', '0165cc817075'],
  [189, 'xdp_load_bytes', '5.18', '3f364222d032'],
  [190, 'xdp_store_bytes', '5.18', '3f364222d032'],
  [191, 'copy_from_user_task', '5.18', '376040e47334', true],
  [192, 'skb_set_tstamp', '5.18', '9bb984f28d5b'],
  [193, 'ima_file_hash', '5.18', '174b16946e39'],
  [194, 'kptr_xchg', '5.19', 'c0a5a21c25f3'],
  [195, 'map_lookup_percpu_elem', '5.19', '07343110b293'],
  [
    196,
    'skc_to_mptcp_sock',
    '5.19',
    '3bc253c2e652',
    false,
    'ebpf-docs timeline (not in bcc kernel-versions.md); commit 3bc253c2e652',
  ],
  [197, 'dynptr_from_mem', '5.19', '263ae152e962'],
  [198, 'ringbuf_reserve_dynptr', '5.19', 'bc34dee65a65'],
  [199, 'ringbuf_submit_dynptr', '5.19', 'bc34dee65a65'],
  [200, 'ringbuf_discard_dynptr', '5.19', 'bc34dee65a65'],
  [201, 'dynptr_read', '5.19', '13bbbfbea759'],
  [202, 'dynptr_write', '5.19', '13bbbfbea759'],
  [203, 'dynptr_data', '5.19', '34d4ef5775f7'],
  [204, 'tcp_raw_gen_syncookie_ipv4', '6.0', '33bf9885040c'],
  [205, 'tcp_raw_gen_syncookie_ipv6', '6.0', '33bf9885040c'],
  [206, 'tcp_raw_check_syncookie_ipv4', '6.0', '33bf9885040c'],
  [207, 'tcp_raw_check_syncookie_ipv6', '6.0', '33bf9885040c'],
  [208, 'ktime_get_tai_ns', '6.1', 'c8996c98f703'],
  [209, 'user_ringbuf_drain', '6.1', '205715673844'],
  [210, 'cgrp_storage_get', '6.2', 'c4bcfb38a95e'],
  [211, 'cgrp_storage_delete', '6.2', 'c4bcfb38a95e'],
];

export interface HelperFeature extends FeatureSince {
  id: number;
  /** Name as the kernel prints it, with the bpf_ prefix. */
  name: string;
  gplOnly: boolean;
}

// Where bcc and isovalent/ebpf-docs' timeline (docs/linux/timeline/index.md @18ec5e9, docs.ebpf.io)
// disagree, the timeline's later release is taken: helper ids are handed out in merge order, and with
// bcc's dates ids 110-135 would go back a release (e.g. seq_printf before BPF iterators, which bcc
// itself dates 5.8). For ids 1, 2 and 7 the timeline's 3.18/4.17 are not used: the 3.18 uapi only
// declared them, and 4.17 is a later change to get_prandom_u32, which 4.1 already had.
const TIMELINE_DIFFERS = new Set([1, 2, 7]);
const HELPER_FIXES: Readonly<Record<number, readonly [KernelVersion, string]>> = {
  110: ['5.4', '70d66244317e'],
  116: ['5.6', '206057fe020a'],
  117: ['5.6', '8482941f0906'],
  118: ['5.6', '5576b991e9c1'],
  119: ['5.7', 'fff7b64355ea'],
  121: ['5.7', 'd831ee84bfc9'],
  123: ['5.7', '0f09abd105da'],
  124: ['5.7', 'cf7fbe660f2d'],
  126: ['5.8', '492e639f0c22'],
  127: ['5.8', '492e639f0c22'],
  128: ['5.8', 'f307fa2cb4c9'],
  129: ['5.8', 'f307fa2cb4c9'],
  135: ['5.8', '7cdec54f9713'],
};

function helperFrom([id, name, since, commit, gpl, note]: HelperRow): HelperFeature {
  const fix = HELPER_FIXES[id];
  const source = fix
    ? `${TIMELINE} ${fix[0]} (bcc says ${since}); commit ${fix[1]}`
    : (note ?? `${BCC}; ${TIMELINE_DIFFERS.has(id) ? '' : `${TIMELINE} agrees; `}commit ${commit}`);
  return { id, name: `bpf_${name}`, since: fix ? fix[0] : since, gplOnly: gpl === true, source };
}

/** Helpers by id (kernel: enum bpf_func_id); ids are assigned in order of introduction. */
export const HELPERS: ReadonlyMap<number, HelperFeature> = new Map(
  HELPER_ROWS.map((r) => [r[0], helperFrom(r)]),
);

/** kernel: enum bpf_prog_type, by the lower-case names of src/elf/sections.ts PROG_TYPES. Every release here agrees with ebpf-docs' timeline. */
export const PROG_TYPES_SINCE: Readonly<Record<string, FeatureSince>> = {
  socket_filter: { since: '3.19', source: `${BCC}; commit ddd872bc3098` },
  kprobe: { since: '4.1', source: `${BCC}; commit 2541517c32be` },
  sched_cls: { since: '4.1', source: `${BCC}; commit 96be4325f443` },
  sched_act: { since: '4.1', source: `${BCC}; commit 94caee8c312d` },
  tracepoint: { since: '4.7', source: `${BCC}; commit 98b5c2c65c29` },
  xdp: { since: '4.8', source: `${BCC}; commit 6a773a15a1e8` },
  perf_event: { since: '4.9', source: `${BCC}; commit 0515e5999a46` },
  cgroup_skb: { since: '4.10', source: `${BCC}; commit 0e33661de493` },
  cgroup_sock: { since: '4.10', source: `${BCC}; commit 610236587600` },
  lwt_in: { since: '4.10', source: `${BCC}; commit 3a0af8fd61f9` },
  lwt_out: { since: '4.10', source: `${BCC}; commit 3a0af8fd61f9` },
  lwt_xmit: { since: '4.10', source: `${BCC}; commit 3a0af8fd61f9` },
  sock_ops: { since: '4.13', source: `${BCC}; commit 40304b2a1567` },
  sk_skb: { since: '4.14', source: `${BCC}; commit b005fd189cec` },
  cgroup_device: { since: '4.15', source: `${BCC}; commit ebc614f68736` },
  sk_msg: { since: '4.17', source: `${BCC}; commit 4f738adba30a` },
  raw_tracepoint: { since: '4.17', source: `${BCC}; commit c4f6699dfcb8` },
  cgroup_sock_addr: { since: '4.17', source: `${BCC}; commit 4fbac77d2d09` },
  lwt_seg6local: { since: '4.18', source: `${BCC}; commit 004d4b274e2a` },
  lirc_mode2: { since: '4.18', source: `${BCC}; commit f4364dcfc86d` },
  sk_reuseport: { since: '4.19', source: `${BCC}; commit 2dbb9b9e6df6` },
  flow_dissector: { since: '4.20', source: `${BCC}; commit d58e468b1112` },
  cgroup_sysctl: { since: '5.2', source: `${BCC}; commit 7b146cebe30c` },
  raw_tracepoint_writable: { since: '5.2', source: `${BCC}; commit 9df1c28bb752` },
  cgroup_sockopt: { since: '5.3', source: `${BCC}; commit 0d01da6afc54` },
  tracing: { since: '5.5', source: `${BCC}; commit f1b9509c2fb0` },
  struct_ops: { since: '5.6', source: `${BCC}; commit 27ae7997a661` },
  ext: { since: '5.6', source: `${BCC}; commit be8704ff07d2` },
  lsm: { since: '5.7', source: `${BCC}; commit fc611f47f218` },
  sk_lookup: { since: '5.9', source: `${BCC}; commit e9ddbb7707ff` },
  // bcc's program-type table says 5.15, but its helper table dates the same commit (bpf_sys_bpf) at 5.14.
  syscall: {
    since: '5.14',
    source: `${CILIUM} features/prog.go; ${BCC} (helper sys_bpf; its program-type table says 5.15); commit 79a7f8bdb159`,
  },
  netfilter: { since: '6.4', source: `${CILIUM} features/prog.go; commit 84601d6ee68a` },
};

/** kernel: enum bpf_map_type, by the lower-case names of src/elf/map-types.ts MAP_TYPES. Every release here agrees with ebpf-docs' timeline. */
export const MAP_TYPES_SINCE: Readonly<Record<string, FeatureSince>> = {
  hash: { since: '3.19', source: `${BCC}; commit 0f8e4bd8a1fc` },
  array: { since: '3.19', source: `${BCC}; commit 28fbcfa08d8e` },
  prog_array: { since: '4.2', source: `${BCC}; commit 04fd61ab36ec` },
  perf_event_array: { since: '4.3', source: `${BCC}; commit ea317b267e9d` },
  percpu_hash: { since: '4.6', source: `${BCC}; commit 824bd0ce6c7c` },
  percpu_array: { since: '4.6', source: `${BCC}; commit a10423b87a7e` },
  stack_trace: { since: '4.6', source: `${BCC}; commit d5a3b1f69186` },
  cgroup_array: { since: '4.8', source: `${BCC}; commit 4ed8ec521ed5` },
  lru_hash: { since: '4.10', source: `${BCC}; commit 29ba732acbee` },
  lru_percpu_hash: { since: '4.10', source: `${BCC}; commit 8f8449384ec3` },
  lpm_trie: { since: '4.11', source: `${BCC}; commit b95a5c4db09b` },
  array_of_maps: { since: '4.12', source: `${BCC}; commit 56f668dfe00d` },
  hash_of_maps: { since: '4.12', source: `${BCC}; commit bcc6b1b7ebf8` },
  devmap: { since: '4.14', source: `${BCC}; commit 546ac1ffb70d` },
  sockmap: { since: '4.14', source: `${BCC}; commit 174a79ff9515` },
  cpumap: { since: '4.15', source: `${BCC}; commit 6710e1126934` },
  xskmap: { since: '4.18', source: `${BCC}; commit fbfc504a24f5` },
  sockhash: { since: '4.18', source: `${BCC}; commit 81110384441a` },
  cgroup_storage: { since: '4.19', source: `${BCC}; commit de9cbbaadba5` },
  reuseport_sockarray: { since: '4.19', source: `${BCC}; commit 5dc4c4b7d4e8` },
  percpu_cgroup_storage: { since: '4.20', source: `${BCC}; commit b741f1630346` },
  queue: { since: '4.20', source: `${BCC}; commit f1a2e44a3aec` },
  stack: { since: '4.20', source: `${BCC}; commit f1a2e44a3aec` },
  sk_storage: { since: '5.2', source: `${BCC}; commit 6ac99e8f23d4` },
  devmap_hash: { since: '5.4', source: `${BCC}; commit 6f9d451ab1a3` },
  struct_ops: { since: '5.6', source: `${BCC}; commit 85d33df357b6` },
  ringbuf: { since: '5.8', source: `${BCC}; commit 457f44363a88` },
  inode_storage: { since: '5.10', source: `${BCC}; commit 8ea636848aca` },
  task_storage: { since: '5.11', source: `${BCC}; commit 4cf1bc1f1045` },
  bloom_filter: { since: '5.16', source: `${BCC}; commit 9330986c0300` },
  user_ringbuf: { since: '6.1', source: `${BCC}; commit 583c1f420173` },
  // Same commit as the bpf_cgrp_storage_get/delete helpers, which bcc dates 6.2.
  cgrp_storage: {
    since: '6.2',
    source: `${CILIUM} features/map.go; ${BCC} (helpers cgrp_storage_get/delete); commit c4bcfb38a95e`,
  },
  arena: {
    since: '6.9',
    source: `${CILIUM} features/map.go; commit 317460317a02 ("bpf: Introduce bpf_arena.")`,
  },
};

/** Map creation flags (kernel: BPF_F_* for BPF_MAP_CREATE), by bit; bit 14 (BPF_F_PATH_FD) is for BPF_OBJ_PIN. */
export const MAP_FLAGS_SINCE: readonly (FeatureSince & { bit: number; name: string })[] = [
  {
    bit: 1 << 0,
    name: 'BPF_F_NO_PREALLOC',
    since: '4.6',
    source: `${CILIUM} features/map.go; ${MAP_CREATE_DOC}; commit 6c9059817432`,
  },
  {
    bit: 1 << 1,
    name: 'BPF_F_NO_COMMON_LRU',
    since: '4.10',
    source: `${MAP_CREATE_DOC}; commit 29ba732acbee`,
  },
  { bit: 1 << 2, name: 'BPF_F_NUMA_NODE', since: '4.14', source: `${MAP_CREATE_DOC}; commit 96eabe7a40aa` },
  { bit: 1 << 3, name: 'BPF_F_RDONLY', since: '4.15', source: `${MAP_CREATE_DOC}; commit 6e71b04a8224` },
  { bit: 1 << 4, name: 'BPF_F_WRONLY', since: '4.15', source: `${MAP_CREATE_DOC}; commit 6e71b04a8224` },
  {
    bit: 1 << 5,
    name: 'BPF_F_STACK_BUILD_ID',
    since: '4.17',
    source: `${MAP_CREATE_DOC}; commit 615755a77b24`,
  },
  { bit: 1 << 6, name: 'BPF_F_ZERO_SEED', since: '5.0', source: `${MAP_CREATE_DOC}; commit 96b3b6c9091d` },
  {
    bit: 1 << 7,
    name: 'BPF_F_RDONLY_PROG',
    since: '5.2',
    source: `${CILIUM} features/map.go; ${MAP_CREATE_DOC}; commit 591fe9888d78`,
  },
  {
    bit: 1 << 8,
    name: 'BPF_F_WRONLY_PROG',
    since: '5.2',
    source: `${CILIUM} features/map.go; ${MAP_CREATE_DOC}; commit 591fe9888d78`,
  },
  { bit: 1 << 9, name: 'BPF_F_CLONE', since: '5.4', source: `${MAP_CREATE_DOC}; commit 8f51dfc73bf1` },
  {
    bit: 1 << 10,
    name: 'BPF_F_MMAPABLE',
    since: '5.5',
    source: `${CILIUM} features/map.go; ${MAP_CREATE_DOC}; commit fc9702273e2e`,
  },
  {
    bit: 1 << 11,
    name: 'BPF_F_PRESERVE_ELEMS',
    since: '5.10',
    source: `${MAP_CREATE_DOC}; commit 792caccc4526`,
  },
  {
    bit: 1 << 12,
    name: 'BPF_F_INNER_MAP',
    since: '5.10',
    source: `${CILIUM} features/map.go; ${MAP_CREATE_DOC}; commit 4a8f87e60f6d`,
  },
  { bit: 1 << 13, name: 'BPF_F_LINK', since: '6.4', source: `${MAP_CREATE_DOC}; commit 68b04864ca42` },
  {
    bit: 1 << 15,
    name: 'BPF_F_VTYPE_BTF_OBJ_FD',
    since: '6.9',
    source: `${MAP_CREATE_DOC}; commit fcc2c1fb0651`,
  },
  { bit: 1 << 16, name: 'BPF_F_TOKEN_FD', since: '6.9', source: `${MAP_CREATE_DOC}; commit a177fc2bf6fd` },
  {
    bit: 1 << 17,
    name: 'BPF_F_SEGV_ON_FAULT',
    since: '6.9',
    source: `${MAP_CREATE_DOC}; commit 317460317a02`,
  },
  {
    bit: 1 << 18,
    name: 'BPF_F_NO_USER_CONV',
    since: '6.9',
    source: `${MAP_CREATE_DOC}; commit 317460317a02`,
  },
];

/** Instruction-set and verifier capabilities (what the scan detects in instructions or program layout). */
export const CAPABILITIES = {
  jmpExtended: {
    since: '4.14',
    source: `${CILIUM} features/misc.go (v2 ISA); commit 92b31a9af73b ("bpf: add BPF_J{LT,LE,SLT,SLE} instructions")`,
  },
  bpfToBpfCalls: {
    since: '4.16',
    source: `${CILIUM} syscalls.go; ${BCC} (bpf2bpf function calls); commit cc8b0b92a169`,
  },
  btf: { since: '4.18', source: `${BCC}; commit 69b693f0aefa` },
  vmlinuxBtf: {
    since: '5.4',
    source:
      'commit 341dfcf8d78e ("btf: expose BTF info through sysfs"): /sys/kernel/btf/vmlinux for CO-RE; older kernels need external BTF; unverified',
  },
  jmp32: {
    since: '5.1',
    source: `${CILIUM} features/misc.go (v3 ISA); commit 092ed0968bb6 ("bpf: verifier support JMP32")`,
  },
  spinLock: { since: '5.1', source: `${BCC} (helper spin_lock); commit d83525ca62cf` },
  globalData: {
    since: '5.2',
    source:
      'commit d8eca5bbb2be ("bpf: implement lookup-free direct value access for maps"); BPF_PSEUDO_MAP_VALUE',
  },
  largeInsnLimit: {
    since: '5.2',
    source: `${CILIUM} features/misc.go (>4096 instructions); ${BCC}; commit c04c0d2b968a`,
  },
  boundedLoops: { since: '5.3', source: `${CILIUM} features/misc.go; ${BCC}; commit 2589726d12a1` },
  globalFunctions: {
    since: '5.6',
    source: `ebpf-docs functions.md, verifier.md; commit 51c39bb1d5d1 ("bpf: Introduce function-by-function verification")`,
  },
  sleepable: { since: '5.10', source: `${BCC}; ${TIMELINE} (BPF_F_SLEEPABLE); commit 1e6c62a88215` },
  tailCallsInSubprogs: {
    since: '5.10',
    source: `${BCC}; ebpf-docs functions.md (x86-64; arm64 6.0, s390 6.3, loongarch 6.4); commit e411901c0b77`,
  },
  ksymTyped: {
    since: '5.10',
    source: 'commit 4976b718c355 ("bpf: Introduce pseudo_btf_id"); BPF_PSEUDO_BTF_ID; unverified',
  },
  atomics: {
    since: '5.12',
    source:
      'commits 5ffa25502b5a ("bpf: Add instructions for atomic_[cmp]xchg"), 981f94c3e921 ("bpf: Add bitwise atomic instructions"); release inferred from their lore links (2021-01-14, after the 5.11 merge window)',
  },
  pseudoFunc: {
    since: '5.13',
    source:
      'ebpf-docs functions.md (callbacks); commit 69c087ba6225 ("bpf: Add bpf_for_each_map_elem() helper") adds BPF_PSEUDO_FUNC',
  },
  kfuncCalls: {
    since: '5.13',
    source: 'ebpf-docs kfuncs.md; commit e6ac2450d6de ("bpf: Support bpf program calling kernel function")',
  },
  fdArray: { since: '5.14', source: 'ebpf-docs BPF_PROG_LOAD.md (fd_array); commit 387544bfa291' },
  bpfTimer: { since: '5.15', source: `${BCC} (helper timer_init); ebpf-docs timers.md; commit b00628b1c7d5` },
  bpfLoop: { since: '5.17', source: `${BCC} (helper loop); commit e6f2dd0f8067` },
  xdpFrags: {
    since: '5.18',
    source: `${TIMELINE} (BPF_F_XDP_HAS_FRAGS); ebpf-docs BPF_PROG_TYPE_XDP.md; commit c2f2cdbeffda`,
  },
  openCodedIterators: {
    since: '6.4',
    source: `ebpf-docs loops.md; ${TIMELINE} (bpf_iter_num_new); commit 06accc8779c1`,
  },
  cpuV4: {
    since: '6.6',
    source: `${CILIUM} features/misc.go (v4 ISA: sign-extending load/mov, bswap, sdiv/smod, gotol); commit 1f9a1ea821ff ("bpf: Support new sign-extension load insns")`,
  },
  mayGoto: {
    since: '6.9',
    source: 'commit 011832b97b31 ("bpf: Introduce may_goto instruction"); unverified',
  },
  arenaCast: {
    since: '6.9',
    source: 'commit 6082b6c328b5 ("bpf: Recognize addr_space_cast instruction in the verifier."); unverified',
  },
  loadAcquireStoreRelease: {
    since: '6.15',
    source: 'commit 880442305a39 ("bpf: Introduce load-acquire and store-release instructions"); unverified',
  },
} as const satisfies Record<string, FeatureSince>;

export type Capability = keyof typeof CAPABILITIES;

/** Program-size and complexity limits (kernel: BPF_MAXINSNS, BPF_COMPLEXITY_LIMIT_INSNS). */
export const LIMITS = {
  /** Instructions in one program, privileged loader. 4096 (BPF_MAXINSNS) until 5.2, then 1M. */
  maxInsns: [
    { until: '5.2', value: 4096, source: 'include/uapi/linux/bpf_common.h BPF_MAXINSNS' },
    { until: undefined, value: 1_000_000, source: `${BCC} (BPF 1M insn limit); commit c04c0d2b968a` },
  ],
  /** Instructions the verifier may process. 131072 from 4.14 (unverified for earlier) until 5.2, then 1M. */
  maxProcessedInsns: [
    {
      until: '5.2',
      value: 131_072,
      source:
        'ebpf-docs verifier.md (4096-insn program and 128k processed-insn limits until 5.2); commit c04c0d2b968a',
    },
    { until: undefined, value: 1_000_000, source: `${BCC}; commit c04c0d2b968a` },
  ],
} as const;

/** A context field by byte range; fields outside every listed range are unknown to us. */
export interface CtxField extends FeatureSince {
  name: string;
  off: number;
  size: number;
}

// Offsets are from the current uapi struct (checked with offsetof against linux/bpf.h of 6.x);
// fields only ever get appended, so an older kernel rejects any offset at or past its struct end.
/** kernel: struct __sk_buff. Releases and commits from ebpf-docs docs/linux/program-context/__sk_buff.md. */
export const SK_BUFF_FIELDS: readonly CtxField[] = [
  {
    name: 'len .. data_end',
    off: 0,
    size: 84,
    since: '4.7',
    source: `${BCC} (direct packet access 4.7; ${SK_DOC} tags data/data_end 4.4); commit 969bf05eb3ce; other fields 4.1-4.4 per ${SK_DOC}`,
  },
  { name: 'napi_id', off: 84, size: 4, since: '4.12', source: `${SK_DOC}; commit b1d9fc41aab1` },
  {
    name: 'family .. local_port',
    off: 88,
    size: 52,
    since: '4.14',
    source: `${SK_DOC}; commit 8a31db561566`,
  },
  { name: 'data_meta', off: 140, size: 4, since: '4.15', source: `${SK_DOC}; commit de8f3a83b0a0` },
  { name: 'flow_keys', off: 144, size: 8, since: '4.20', source: `${SK_DOC}; commit d58e468b1112` },
  { name: 'tstamp', off: 152, size: 8, since: '5.0', source: `${SK_DOC}; commit f11216b24219` },
  { name: 'wire_len', off: 160, size: 4, since: '5.0', source: `${SK_DOC}; commit e3da08d05700` },
  { name: 'gso_segs', off: 164, size: 4, since: '5.1', source: `${SK_DOC}; commit d9ff286a0f59` },
  { name: 'sk', off: 168, size: 8, since: '5.1', source: `${SK_DOC}; commit 46f8bc92758c` },
  { name: 'gso_size', off: 176, size: 4, since: '5.7', source: `${SK_DOC}; commit cf62089b0edd` },
  { name: 'tstamp_type', off: 180, size: 1, since: '5.18', source: `${SK_DOC}; commit 9bb984f28d5b` },
  { name: 'hwtstamp', off: 184, size: 8, since: '5.16', source: `${SK_DOC}; commit f64c4acea51f` },
];

/** kernel: struct xdp_md. Releases and commits from ebpf-docs docs/linux/program-type/BPF_PROG_TYPE_XDP.md. */
export const XDP_MD_FIELDS: readonly CtxField[] = [
  { name: 'data', off: 0, size: 4, since: '4.8', source: `${XDP_DOC}; commit 6a773a15a1e8` },
  { name: 'data_end', off: 4, size: 4, since: '4.8', source: `${XDP_DOC}; commit 6a773a15a1e8` },
  { name: 'data_meta', off: 8, size: 4, since: '4.15', source: `${XDP_DOC}; commit de8f3a83b0a0` },
  // xdp-project/xdp-tutorial#97: on 4.15, ctx->ingress_ifindex fails with "invalid bpf_context access off=12".
  { name: 'ingress_ifindex', off: 12, size: 4, since: '4.16', source: `${XDP_DOC}; commit 02dd3291b2f0` },
  { name: 'rx_queue_index', off: 16, size: 4, since: '4.16', source: `${XDP_DOC}; commit 02dd3291b2f0` },
  { name: 'egress_ifindex', off: 20, size: 4, since: '5.8', source: `${XDP_DOC}; commit 64b59025c15b` },
];

/** Program types whose context is struct __sk_buff (kernel: *_is_valid_access() on __sk_buff). */
export const SK_BUFF_PROG_TYPES: readonly string[] = [
  'socket_filter',
  'sched_cls',
  'sched_act',
  'cgroup_skb',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
  'lwt_seg6local',
  'sk_skb',
  'flow_dissector',
];

/** Kernel releases tsbpf profiles by default (LTS lines plus the running kernel). */
export const KERNEL_VERSIONS = ['4.19', '5.4', '5.10', '5.15', '6.1', '6.6', '6.12', '6.18'] as const;
export type ProfiledVersion = (typeof KERNEL_VERSIONS)[number];

/** Compare "a.b" releases numerically: negative when a is older. */
export function compareVersions(a: string, b: string): number {
  const [aMaj = 0, aMin = 0] = a.split('.').map(Number);
  const [bMaj = 0, bMin = 0] = b.split('.').map(Number);
  return aMaj !== bMaj ? aMaj - bMaj : aMin - bMin;
}

/** True when release `version` has a feature that appeared in `since`. */
export const hasFeature = (version: string, since: string): boolean => compareVersions(version, since) >= 0;
