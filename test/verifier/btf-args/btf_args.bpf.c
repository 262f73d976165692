// Programs whose ctx or helper arguments are typed by the kernel's BTF: tp_btf, fentry/fexit/
// fmod_ret and lsm arguments (kernel: btf_ctx_access() on the attach point's prototype),
// bpf_get_current_task_btf(), bpf_d_path() and bpf_copy_from_user_task(). Each is accepted or
// refused by Linux for one reason; btf-args.test.ts checks tsbpf's verdict and message against
// the kernel's (kobj, which resolves the attach points in /sys/kernel/btf/vmlinux) where the
// kernel loads the program type at all.
// Rebuild: test/verifier/btf-args/build.sh
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// kernel structs, relocated against vmlinux (CO-RE)
struct path {
  void *mnt;
  void *dentry;
} __attribute__((preserve_access_index));

struct inode {
  unsigned long i_ino;
} __attribute__((preserve_access_index));

struct file {
  unsigned int f_flags;
  struct path f_path;
  struct inode *f_inode;
} __attribute__((preserve_access_index));

struct task_struct {
  int pid;
  int tgid;
} __attribute__((preserve_access_index));

// fentry/security_file_open(struct file *file): arg 0 is an (untrusted) ptr_file
SEC("fentry/security_file_open")
int fentry_ok(__u64 *ctx) {
  struct file *f = (struct file *)ctx[0];
  volatile unsigned int flags = f->f_flags;
  (void)flags;
  return 0; // fentry must return 0
}

SEC("fentry/security_file_open")
int fentry_walk(__u64 *ctx) {
  struct file *f = (struct file *)ctx[0];
  struct inode *i = f->f_inode;
  volatile unsigned long ino = i->i_ino; // pointer walk: the compat rule gives ptr_inode
  (void)ino;
  return 0;
}

SEC("fentry/security_file_open")
int fentry_no_arg1(__u64 *ctx) {
  volatile __u64 x = ctx[1];
  (void)x;
  return 0;
}

SEC("fentry/security_file_open")
int fentry_off4(__u64 *ctx) {
  volatile __u32 x = *(__u32 *)((char *)ctx + 4);
  (void)x;
  return 0;
}

SEC("fentry/security_file_open")
int fentry_ptr_size4(__u64 *ctx) {
  volatile __u32 x = *(__u32 *)ctx;
  (void)x;
  return 0;
}

SEC("fentry/security_file_open")
int fentry_write_ctx(__u64 *ctx) {
  *(volatile __u64 *)ctx = 0;
  return 0;
}

SEC("fentry/security_file_open")
int fentry_write_btf(__u64 *ctx) {
  struct file *f = (struct file *)ctx[0];
  f->f_flags = 1;
  return 0;
}

SEC("fentry/security_file_open")
int fentry_beyond(__u64 *ctx) {
  char *f = (char *)ctx[0];
  volatile __u64 x = *(__u64 *)(f + 100000);
  (void)x;
  return 0;
}

// vfs_read(struct file *, char *buf, size_t count, loff_t *pos): buf and pos point to
// non-structs (scalars), count is a scalar; fexit adds the return value as arg 4
SEC("fentry/vfs_read")
int fentry_scalar_args(__u64 *ctx) {
  volatile __u32 count = *(__u32 *)(ctx + 2); // a 4-byte read of a scalar argument is fine
  volatile __u64 buf = ctx[1];
  (void)count;
  (void)buf;
  return 0;
}

SEC("fentry/vfs_read")
int fentry_deref_scalar(__u64 *ctx) {
  char *buf = (char *)ctx[1];
  volatile char c = *buf;
  (void)c;
  return 0;
}

SEC("fexit/vfs_read")
int fexit_ret_ok(__u64 *ctx) {
  volatile long ret = (long)ctx[4];
  (void)ret;
  return 0;
}

SEC("fentry/vfs_read")
int fentry_no_ret(__u64 *ctx) {
  volatile long ret = (long)ctx[4];
  (void)ret;
  return 0;
}

