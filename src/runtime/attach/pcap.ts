// Packet capture files: classic pcap (either byte order, micro- or nanosecond timestamps) and
// pcapng (section header, interface description, enhanced and simple packet blocks; other
// blocks are skipped). Malformed files raise InputError('PCAP') naming the byte offset.
import { InputError } from '../../errors.ts';

export interface PcapPacket {
  /** Capture time in nanoseconds since the epoch (0 when the format has none). */
  timeNs: bigint;
  /** Captured bytes. */
  data: Uint8Array;
  /** Length on the wire (≥ data.length). */
  origLen: number;
  /** Link type of the interface it came from (1 = Ethernet). */
  linkType: number;
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const NG_SHB = 0x0a0d0d0a;
const NG_IDB = 0x00000001;
const NG_SPB = 0x00000003;
const NG_EPB = 0x00000006;
const NG_BYTE_ORDER = 0x1a2b3c4d;
export const LINKTYPE_ETHERNET = 1;

function bad(file: string, offset: number, msg: string): never {
  throw new InputError('PCAP', `${msg} (at byte ${offset})`, { where: { file } });
}

/** Reads a pcap or pcapng file. */
export function readPcap(bytes: Uint8Array, file = '<pcap>'): PcapPacket[] {
  if (bytes.length < 4) bad(file, 0, 'too short for a capture file');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = dv.getUint32(0, true);
  if (magicLe === NG_SHB) return readPcapng(bytes, dv, file);
  const magicBe = dv.getUint32(0, false);
  let le: boolean;
  let nano: boolean;
  if (magicLe === PCAP_US || magicLe === PCAP_NS) {
    le = true;
    nano = magicLe === PCAP_NS;
  } else if (magicBe === PCAP_US || magicBe === PCAP_NS) {
    le = false;
    nano = magicBe === PCAP_NS;
  } else {
    return bad(file, 0, `not a pcap or pcapng file (magic 0x${magicLe.toString(16).padStart(8, '0')})`);
  }
  if (bytes.length < 24) bad(file, 0, 'truncated pcap file header');
  const linkType = dv.getUint32(20, le) & 0x0fffffff;
  const snaplen = dv.getUint32(16, le);
  const out: PcapPacket[] = [];
  let off = 24;
  while (off < bytes.length) {
    if (off + 16 > bytes.length) bad(file, off, 'truncated packet record header');
    const sec = BigInt(dv.getUint32(off, le));
    const frac = BigInt(dv.getUint32(off + 4, le));
    const incl = dv.getUint32(off + 8, le);
    const orig = dv.getUint32(off + 12, le);
    if (incl > Math.max(snaplen, 262144))
      bad(file, off, `packet length ${incl} exceeds the snapshot length ${snaplen}`);
    if (off + 16 + incl > bytes.length)
      bad(file, off, `packet of ${incl} bytes runs past the end of the file`);
    out.push({
      timeNs: sec * 1_000_000_000n + (nano ? frac : frac * 1000n),
      data: bytes.slice(off + 16, off + 16 + incl),
      origLen: Math.max(orig, incl),
      linkType,
    });
    off += 16 + incl;
  }
  return out;
}

interface Iface {
  linkType: number;
  /** Ticks per second of the timestamps. */
  tsUnit: bigint;
}

function readPcapng(bytes: Uint8Array, dv: DataView, file: string): PcapPacket[] {
  const out: PcapPacket[] = [];
  let ifaces: Iface[] = [];
  let le = true;
  let off = 0;
  while (off < bytes.length) {
    if (off + 12 > bytes.length) bad(file, off, 'truncated pcapng block header');
    const typeLe = dv.getUint32(off, true);
    if (typeLe === NG_SHB) {
      // The byte-order magic decides how this section's blocks are read.
      if (off + 12 > bytes.length) bad(file, off, 'truncated section header');
      const bom = dv.getUint32(off + 8, true);
      if (bom === NG_BYTE_ORDER) le = true;
      else if (dv.getUint32(off + 8, false) === NG_BYTE_ORDER) le = false;
      else bad(file, off + 8, 'bad pcapng byte-order magic');
      ifaces = [];
    }
    const type = dv.getUint32(off, le);
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || len % 4 !== 0) bad(file, off, `bad pcapng block length ${len}`);
    if (off + len > bytes.length)
      bad(file, off, `pcapng block of ${len} bytes runs past the end of the file`);
    if (dv.getUint32(off + len - 4, le) !== len) bad(file, off, 'pcapng block lengths disagree');
    const body = off + 8;
    const bodyEnd = off + len - 4;
    if (type === NG_IDB) {
      if (bodyEnd - body < 8) bad(file, off, 'truncated interface description block');
      ifaces.push({ linkType: dv.getUint16(body, le), tsUnit: idbTsUnit(dv, body + 8, bodyEnd, le, file) });
    } else if (type === NG_EPB) {
      if (bodyEnd - body < 20) bad(file, off, 'truncated enhanced packet block');
      const ifId = dv.getUint32(body, le);
      const iface = ifaces[ifId];
      if (!iface) bad(file, off, `packet on undeclared interface ${ifId}`);
      const ts = (BigInt(dv.getUint32(body + 4, le)) << 32n) | BigInt(dv.getUint32(body + 8, le));
      const incl = dv.getUint32(body + 12, le);
      const orig = dv.getUint32(body + 16, le);
      if (body + 20 + incl > bodyEnd) bad(file, off, `packet of ${incl} bytes overruns its block`);
      out.push({
        timeNs: (ts * 1_000_000_000n) / iface.tsUnit,
        data: bytes.slice(body + 20, body + 20 + incl),
        origLen: Math.max(orig, incl),
        linkType: iface.linkType,
      });
    } else if (type === NG_SPB) {
      const iface = ifaces[0];
      if (!iface) bad(file, off, 'simple packet block without an interface');
      if (bodyEnd - body < 4) bad(file, off, 'truncated simple packet block');
      const orig = dv.getUint32(body, le);
      const incl = Math.min(orig, bodyEnd - body - 4);
      out.push({
        timeNs: 0n,
        data: bytes.slice(body + 4, body + 4 + incl),
        origLen: orig,
        linkType: iface.linkType,
      });
    }
    off += len;
  }
  return out;
}

