// SPDX-License-Identifier: GPL-2.0
// A task iterator: `cat` on the pinned iterator prints a small `ps` — one line per task
// (every thread of every process, in pid order, as the kernel walks them), a header before
// the first and a count after the last (the final call has task == NULL).
//
// Pin it in the kernel:   bpftool iter pin iter_task.bpf.o /sys/fs/bpf/tasks && cat /sys/fs/bpf/tasks
// Run it in tsbpf:        tsbpf iter examples/iter-task/iter_task.bpf.o --tasks host
//                         (the host's processes from /proc; or --objects TASKS.json)
// Only one process:       ... --set only_tgid=1
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

// The few task_struct fields printed, declared here rather than taken from vmlinux.h;
// preserve_access_index makes libbpf relocate the offsets to the running kernel's.
struct seq_file;
struct task_struct {
	int prio;
	int static_prio;
	int pid;
	int tgid;
	char comm[16];
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

// Show only the threads of this process (0: every task).
const volatile __s32 only_tgid = 0;

// kernel: MAX_RT_PRIO (100) and DEFAULT_PRIO (120), to print priority and nice as ps does
#define MAX_RT_PRIO 100
#define DEFAULT_PRIO 120

SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	__u64 seq_num = ctx->meta->seq_num;

	if (seq_num == 0)
		BPF_SEQ_PRINTF(seq, "%7s %7s %4s %4s %s\n", "TGID", "PID", "PRI", "NI", "COMM");
	if (!task) {
		// the final call has the seq_num of the last task (filtered-out ones count too)
		BPF_SEQ_PRINTF(seq, "-- %llu tasks walked --\n", seq_num + 1);
		return 0;
	}
	if (only_tgid && task->tgid != only_tgid)
		return 0;
	BPF_SEQ_PRINTF(seq, "%7d %7d %4d %4d %s%s\n", task->tgid, task->pid, task->prio - MAX_RT_PRIO,
		       task->static_prio - DEFAULT_PRIO, task->pid == task->tgid ? "" : "  \\_ ", task->comm);
	return 0;
}
