// The host's IPv4 TCP sockets for iter/tcp, read from /proc/net/tcp: each line becomes the
// struct sock_common fields the kernel's own tcp4_seq_show() printed it from, plus the ctx's
// uid. Node only (not re-exported from index.ts). IPv6 sockets (/proc/net/tcp6, skc_v6_*
// fields) are not read.
import { readFileSync } from 'node:fs';
import type { HostObject } from './objects.ts';

const AF_INET = 2;
const ADDR_PORT = /^([0-9A-F]{8}):([0-9A-F]{4})$/;

/**
 * One /proc/net/tcp line ("sl local rem st ... uid ..."): addresses are the __be32 printed as
 * a native u32 (%08X), so the same number stored little-endian gives the kernel's bytes; ports
 * are in host order (skc_num as is, skc_dport swapped back to network order). Null for the
 * header and anything else.
 */
export function parseProcTcpLine(line: string): HostObject | null {
  const f = line.trim().split(/\s+/);
  const local = ADDR_PORT.exec(f[1] ?? '');
  const remote = ADDR_PORT.exec(f[2] ?? '');
  const state = f[3] ?? '';
  const uid = Number(f[7]);
  if (!local || !remote || !/^[0-9A-F]{2}$/.test(state) || !Number.isInteger(uid)) return null;
  const hex = (s: string) => Number.parseInt(s, 16);
  const dport = hex(remote[2]!);
  return {
    skc_family: AF_INET,
    skc_state: hex(state),
    skc_rcv_saddr: hex(local[1]!),
    skc_num: hex(local[2]!),
    skc_daddr: hex(remote[1]!),
    skc_dport: ((dport & 0xff) << 8) | (dport >> 8),
    uid,
  };
}

/** The sockets of `path` (default /proc/net/tcp) in its order, the kernel's hash walk. */
export function readProcTcp(path = '/proc/net/tcp'): HostObject[] {
  return readFileSync(path, 'latin1')
    .split('\n')
    .map(parseProcTcpLine)
    .filter((s): s is HostObject => s !== null);
}
