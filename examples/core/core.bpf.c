// CO-RE (compile once, run everywhere): the program is compiled against our
// own minimal declarations of kernel structs; clang records every field
// access as a relocation (.BTF.ext core_relo) and libbpf rewrites the
// offsets against the running kernel's BTF (/sys/kernel/btf/vmlinux).
//   core_exec   (tp_btf/sched_process_exec)  typed BTF tracepoint: direct
//               loads from the task pointer, with relocated offsets
//   core_rawtp  (raw_tp/sys_enter)  BPF_CORE_READ chains through
//               bpf_probe_read_kernel() from bpf_get_current_task(); can be
//               test-run (BPF_PROG_TEST_RUN with repeat 0 and no ctx/data:
//               kobj --run core_rawtp --repeat 0) and reports the caller's
//               comm, plus the existence checks below
//   core_kprobe (kprobe/do_nanosleep)  field/type existence checks, field
//               sizes, and a "___flavor" struct for a field that does not exist
// Results go to a ring buffer and to .bss.
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

// Only the fields we use, in any order: offsets come from the kernel.
struct task_struct {
  int pid;
  int tgid;
  char comm[16];
  struct task_struct *real_parent;
  struct mm_struct *mm;
} __attribute__((preserve_access_index));

struct mm_struct {
  unsigned long total_vm;
} __attribute__((preserve_access_index));

struct linux_binprm {
  const char *filename;
} __attribute__((preserve_access_index));

// A "flavor": libbpf ignores the ___ suffix when matching, so this also
// describes task_struct, but with a field the kernel does not have.
struct task_struct___fantasy {
  int no_such_field_in_any_kernel;
} __attribute__((preserve_access_index));

struct no_such_type_in_any_kernel {
  int x;
} __attribute__((preserve_access_index));

struct core_event {
  __u32 kind; // 1 exec, 2 raw_tp
  __u32 pid;
  __u32 tgid;
  __u32 parent_tgid;
  __u64 total_vm;
  char comm[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} core_events SEC(".maps");

// Written by core_kprobe and core_rawtp (.bss; one struct so that the layout
// is fixed): 1/0 for each existence check, then field sizes.
struct core_results {
  __u32 has_pid;
  __u32 has_fantasy_field;
  __u32 has_mm_struct;
  __u32 has_fantasy_type;
  __u32 pid_size;
  __u32 comm_size;
  __u64 rawtp_runs;
  char last_comm[16];
};
struct core_results results;

// Each check is a CO-RE relocation that libbpf resolves to a constant 0/1
// or a size, so the branches on them are decided before the verifier runs.
static __always_inline void record_existence(struct task_struct *t) {
  struct task_struct___fantasy *f = (void *)t;
  results.has_pid = bpf_core_field_exists(t->pid);
  results.has_fantasy_field = bpf_core_field_exists(f->no_such_field_in_any_kernel);
  results.has_mm_struct = bpf_core_type_exists(struct mm_struct);
  results.has_fantasy_type = bpf_core_type_exists(struct no_such_type_in_any_kernel);
  results.pid_size = bpf_core_field_size(t->pid);
  results.comm_size = bpf_core_field_size(t->comm);
  // A guarded read of a missing field: the relocation turns the branch dead
  // (libbpf poisons the read itself, which the verifier never reaches).
  if (bpf_core_field_exists(f->no_such_field_in_any_kernel)) {
    int v = BPF_CORE_READ(f, no_such_field_in_any_kernel);
    bpf_printk("impossible: %d", v);
  }
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(core_exec, struct task_struct *p, int old_pid, struct linux_binprm *bprm) {
  struct core_event *e = bpf_ringbuf_reserve(&core_events, sizeof(*e), 0);
  if (!e) return 0;
  e->kind = 1;
  e->pid = p->pid; // BTF pointer: a plain load, offset relocated
  e->tgid = p->tgid;
  e->parent_tgid = BPF_CORE_READ(p, real_parent, tgid);
  e->total_vm = BPF_CORE_READ(p, mm, total_vm);
  BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("raw_tp/sys_enter")
int core_rawtp(void *ctx) {
  struct task_struct *t = (void *)bpf_get_current_task();
  struct core_event *e = bpf_ringbuf_reserve(&core_events, sizeof(*e), 0);
  if (!e) return 0;
  e->kind = 2;
  e->pid = BPF_CORE_READ(t, pid);
  e->tgid = BPF_CORE_READ(t, tgid);
  e->parent_tgid = BPF_CORE_READ(t, real_parent, tgid);
  e->total_vm = 0;
  if (bpf_core_field_exists(t->mm)) e->total_vm = BPF_CORE_READ(t, mm, total_vm);
  bpf_core_read_str(e->comm, sizeof(e->comm), &t->comm);
  bpf_core_read_str(results.last_comm, sizeof(results.last_comm), &t->comm);
  bpf_ringbuf_submit(e, 0);
  __sync_fetch_and_add(&results.rawtp_runs, 1);
  record_existence(t);
  return 0;
}

SEC("kprobe/do_nanosleep")
int core_kprobe(struct pt_regs *ctx) {
  record_existence((void *)bpf_get_current_task());
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
