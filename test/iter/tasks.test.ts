// examples/iter-task over the host's tasks (`tsbpf iter --tasks host`): /proc as tsbpf reads it,
// checked against an independent reading here, and the same iterator run by the kernel.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseProcStat, readProcTasks } from '../../src/runtime/iter/proc-tasks.ts';
import { cli, root } from '../cli/helpers.ts';
import { runKiter } from './kiter.ts';

const OBJ = join(root, 'examples/iter-task/iter_task.bpf.o');
const HAVE_PROC = existsSync('/proc/self/task');

test('parseProcStat: comm with spaces and parentheses, priority and nice to prio fields', () => {
  // fields 3..19: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice
  const line = '4242 (a (b) c) S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 25 5 1 0 99';
  assert.deepEqual(parseProcStat(4240, line), {
    pid: 4242,
    tgid: 4240,
    comm: 'a (b) c',
    flags: 4194560,
    prio: 125,
    static_prio: 125,
  });
  // a real-time task: priority -51 is prio 49
  assert.equal(parseProcStat(7, '7 (rt) S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 -51 0 1')?.prio, 49);
  // workqueue workers: /proc appends the workqueue; task->comm does not have it
  assert.equal(
    parseProcStat(9, '9 (kworker/0:1-events) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1')?.comm,
    'kworker/0:1',
  );
  assert.equal(
    parseProcStat(9, '9 (kworker/R-rcu_g) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 0 -20 1')?.comm,
    'kworker/R-rcu_g',
  );
  assert.equal(parseProcStat(1, 'truncated'), null);
  assert.equal(parseProcStat(1, '1 (x) S 0'), null);
});

test('readProcTasks: this process and pid 1 as /proc shows them, sorted by pid', {
  skip: !HAVE_PROC && 'no /proc',
}, () => {
  const tasks = readProcTasks();
  const pids = tasks.map((t) => t.pid as number);
  assert.deepEqual(
    pids,
    [...pids].sort((a, b) => a - b),
  );
  const self = tasks.find((t) => t.pid === process.pid);
  assert.ok(self, 'the test process is listed');
  assert.equal(self.tgid, process.pid);
  assert.equal(self.comm, readFileSync('/proc/self/comm', 'latin1').trimEnd());
  assert.equal(self.static_prio, 120 + getPriority(process.pid));
  // every thread of this process (node has several) with tgid = our pid
  const ours = new Set(tasks.filter((t) => t.tgid === process.pid).map((t) => t.pid as number));
  const main = Number(readdirSync('/proc/self/task').find((t) => Number(t) === process.pid));
  assert.ok(ours.has(main));
  assert.ok(ours.size >= 2, `node runs several threads, saw ${ours.size}`);
  const init = tasks.find((t) => t.pid === 1);
  assert.ok(init);
  assert.equal(init.tgid, 1);
  assert.equal(init.comm, readFileSync('/proc/1/comm', 'latin1').trimEnd().slice(0, 15));
});

test('tsbpf iter --tasks host: a ps of this process', { skip: !HAVE_PROC && 'no /proc' }, async () => {
  const r = await cli('iter', OBJ, '--tasks', 'host', '--set', `only_tgid=${process.pid}`);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.match(lines[0]!, /^ {3}TGID {5}PID {2}PRI {3}NI COMM$/);
  const comm = readFileSync('/proc/self/comm', 'latin1').trimEnd();
  const nice = getPriority(process.pid);
  const me = lines.find((l) => l.trim().split(/\s+/)[1] === String(process.pid));
  assert.ok(me, r.out);
  assert.deepEqual(me.trim().split(/\s+/).slice(0, 2), [String(process.pid), String(process.pid)]);
  assert.ok(me.endsWith(` ${nice} ${comm}`), me);
  // the other lines are our threads, drawn under the main one
  for (const l of lines.slice(1, -2)) assert.ok(l.startsWith(`${String(process.pid).padStart(7)} `), l);
  assert.match(lines.at(-2)!, /^-- \d+ tasks walked --$/);
  const bad = await cli('iter', OBJ, '--tasks', 'mine');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--tasks mine: the only source is 'host'/);
});

test('kernel: the same iterator prints what tsbpf prints from /proc', async (t) => {
  const k = runKiter(OBJ, 'list_tasks', '-', [], { readSize: 4096 });
  if (k.skip) return t.skip(k.skip);
  const r = await cli('iter', OBJ, '--tasks', 'host');
  assert.equal(r.code, 0, r.err);
  const kLines = String.fromCharCode(...k.stdout).split('\n');
  const tLines = r.out.split('\n');
  assert.equal(tLines[0], kLines[0], 'header');
  assert.match(kLines.at(-2)!, /^-- \d+ tasks walked --$/);
  assert.match(tLines.at(-2)!, /^-- \d+ tasks walked --$/);
  // Tasks come and go between the two walks: compare a stable subset seen by both, the
  // kernel's own threads (pid < 300: kthreadd, ksoftirqd, migration, kworkers...) and this
  // test process with its threads (drawn with the thread marker).
  const byPid = (ls: string[]) => {
    const m = new Map<number, string>();
    for (const l of ls) {
      const [tgid, pid] = l.trim().split(/\s+/).map(Number);
      if (Number.isInteger(pid) && (pid! < 300 || tgid === process.pid)) m.set(pid!, l);
    }
    return m;
  };
  const kt = byPid(kLines);
  const tt = byPid(tLines);
  assert.ok(kt.has(process.pid) && tt.has(process.pid), 'the test process in both');
  assert.ok(kt.has(2) && tt.has(2), 'kthreadd in both');
  let same = 0;
  let threads = 0;
  for (const [pid, line] of kt)
    if (tt.has(pid)) {
      assert.equal(tt.get(pid), line, `pid ${pid}`);
      same++;
      if (line.includes('\\_ ')) threads++;
    }
  assert.ok(same >= 10, `${same} tasks in common`);
  assert.ok(threads >= 1, 'a thread line in common');
});
