// attachBtfTarget: the vmlinux type whose id a BTF-attached program is loaded with, named as
// libbpf's btf_get_kernel_prefix_kind() prefixes the section suffix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachBtfTarget } from '../../src/elf/sections.ts';

test('attachBtfTarget: prefix and kind per attach type, none for other sections', () => {
  assert.deepEqual(attachBtfTarget('tp_btf/sched_switch'), {
    name: 'btf_trace_sched_switch',
    kind: 'typedef',
  });
  assert.deepEqual(attachBtfTarget('iter/task'), { name: 'bpf_iter_task', kind: 'func' });
  assert.deepEqual(attachBtfTarget('iter.s/task_vma'), { name: 'bpf_iter_task_vma', kind: 'func' });
  assert.deepEqual(attachBtfTarget('fentry/do_nanosleep'), { name: 'do_nanosleep', kind: 'func' });
  assert.deepEqual(attachBtfTarget('fexit.s/vfs_read'), { name: 'vfs_read', kind: 'func' });
  assert.deepEqual(attachBtfTarget('lsm/file_open'), { name: 'bpf_lsm_file_open', kind: 'func' });
  // freplace targets a function of another BPF program, not vmlinux.
  assert.equal(attachBtfTarget('freplace/handler'), undefined);
  assert.equal(attachBtfTarget('tp_btf'), undefined);
  assert.equal(attachBtfTarget('raw_tp/sys_enter'), undefined);
  assert.equal(attachBtfTarget('xdp'), undefined);
});