/** if_tsresol option (code 9) of an interface description block; default microseconds. */
function idbTsUnit(dv: DataView, p: number, end: number, le: boolean, file: string): bigint {
  while (p + 4 <= end) {
    const code = dv.getUint16(p, le);
    const len = dv.getUint16(p + 2, le);
    if (code === 0) break;
    if (p + 4 + len > end) bad(file, p, 'pcapng option overruns its block');
    if (code === 9 && len >= 1) {
      const v = dv.getUint8(p + 4);
      const exp = BigInt(v & 0x7f);
      return v & 0x80 ? 1n << exp : 10n ** exp;
    }
    p += 4 + ((len + 3) & ~3);
  }
  return 1_000_000n;
}

/** Writes a little-endian nanosecond pcap file. */
export function writePcap(
  packets: readonly { data: Uint8Array; timeNs?: bigint }[],
  linkType = LINKTYPE_ETHERNET,
): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, PCAP_NS, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, linkType, true);
  let off = 24;
  for (const p of packets) {
    const t = p.timeNs ?? 0n;
    dv.setUint32(off, Number(t / 1_000_000_000n) >>> 0, true);
    dv.setUint32(off + 4, Number(t % 1_000_000_000n), true);
    dv.setUint32(off + 8, p.data.length, true);
    dv.setUint32(off + 12, p.data.length, true);
    out.set(p.data, off + 16);
    off += 16 + p.data.length;
  }
  return out;
}
