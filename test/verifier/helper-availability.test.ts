// Which helpers a program may call, by privilege and by release (kernel: bpf_base_func_proto()).
// Without CAP_BPF only the first part of the base set is offered; this machine refuses
// unprivileged loads (kernel.unprivileged_bpf_disabled = 2), so these expectations come from
// the 6.18 source, not from kbpf. strtol/strtoul reached every program type in 6.12
// (commit 8a67f2de9b1d); the case file helper-strtol.case checks 6.18 against the kernel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assembleAuto } from '../../src/isa/index.ts';
import { verify } from '../../src/verifier/index.ts';
import { CASES_DIR, caseProgram, parseCase } from './cases.ts';

/** A socket filter calling helper `id` with arguments it accepts or that need no checks. */
function callOnly(id: number, setup: string[] = []): ReturnType<typeof assembleAuto> {
  return assembleAuto([...setup, `call ${id}`, 'r0 = 0', 'exit'].join('\n'), `helper ${id}`);
}

test('unprivileged: base helpers behind CAP_BPF or CAP_PERFMON are not offered', () => {
  const strtol = caseProgram(
    parseCase(readFileSync(join(CASES_DIR, 'helper-strtol.case'), 'utf8'), 'strtol'),
  );
  assert.equal(verify(strtol, { unprivileged: true }).verdict, 'accept', 'strtol is in the first tier');
  for (const [id, name] of [
    [6, 'bpf_trace_printk'], // CAP_PERFMON
    [181, 'bpf_loop'], // CAP_BPF since 6.12
    [164, 'bpf_for_each_map_elem'],
    [169, 'bpf_timer_init'],
    [93, 'bpf_spin_lock'],
  ] as const) {
    const r = verify({ insns: callOnly(id), progType: 'socket_filter' }, { unprivileged: true });
    assert.equal(r.error?.message, `program of this type cannot use helper ${name}#${id}`);
    // root gets past the lookup (and fails, if at all, on the arguments)
    const root = verify({ insns: callOnly(id), progType: 'socket_filter' });
    assert.doesNotMatch(root.error?.message ?? '', /cannot use helper/);
  }
  const prandom = verify({ insns: callOnly(7), progType: 'socket_filter' }, { unprivileged: true });
  assert.equal(prandom.verdict, 'accept');
});

test('kernel profiles: strtol in an xdp program loads from 6.12, not before', () => {
  const c = parseCase(readFileSync(join(CASES_DIR, 'helper-strtol.case'), 'utf8'), 'strtol');
  const xdp = { ...caseProgram(c), progType: 'xdp' };
  assert.equal(verify(xdp).verdict, 'accept');
  assert.equal(verify(xdp, { kernel: '6.18' }).verdict, 'accept');
  assert.equal(verify(xdp, { kernel: '6.12' }).verdict, 'accept');
  const old = verify(xdp, { kernel: '6.11' });
  assert.equal(old.verdict, 'reject');
  assert.match(old.error?.message ?? '', /strtol/);
  // cgroup_sysctl had it from 5.2
  const sysctl = verify({ ...caseProgram(c), progType: 'cgroup_sysctl' }, { kernel: '5.4' });
  assert.doesNotMatch(sysctl.error?.message ?? '', /strtol/);
});
