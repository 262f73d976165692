// Attach points: packet streams, periodic perf events, host-emitted trace events, readers.
export {
  attachPerfEvent,
  attachTarget,
  HostEvents,
  type Link,
  PERF_EVENT_DATA_SIZE,
  type PerfEventOptions,
} from './events.ts';
export {
  type PacketAction,
  packetAction,
  type PacketStreamOptions,
  type PacketStreamReport,
  type PacketVerdict,
  runPacketStream,
} from './packets.ts';
export { LINKTYPE_ETHERNET, type PcapPacket, readPcap, writePcap } from './pcap.ts';
export { PerfReader, type ReaderOptions, RingbufReader } from './readers.ts';