SEC("fexit/vfs_read")
int fexit_past_ret(__u64 *ctx) {
  volatile long x = (long)ctx[5];
  (void)x;
  return 0;
}

SEC("fmod_ret/security_file_open")
int fmod_ret_ok(__u64 *ctx) {
  struct file *f = (struct file *)ctx[0];
  int prev = (int)ctx[1];
  volatile unsigned int flags = f->f_flags;
  (void)flags;
  return prev;
}

// lsm/file_open(struct file *file) with the previous hook's return value after it; trusted
SEC("lsm/file_open")
int lsm_ok(__u64 *ctx) {
  struct file *f = (struct file *)ctx[0];
  int ret = (int)ctx[1];
  volatile unsigned int flags = f->f_flags;
  (void)flags;
  return ret;
}

SEC("fentry/security_file_open")
int task_btf_ok(__u64 *ctx) {
  struct task_struct *t = bpf_get_current_task_btf();
  volatile int pid = t->pid;
  (void)pid;
  return 0;
}

SEC("tp_btf/sched_switch")
int task_btf_write(__u64 *ctx) {
  struct task_struct *t = bpf_get_current_task_btf();
  t->tgid = 0;
  return 0;
}

SEC("xdp")
int task_btf_in_xdp(struct xdp_md *ctx) {
  struct task_struct *t = bpf_get_current_task_btf();
  return t->pid & 1 ? XDP_PASS : XDP_DROP;
}

// tp_btf/sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
// unsigned int prev_state): the same btf_ctx_access() rules, arguments trusted
SEC("tp_btf/sched_switch")
int tp_ok(__u64 *ctx) {
  volatile __u32 preempt = *(__u32 *)ctx; // a scalar argument may be read in 4 bytes
  struct task_struct *next = (struct task_struct *)ctx[2];
  volatile int pid = next->pid;
  (void)preempt;
  (void)pid;
  return 0;
}

SEC("tp_btf/sched_switch")
int tp_off4(__u64 *ctx) {
  volatile __u32 x = *(__u32 *)((char *)ctx + 4);
  (void)x;
  return 0;
}

SEC("tp_btf/sched_switch")
int tp_ptr_size4(__u64 *ctx) {
  volatile __u32 x = *(__u32 *)(ctx + 1);
  (void)x;
  return 0;
}

SEC("tp_btf/sched_switch")
int tp_no_arg5(__u64 *ctx) {
  volatile __u64 x = ctx[4];
  (void)x;
  return 0;
}

SEC("tp_btf/sched_switch")
int tp_off_past_args(__u64 *ctx) {
  volatile __u64 x = ctx[12];
  (void)x;
  return 0;
}

SEC("tp_btf/sched_switch")
int tp_write_ctx(__u64 *ctx) {
  ctx[3] = 0;
  return 0;
}

// console(const char *text, size_t len): a pointer to a non-struct is a scalar
SEC("tp_btf/console")
int tp_char_ptr(__u64 *ctx) {
  const char *text = (const char *)ctx[0];
  return *text;
}

SEC("tp_btf/sched_switch")
int tp_task_btf(__u64 *ctx) {
  struct task_struct *t = bpf_get_current_task_btf();
  volatile int pid = t->pid;
  (void)pid;
  return 0;
}

// bpf_d_path(): a struct path, only from iterators and the kernel's allowlist of attach points
struct bpf_iter_meta;
struct bpf_iter__task_file {
  struct bpf_iter_meta *meta;
  struct task_struct *task;
  __u32 fd;
  struct file *file;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
  struct bpf_iter_meta *meta;
  struct task_struct *task;
} __attribute__((preserve_access_index));

SEC("iter/task_file")
int d_path_ok(struct bpf_iter__task_file *ctx) {
  struct file *f = ctx->file;
  char buf[64];
  if (!f) return 0;
  bpf_d_path(&f->f_path, buf, sizeof(buf));
  return 0;
}

SEC("iter/task_file")
int d_path_null_file(struct bpf_iter__task_file *ctx) {
  char buf[64];
  bpf_d_path((struct path *)ctx->file, buf, sizeof(buf));
  return 0;
}

