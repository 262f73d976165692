// Classic pcap files (little-endian, microsecond timestamps, Ethernet link type):
// enough to hand packet streams to kpkt and to tsbpf's own packet tests.
export function writePcap(packets: Uint8Array[]): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true); // snaplen
  dv.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  let off = 24;
  packets.forEach((p, i) => {
    dv.setUint32(off, Math.floor(i / 1000), true); // 1000 packets a second
    dv.setUint32(off + 4, (i % 1000) * 1000, true);
    dv.setUint32(off + 8, p.length, true);
    dv.setUint32(off + 12, p.length, true);
    out.set(p, off + 16);
    off += 16 + p.length;
  });
  return out;
}

export function readPcap(bytes: Uint8Array): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24 || dv.getUint32(0, true) !== 0xa1b2c3d4) {
    throw new Error('not a little-endian microsecond pcap file');
  }
  const packets: Uint8Array[] = [];
  let off = 24;
  while (off + 16 <= bytes.length) {
    const len = dv.getUint32(off + 8, true);
    if (off + 16 + len > bytes.length) throw new Error(`pcap record at byte ${off} is truncated`);
    packets.push(bytes.slice(off + 16, off + 16 + len));
    off += 16 + len;
  }
  return packets;
}
