// The host's tasks for iter/task, read from /proc as the kernel would walk them: every thread
// of every process (/proc/PID/task/TID), in ascending pid order (kernel: task_seq_get_next()
// walks the pid idr upwards). Node only; the browser has no process list, so this module is
// not re-exported from index.ts.
import { readdirSync, readFileSync } from 'node:fs';
import type { HostObject } from './objects.ts';

// kernel: MAX_RT_PRIO and DEFAULT_PRIO (include/linux/sched/prio.h)
const MAX_RT_PRIO = 100;
const DEFAULT_PRIO = 120;

const DIGITS = /^\d+$/;
// kernel: PF_WQ_WORKER; /proc shows such a task's comm with its workqueue appended
// (wq_worker_comm(): "kworker/0:1-events", "+" while busy), task->comm lacks it.
const PF_WQ_WORKER = 0x20;
const WQ_SUFFIX = /^(kworker\/[^R][^-+]*)[-+]/;

function numericEntries(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((n) => DIGITS.test(n))
      .map(Number);
  } catch {
    return []; // the process exited while we looked
  }
}

/**
 * One thread's task_struct fields from its /proc stat line (proc(5)): pid, tgid, comm,
 * flags (field 9), prio (field 18 "priority" is prio - MAX_RT_PRIO) and static_prio (field 19
 * "nice" is static_prio - DEFAULT_PRIO). Workqueue workers lose the suffix /proc adds to their
 * comm (rescuers "kworker/R-NAME" keep theirs: it is their comm). Null when the line is not one (the thread is gone).
 */
export function parseProcStat(tgid: number, stat: string): HostObject | null {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')'); // comm may itself hold ')' or spaces
  if (open < 0 || close < open) return null;
  const pid = Number(stat.slice(0, open).trim());
  const rest = stat.slice(close + 2).split(' '); // rest[0] is field 3 (state)
  const flags = Number(rest[6]);
  const priority = Number(rest[15]);
  const nice = Number(rest[16]);
  if (![pid, flags, priority, nice].every(Number.isInteger)) return null;
  let comm = stat.slice(open + 1, close);
  if (flags & PF_WQ_WORKER) comm = WQ_SUFFIX.exec(comm)?.[1] ?? comm;
  return {
    pid,
    tgid,
    comm,
    flags,
    prio: priority + MAX_RT_PRIO,
    static_prio: nice + DEFAULT_PRIO,
  };
}

/**
 * Every task under `procRoot` (default /proc), sorted by pid. Pids are those of the reader's
 * pid namespace (the kernel's task->pid is the initial namespace's; they agree outside
 * containers). Tasks that exit while being read are left out.
 */
export function readProcTasks(procRoot = '/proc'): HostObject[] {
  const tasks: HostObject[] = [];
  for (const tgid of numericEntries(procRoot)) {
    for (const tid of numericEntries(`${procRoot}/${tgid}/task`)) {
      let stat: string;
      try {
        stat = readFileSync(`${procRoot}/${tgid}/task/${tid}/stat`, 'latin1');
      } catch {
        continue;
      }
      const t = parseProcStat(tgid, stat);
      if (t) tasks.push(t);
    }
  }
  return tasks.sort((x, y) => (x.pid as number) - (y.pid as number));
}