SEC("iter/task_file")
int d_path_wrong_type(struct bpf_iter__task_file *ctx) {
  struct file *f = ctx->file;
  char buf[64];
  if (!f) return 0;
  bpf_d_path((struct path *)f, buf, sizeof(buf));
  return 0;
}

SEC("iter/task_file")
int d_path_scalar(struct bpf_iter__task_file *ctx) {
  char buf[64];
  bpf_d_path((struct path *)(unsigned long)ctx->fd, buf, sizeof(buf));
  return 0;
}

SEC("iter/task_file")
int d_path_small_buf(struct bpf_iter__task_file *ctx) {
  struct file *f = ctx->file;
  char buf[8];
  if (!f) return 0;
  bpf_d_path(&f->f_path, buf, 16);
  return 0;
}

SEC("tp_btf/sched_switch")
int d_path_not_allowed(__u64 *ctx) {
  char buf[64];
  bpf_d_path((struct path *)0, buf, sizeof(buf));
  return 0;
}

SEC("xdp")
int d_path_in_xdp(struct xdp_md *ctx) {
  char buf[64];
  bpf_d_path((struct path *)0, buf, sizeof(buf));
  return XDP_PASS;
}

// bpf_copy_from_user_task(): sleepable programs only, a task_struct pointer
SEC("iter.s/task")
int copy_task_ok(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  char buf[16];
  if (!t) return 0;
  bpf_copy_from_user_task(buf, sizeof(buf), (void *)0x1000, t, 0);
  return 0;
}

SEC("iter.s/task")
int copy_task_current(struct bpf_iter__task *ctx) {
  char buf[16];
  bpf_copy_from_user_task(buf, sizeof(buf), (void *)0x1000, bpf_get_current_task_btf(), 0);
  return 0;
}

SEC("iter/task")
int copy_task_not_sleepable(struct bpf_iter__task *ctx) {
  char buf[16];
  bpf_copy_from_user_task(buf, sizeof(buf), (void *)0x1000, bpf_get_current_task_btf(), 0);
  return 0;
}

SEC("iter.s/task")
int copy_task_null_task(struct bpf_iter__task *ctx) {
  char buf[16];
  bpf_copy_from_user_task(buf, sizeof(buf), (void *)0x1000, ctx->task, 0);
  return 0;
}

SEC("iter.s/task_file")
int copy_task_wrong_type(struct bpf_iter__task_file *ctx) {
  struct file *f = ctx->file;
  char buf[16];
  if (!f) return 0;
  bpf_copy_from_user_task(buf, sizeof(buf), (void *)0x1000, (struct task_struct *)f, 0);
  return 0;
}

SEC("iter.s/task")
int copy_task_scalar(struct bpf_iter__task *ctx) {
  char buf[16];
  bpf_copy_from_user_task(buf, sizeof(buf), (void *)0x1000, (struct task_struct *)0x1000, 0);
  return 0;
}

// loads through map pointers: a PTR_TO_BTF_ID to the map type's kernel struct, read-only
struct bpf_map {
  __u32 max_entries;
  __u32 key_size;
} __attribute__((preserve_access_index));

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 7);
  __type(key, __u32);
  __type(value, __u64);
} arr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} rb SEC(".maps");

SEC("xdp")
int map_ptr_ok(struct xdp_md *ctx) {
  struct bpf_map *m = (struct bpf_map *)&arr;
  return m->max_entries == 7 && m->key_size == 4 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int map_ptr_ringbuf(struct xdp_md *ctx) {
  struct bpf_map *m = (struct bpf_map *)&rb;
  return m->max_entries > 4096 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int map_ptr_write(struct xdp_md *ctx) {
  struct bpf_map *m = (struct bpf_map *)&arr;
  m->max_entries = 1;
  return XDP_PASS;
}

SEC("xdp")
int map_ptr_negative(struct xdp_md *ctx) {
  return *((volatile __u32 *)&arr - 2) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int map_ptr_beyond(struct xdp_md *ctx) {
  return *((volatile __u64 *)&arr + 100000) ? XDP_PASS : XDP_DROP;
}
