// Loads through a map pointer (`((struct bpf_map *)&m)->max_entries`; kernel:
// check_ptr_to_map_access()): read-only, root only, checked as a PTR_TO_BTF_ID to the map type's
// kernel struct (struct bpf_array, struct bpf_htab, ...; kernel: map->ops->map_btf_id), whose
// layout comes from the kernel's BTF.
import type { MapInfo, VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import { pointer } from '../reg.ts';
import { MAP_TYPES } from '../../elf/index.ts';
import { checkPtrToBtfAccess, structId } from './btf-ptr.ts';

/** Each map type's kernel struct (kernel: the map_btf_id of its bpf_map_ops). */
const MAP_STRUCT: Record<string, string> = {
  hash: 'bpf_htab',
  percpu_hash: 'bpf_htab',
  lru_hash: 'bpf_htab',
  lru_percpu_hash: 'bpf_htab',
  hash_of_maps: 'bpf_htab',
  array: 'bpf_array',
  percpu_array: 'bpf_array',
  prog_array: 'bpf_array',
  perf_event_array: 'bpf_array',
  cgroup_array: 'bpf_array',
  array_of_maps: 'bpf_array',
  stack_trace: 'bpf_stack_map',
  lpm_trie: 'lpm_trie',
  devmap: 'bpf_dtab',
  devmap_hash: 'bpf_dtab',
  sockmap: 'bpf_stab',
  sockhash: 'bpf_shtab',
  cpumap: 'bpf_cpu_map',
  xskmap: 'xsk_map',
  queue: 'bpf_queue_stack',
  stack: 'bpf_queue_stack',
  sk_storage: 'bpf_local_storage_map',
  inode_storage: 'bpf_local_storage_map',
  task_storage: 'bpf_local_storage_map',
  cgrp_storage: 'bpf_local_storage_map',
  ringbuf: 'bpf_ringbuf_map',
  user_ringbuf: 'bpf_ringbuf_map',
  bloom_filter: 'bpf_bloom_filter',
  reuseport_sockarray: 'reuseport_array',
  arena: 'bpf_arena',
};

// kernel: check_ptr_to_map_access()
export function checkPtrToMapAccess(
  env: VerifierEnv,
  regno: number,
  map: MapInfo,
  off: number,
  size: number,
  t: 'read' | 'write',
): RegState {
  const name = MAP_STRUCT[map.type];
  if (!name) reject(`map_ptr access not supported for map type ${MAP_TYPES.indexOf(map.type as never)}`);
  if (env.opts.unprivileged)
    reject(`'struct ${name}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`);
  if (off < 0) reject(`R${regno} is ${name} invalid negative access: off=${off}`);
  if (t !== 'read') reject(`only read from ${name} is supported`);
  // tsbpf: the layout must be in the BTF offsets were resolved against (the kernel's, by CO-RE)
  const id = structId(env.layoutBtf, name);
  if (!id) reject(`map_ptr access needs struct ${name} in the kernel's BTF (give the CO-RE target)`);
  return checkPtrToBtfAccess(env, regno, pointer('PTR_TO_BTF_ID', { btfId: id }), off, size, 'read');
}
