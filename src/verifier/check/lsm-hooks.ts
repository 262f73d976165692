// Facts about LSM hooks the verifier needs (kernel: kernel/bpf/bpf_lsm.c), by hook name as in
// the section (lsm/file_open → 'file_open').

/** Hooks that may sleep: bpf_d_path() is allowed in them (kernel: sleepable_lsm_hooks). */
const SLEEPABLE = new Set(
  (
    'bpf bpf_map bpf_map_create bpf_map_free bpf_prog bpf_prog_load bpf_prog_free bpf_token_create ' +
    'bpf_token_free bpf_token_cmd bpf_token_capable bprm_check_security bprm_committed_creds ' +
    'bprm_committing_creds bprm_creds_for_exec bprm_creds_from_file capget capset cred_prepare ' +
    'file_ioctl file_lock file_open file_post_open file_receive inode_create inode_free_security ' +
    'inode_getattr inode_getxattr inode_mknod inode_need_killpriv inode_post_setxattr ' +
    'inode_post_removexattr inode_readlink inode_removexattr inode_rename inode_rmdir inode_setattr ' +
    'inode_setxattr inode_symlink inode_unlink kernel_module_request kernel_read_file ' +
    'kernfs_init_security path_unlink path_mkdir path_rmdir path_truncate path_symlink path_link ' +
    'path_rename path_chmod path_chown mmap_file netlink_send path_notify release_secctx ' +
    'sb_alloc_security sb_eat_lsm_opts sb_kern_mount sb_mount sb_remount sb_set_mnt_opts ' +
    'sb_show_options sb_statfs sb_umount settime inet_conn_established socket_accept socket_bind ' +
    'socket_connect socket_create socket_getpeername socket_getpeersec_dgram socket_getsockname ' +
    'socket_getsockopt socket_listen socket_post_create socket_recvmsg socket_sendmsg ' +
    'socket_shutdown socket_socketpair syslog task_alloc task_prctl task_setscheduler ' +
    'task_to_inode userns_create'
  ).split(' '),
);

/** Hooks whose arguments are not trusted (kernel: untrusted_lsm_hooks). */
const UNTRUSTED = new Set([
  'bpf_map_free',
  'bpf_prog_free',
  'file_alloc_security',
  'file_free_security',
  'sk_alloc_security',
  'sk_free_security',
  'task_free',
]);

/** kernel: bpf_lsm_is_sleepable_hook() */
export const isSleepableLsmHook = (hook: string): boolean => SLEEPABLE.has(hook);
/** kernel: bpf_lsm_is_trusted() */
export const isTrustedLsmHook = (hook: string): boolean => !UNTRUSTED.has(hook);

/**
 * Hooks returning int used as a boolean: programs on them return 0 or 1, all other int hooks
 * 0 or a negative errno (kernel: bool_lsm_hooks, bpf_lsm_get_retval_range()).
 */
const BOOL = new Set(['xfrm_state_pol_flow_match', 'audit_rule_known', 'inode_xattr_skipcap']);
export const isBoolLsmHook = (hook: string): boolean => BOOL.has(hook);
