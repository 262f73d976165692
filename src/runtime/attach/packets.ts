// Packet attach points: XDP, tc (sched_cls/sched_act), socket filters and cgroup_skb programs
// run over a packet stream (a pcap file's packets or any generator), one test run per packet,
// with per-action counters and the packets that went on (passed, transmitted, redirected,
// accepted) kept for an output pcap.
import { RuntimeFault, UsageError } from '../../errors.ts';
import type { Program } from '../collection.ts';
import type { RedirectAction } from '../helpers/env.ts';
import { ETH_HLEN } from '../../vm/ctx-layout.ts';
import { type PcapPacket, writePcap } from './pcap.ts';

export type PacketAction =
  | 'XDP_ABORTED'
  | 'XDP_DROP'
  | 'XDP_PASS'
  | 'XDP_TX'
  | 'XDP_REDIRECT'
  | 'TC_ACT_UNSPEC'
  | 'TC_ACT_OK'
  | 'TC_ACT_RECLASSIFY'
  | 'TC_ACT_SHOT'
  | 'TC_ACT_PIPE'
  | 'TC_ACT_STOLEN'
  | 'TC_ACT_QUEUED'
  | 'TC_ACT_REPEAT'
  | 'TC_ACT_REDIRECT'
  | 'ACCEPT'
  | 'DROP'
  | 'ALLOW'
  | 'DENY'
  | `UNKNOWN(${number})`;

export interface PacketVerdict {
  index: number;
  action: PacketAction;
  retval: number;
  /** The packet as the program left it (socket filters: truncated to what they kept). */
  data: Uint8Array;
  redirect?: RedirectAction;
}

export interface PacketStreamOptions {
  /** Keep packets that went on, for `outputPcap()` (default false). */
  keepOutput?: boolean;
  /** Called for every packet after its run. */
  onPacket?: (v: PacketVerdict) => void;
  /** Stop after this many packets. */
  limit?: number;
}

export interface PacketStreamReport {
  /** Packets the program ran on. */
  packets: number;
  /** Packets a test run refuses (e.g. shorter than an Ethernet header), skipped. */
  rejected: number;
  /** Packets per action. */
  actions: Map<PacketAction, number>;
  /** Packets that went on (when keepOutput). */
  output: { data: Uint8Array; timeNs?: bigint }[];
  /** A pcap file of `output`. */
  outputPcap(): Uint8Array;
}

const XDP_ACTIONS: PacketAction[] = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];
const TC_ACTIONS: PacketAction[] = [
  'TC_ACT_OK',
  'TC_ACT_RECLASSIFY',
  'TC_ACT_SHOT',
  'TC_ACT_PIPE',
  'TC_ACT_STOLEN',
  'TC_ACT_QUEUED',
  'TC_ACT_REPEAT',
  'TC_ACT_REDIRECT',
];
const PACKET_TYPES = new Set(['xdp', 'sched_cls', 'sched_act', 'socket_filter', 'cgroup_skb']);

/** The action a return value stands for in a program type, and whether the packet goes on. */
export function packetAction(type: string, retval: number): { action: PacketAction; forwarded: boolean } {
  const signed = retval | 0;
  switch (type) {
    case 'xdp': {
      const a = XDP_ACTIONS[retval] ?? (`UNKNOWN(${retval})` as const);
      return { action: a, forwarded: a === 'XDP_PASS' || a === 'XDP_TX' || a === 'XDP_REDIRECT' };
    }
    case 'sched_cls':
    case 'sched_act': {
      const a = signed === -1 ? 'TC_ACT_UNSPEC' : (TC_ACTIONS[signed] ?? (`UNKNOWN(${signed})` as const));
      return { action: a, forwarded: a === 'TC_ACT_OK' || a === 'TC_ACT_UNSPEC' || a === 'TC_ACT_REDIRECT' };
    }
    case 'socket_filter':
      // The return value is how many bytes to keep; 0 drops the packet.
      return retval === 0 ? { action: 'DROP', forwarded: false } : { action: 'ACCEPT', forwarded: true };
    case 'cgroup_skb':
      return (retval & 1) === 1 ? { action: 'ALLOW', forwarded: true } : { action: 'DENY', forwarded: false };
    default:
      throw new UsageError(`program type ${type} does not take packets`);
  }
}

/** Runs `prog` once per packet of `packets` (byte arrays or pcap records). */
export function runPacketStream(
  prog: Program,
  packets: Iterable<Uint8Array | PcapPacket>,
  opts: PacketStreamOptions = {},
): PacketStreamReport {
  if (!PACKET_TYPES.has(prog.type))
    throw new UsageError(
      `program ${prog.name} is ${prog.type}, not a packet program (xdp, tc, socket, cgroup_skb)`,
    );
  const actions = new Map<PacketAction, number>();
  const output: { data: Uint8Array; timeNs?: bigint }[] = [];
  let n = 0;
  let rejected = 0;
  for (const p of packets) {
    if (opts.limit !== undefined && n >= opts.limit) break;
    const data = p instanceof Uint8Array ? p : p.data;
    let r: ReturnType<Program['run']>;
    try {
      r = prog.run({ data });
    } catch (e) {
      if (e instanceof UsageError) {
        rejected++;
        continue;
      }
      // A fault (possible only in unverified programs) names the packet it happened on.
      if (e instanceof RuntimeFault) e.message = `packet ${n + rejected}: ${e.message}`;
      throw e;
    }
    const { action, forwarded } = packetAction(prog.type, r.retval);
    actions.set(action, (actions.get(action) ?? 0) + 1);
    // Socket filters and cgroup_skb programs see the packet from its network header; a
    // socket filter's return value is how many of those bytes to keep.
    let out = r.dataOut;
    if (prog.type === 'socket_filter') out = data.slice(0, Math.min(data.length, ETH_HLEN + r.retval));
    else if (prog.type === 'cgroup_skb') out = data;
    if (forwarded && opts.keepOutput) {
      output.push(p instanceof Uint8Array ? { data: out } : { data: out, timeNs: p.timeNs });
    }
    opts.onPacket?.({
      index: n,
      action,
      retval: r.retval,
      data: out,
      ...(r.redirect ? { redirect: r.redirect } : {}),
    });
    n++;
  }
  return { packets: n, rejected, actions, output, outputPcap: () => writePcap(output) };
}
