// Which helpers a program may call with which map type, for the verifier
// (kernel: check_map_func_compatibility() in kernel/bpf/verifier.c). Two tables, as in the
// kernel: what a map type allows, then which map types a helper needs.
import * as T from './flags.ts';

// kernel: enum bpf_func_id
const F = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  tail_call: 12,
  perf_event_read: 22,
  perf_event_output: 25,
  get_stackid: 27,
  skb_under_cgroup: 33,
  current_task_under_cgroup: 37,
  perf_event_read_value: 55,
  get_local_storage: 81,
  redirect_map: 51,
  sk_redirect_map: 52,
  sock_map_update: 53,
  msg_redirect_map: 60,
  sock_hash_update: 70,
  msg_redirect_hash: 71,
  sk_redirect_hash: 72,
  sk_select_reuseport: 82,
  map_push_elem: 87,
  map_pop_elem: 88,
  map_peek_elem: 89,
  sk_storage_get: 107,
  sk_storage_delete: 108,
  skb_output: 111,
  xdp_output: 121,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  ringbuf_discard: 133,
  ringbuf_query: 134,
  inode_storage_get: 145,
  inode_storage_delete: 146,
  task_storage_get: 156,
  task_storage_delete: 157,
  for_each_map_elem: 164,
  map_lookup_percpu_elem: 195,
  ringbuf_reserve_dynptr: 198,
  ringbuf_submit_dynptr: 199,
  ringbuf_discard_dynptr: 200,
  user_ringbuf_drain: 209,
  cgrp_storage_get: 210,
  cgrp_storage_delete: 211,
} as const;

// Map types not in flags.ts (kernel: enum bpf_map_type).
const STACK_TRACE = 7;
const CGROUP_ARRAY = 8;
const DEVMAP = 14;
const SOCKMAP = 15;
const CPUMAP = 16;
const XSKMAP = 17;
const SOCKHASH = 18;
const CGROUP_STORAGE = 19;
const REUSEPORT_SOCKARRAY = 20;
const PERCPU_CGROUP_STORAGE = 21;
const SK_STORAGE = 24;
const DEVMAP_HASH = 25;
const INODE_STORAGE = 28;
const TASK_STORAGE = 29;
const USER_RINGBUF = 31;
const CGRP_STORAGE = 32;

const RINGBUF_FUNCS = [
  F.ringbuf_output,
  F.ringbuf_reserve,
  F.ringbuf_query,
  F.ringbuf_reserve_dynptr,
  F.ringbuf_submit_dynptr,
  F.ringbuf_discard_dynptr,
];
const PERF_FUNCS = [
  F.perf_event_read,
  F.perf_event_output,
  F.skb_output,
  F.perf_event_read_value,
  F.xdp_output,
];

/** Helpers a map type restricts itself to (undefined: no restriction from the map's side). */
const MAP_ALLOWS: Record<number, readonly number[]> = {
  [T.BPF_MAP_TYPE_PROG_ARRAY]: [F.tail_call],
  [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]: PERF_FUNCS,
  [T.BPF_MAP_TYPE_RINGBUF]: RINGBUF_FUNCS,
  [USER_RINGBUF]: [F.user_ringbuf_drain],
  [STACK_TRACE]: [F.get_stackid],
  [CGROUP_ARRAY]: [F.skb_under_cgroup, F.current_task_under_cgroup],
  [CGROUP_STORAGE]: [F.get_local_storage],
  [PERCPU_CGROUP_STORAGE]: [F.get_local_storage],
  [DEVMAP]: [F.redirect_map, F.map_lookup_elem],
  [DEVMAP_HASH]: [F.redirect_map, F.map_lookup_elem],
  [CPUMAP]: [F.redirect_map],
  [XSKMAP]: [F.redirect_map, F.map_lookup_elem],
  [T.BPF_MAP_TYPE_ARRAY_OF_MAPS]: [F.map_lookup_elem],
  [T.BPF_MAP_TYPE_HASH_OF_MAPS]: [F.map_lookup_elem],
  [SOCKMAP]: [
    F.sk_redirect_map,
    F.sock_map_update,
    F.msg_redirect_map,
    F.sk_select_reuseport,
    F.map_lookup_elem,
    F.map_update_elem,
    F.map_delete_elem,
  ],
  [SOCKHASH]: [
    F.sk_redirect_hash,
    F.sock_hash_update,
    F.msg_redirect_hash,
    F.sk_select_reuseport,
    F.map_lookup_elem,
    F.map_update_elem,
    F.map_delete_elem,
  ],
  [REUSEPORT_SOCKARRAY]: [F.sk_select_reuseport],
  [T.BPF_MAP_TYPE_QUEUE]: [F.map_peek_elem, F.map_pop_elem, F.map_push_elem],
  [T.BPF_MAP_TYPE_STACK]: [F.map_peek_elem, F.map_pop_elem, F.map_push_elem],
  [SK_STORAGE]: [F.sk_storage_get, F.sk_storage_delete],
  [INODE_STORAGE]: [F.inode_storage_get, F.inode_storage_delete],
  [TASK_STORAGE]: [F.task_storage_get, F.task_storage_delete],
  [CGRP_STORAGE]: [F.cgrp_storage_get, F.cgrp_storage_delete],
  [T.BPF_MAP_TYPE_BLOOM_FILTER]: [F.map_peek_elem, F.map_push_elem],
};

