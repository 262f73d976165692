// bpf_get_current_task_btf() at run time: the task's pid, tgid and comm read directly through
// the trusted pointer, beside what bpf_get_current_pid_tgid() and bpf_get_current_comm() say.
// A raw_tp program: it can be test-run and may call all three helpers (bpf_tracing_func_proto()).
// Rebuild: test/runtime/task-btf/build.sh
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct {
  int pid;
  int tgid;
  char comm[16];
} __attribute__((preserve_access_index));

// one variable, so the test finds each field at a fixed offset of .bss
struct {
  __u32 btf_pid, btf_tgid, helper_pid, helper_tgid;
  char btf_comm[16], helper_comm[16];
} out;

SEC("raw_tp/sys_enter")
int task_fields(void *ctx) {
  struct task_struct *t = bpf_get_current_task_btf();
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  out.btf_pid = t->pid;
  out.btf_tgid = t->tgid;
  __builtin_memcpy(out.btf_comm, t->comm, sizeof(out.btf_comm));
  out.helper_pid = (__u32)pid_tgid;
  out.helper_tgid = pid_tgid >> 32;
  bpf_get_current_comm(out.helper_comm, sizeof(out.helper_comm));
  return 1;
}
