// Context structs as programs see them (include/uapi/linux/bpf.h). They live in the arena
// verbatim, so pointer fields (data, data_end, data_meta) hold arena addresses directly.

/** struct __sk_buff field offsets. */
export const SK_BUFF = {
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  vlan_present: 20,
  vlan_tci: 24,
  vlan_proto: 28,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  tc_index: 44,
  cb: 48, // __u32 cb[5]
  hash: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  napi_id: 84,
  family: 88,
  remote_ip4: 92,
  local_ip4: 96,
  remote_ip6: 100,
  local_ip6: 116,
  remote_port: 132,
  local_port: 136,
  data_meta: 140,
  flow_keys: 144, // 8-byte __bpf_md_ptr
  tstamp: 152, // __u64
  wire_len: 160,
  gso_segs: 164,
  sk: 168, // 8-byte __bpf_md_ptr
  gso_size: 176,
  tstamp_type: 180, // __u8, then 3 bytes padding
  hwtstamp: 184, // __u64
} as const;
export const SK_BUFF_SIZE = 192;

/** struct xdp_md field offsets (all __u32). */
export const XDP_MD = {
  data: 0,
  data_end: 4,
  data_meta: 8,
  ingress_ifindex: 12,
  rx_queue_index: 16,
  egress_ifindex: 20,
} as const;
export const XDP_MD_SIZE = 24;

// kernel: include/linux/if_ether.h, include/uapi/linux/if_packet.h
export const ETH_HLEN = 14;
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
/** Bytes in front of an XDP frame (kernel: XDP_PACKET_HEADROOM). */
export const XDP_PACKET_HEADROOM = 256;