/** Map types a helper requires (undefined: any map type). */
const FUNC_NEEDS: Record<number, readonly number[]> = {
  [F.tail_call]: [T.BPF_MAP_TYPE_PROG_ARRAY],
  [F.get_stackid]: [STACK_TRACE],
  [F.current_task_under_cgroup]: [CGROUP_ARRAY],
  [F.skb_under_cgroup]: [CGROUP_ARRAY],
  [F.redirect_map]: [DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP],
  [F.sk_redirect_map]: [SOCKMAP],
  [F.msg_redirect_map]: [SOCKMAP],
  [F.sock_map_update]: [SOCKMAP],
  [F.sk_redirect_hash]: [SOCKHASH],
  [F.msg_redirect_hash]: [SOCKHASH],
  [F.sock_hash_update]: [SOCKHASH],
  [F.get_local_storage]: [CGROUP_STORAGE, PERCPU_CGROUP_STORAGE],
  [F.sk_select_reuseport]: [REUSEPORT_SOCKARRAY, SOCKMAP, SOCKHASH],
  [F.map_pop_elem]: [T.BPF_MAP_TYPE_QUEUE, T.BPF_MAP_TYPE_STACK],
  [F.map_peek_elem]: [T.BPF_MAP_TYPE_QUEUE, T.BPF_MAP_TYPE_STACK, T.BPF_MAP_TYPE_BLOOM_FILTER],
  [F.map_push_elem]: [T.BPF_MAP_TYPE_QUEUE, T.BPF_MAP_TYPE_STACK, T.BPF_MAP_TYPE_BLOOM_FILTER],
  [F.map_lookup_percpu_elem]: [
    T.BPF_MAP_TYPE_PERCPU_ARRAY,
    T.BPF_MAP_TYPE_PERCPU_HASH,
    T.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  ],
  [F.sk_storage_get]: [SK_STORAGE],
  [F.sk_storage_delete]: [SK_STORAGE],
  [F.inode_storage_get]: [INODE_STORAGE],
  [F.inode_storage_delete]: [INODE_STORAGE],
  [F.task_storage_get]: [TASK_STORAGE],
  [F.task_storage_delete]: [TASK_STORAGE],
  [F.cgrp_storage_get]: [CGRP_STORAGE],
  [F.cgrp_storage_delete]: [CGRP_STORAGE],
  [F.user_ringbuf_drain]: [USER_RINGBUF],
};
for (const f of PERF_FUNCS) FUNC_NEEDS[f] = [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY];
for (const f of RINGBUF_FUNCS) FUNC_NEEDS[f] = [T.BPF_MAP_TYPE_RINGBUF];

/** kernel: check_map_func_compatibility() — may helper `funcId` take a map of `mapType`? */
export function mapFuncCompatible(mapType: number, funcId: number): boolean {
  const allows = MAP_ALLOWS[mapType];
  if (allows && !allows.includes(funcId)) return false;
  const needs = FUNC_NEEDS[funcId];
  return !needs || needs.includes(mapType);
}

/** Map types with map_for_each_callback, i.e. usable with bpf_for_each_map_elem. */
export function mapSupportsForEach(mapType: number): boolean {
  return [
    T.BPF_MAP_TYPE_ARRAY,
    T.BPF_MAP_TYPE_PERCPU_ARRAY,
    T.BPF_MAP_TYPE_HASH,
    T.BPF_MAP_TYPE_PERCPU_HASH,
    T.BPF_MAP_TYPE_LRU_HASH,
    T.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  ].includes(mapType);
}

export { F as MAP_FUNC_IDS };
