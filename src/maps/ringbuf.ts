// BPF_MAP_TYPE_RINGBUF (kernel: kernel/bpf/ringbuf.c). Records are laid out as in the kernel:
// an 8-byte header (u32 len with BUSY bit 31 and DISCARD bit 30, u32 pg_off) followed by the
// sample, each record rounded up to 8 bytes; producer/consumer positions grow without wrapping
// and index the data with `& mask`. A reservation fails (NULL) when it would put the producer
// more than size-1 bytes ahead of the consumer or of the oldest uncommitted record.
//
// The kernel maps the data pages twice in a row so a record that wraps is contiguous. Here the
// data block is twice the ring size: a wrapping record is written past the end, and its tail is
// copied to the start of the ring when it is committed (before anyone may read it).
import type { Arena } from '../vm/arena.ts';
import {
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  BPF_RINGBUF_HDR_SZ,
  RB_PAGE,
  RINGBUF_PGOFF,
  type RingbufRecords,
  registerRingbuf,
  unregisterRingbuf,
} from '../vm/maps.ts';
import { EAGAIN, EINVAL, ENOMEM } from './errno.ts';
import {
  BPF_F_NUMA_NODE,
  BPF_RB_AVAIL_DATA,
  BPF_RB_CONS_POS,
  BPF_RB_FORCE_WAKEUP,
  BPF_RB_NO_WAKEUP,
  BPF_RB_PROD_POS,
  BPF_RB_RING_SIZE,
} from './flags.ts';
import { ElementlessMap } from './elementless.ts';
import { flagsNum, roundUp8 } from './map.ts';
import { MAX_MAP_BYTES } from './array.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';

/** kernel: RINGBUF_MAX_RECORD_SZ = UINT_MAX / 4 */
const RINGBUF_MAX_RECORD_SZ = 0x3fffffff;

/** kernel: ringbuf_map_alloc() checks. */
export function ringbufAllocCheck(s: NormalizedSpec): number {
  if (s.flags & ~BPF_F_NUMA_NODE) return -EINVAL;
  const m = s.maxEntries;
  if (s.keySize || s.valueSize || m === 0 || (m & (m - 1)) !== 0 || m % RB_PAGE !== 0) return -EINVAL;
  if (m > MAX_MAP_BYTES) return -ENOMEM;
  return 0;
}

export class RingbufMap extends ElementlessMap implements RingbufRecords {
  protected readonly kindName = 'a ring buffer';
  /** Address of byte 0 of the ring (page aligned). */
  readonly data: number;
  readonly mask: number;
  consumerPos = 0;
  producerPos = 0;
  private pendingPos = 0;
  /** Consumer notifications the kernel would have sent (irq_work wakeups). */
  wakeups = 0;
  /** Reservations and outputs refused for lack of space (the kernel keeps no such count). */
  dropped = 0;

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.mask = spec.maxEntries - 1;
    this.data = this.allocBlock(2 * spec.maxEntries, RB_PAGE, 'map_value', true, 'ring');
    registerRingbuf(arena, this.data, this);
  }

  get size(): number {
    return this.mask + 1;
  }

  protected override onClose(): void {
    unregisterRingbuf(this.arena, this.data);
  }

  // kernel: __bpf_ringbuf_reserve()
  private reserveRecord(size: number): number {
    if (size > RINGBUF_MAX_RECORD_SZ) return 0;
    const len = roundUp8(size + BPF_RINGBUF_HDR_SZ);
    if (len > this.size) return 0;
    const dv = this.arena.dv;
    // Skip over records committed since the last reservation.
    let pend = this.pendingPos;
    while (pend < this.producerPos) {
      const hdrLen = dv.getUint32(this.data + (pend & this.mask), true);
      if (hdrLen & BPF_RINGBUF_BUSY_BIT) break;
      pend += roundUp8((hdrLen & ~BPF_RINGBUF_DISCARD_BIT) + BPF_RINGBUF_HDR_SZ);
    }
    this.pendingPos = pend;
    const prod = this.producerPos;
    const next = prod + len;
    if (next - this.consumerPos > this.mask || next - pend > this.mask) return 0;
    const off = prod & this.mask;
    const hdr = this.data + off;
    dv.setUint32(hdr, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    dv.setUint32(hdr + 4, RINGBUF_PGOFF + Math.floor(off / RB_PAGE), true);
    this.producerPos = next;
    return hdr + BPF_RINGBUF_HDR_SZ;
  }

  ringbufReserve(size: number, flags: bigint): number {
    if (flags !== 0n) return 0;
    const a = this.reserveRecord(size);
    if (!a) this.dropped++;
    return a;
  }

  // kernel: bpf_ringbuf_commit()
  commit(sampleAddr: number, flags: bigint, discard: boolean): boolean {
    const hdr = sampleAddr - BPF_RINGBUF_HDR_SZ;
    const off = hdr - this.data;
    if (off < 0 || off >= this.size || off % 8 !== 0) return false;
    const dv = this.arena.dv;
    const len = dv.getUint32(hdr, true);
    if (!(len & BPF_RINGBUF_BUSY_BIT)) return false;
    const size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    const end = off + BPF_RINGBUF_HDR_SZ + size;
    // The part of a wrapping record written past the ring goes to its start.
    if (end > this.size) this.arena.u8.copyWithin(this.data, this.data + this.size, this.data + end);
    let newLen = (len ^ BPF_RINGBUF_BUSY_BIT) >>> 0;
    if (discard) newLen = (newLen | BPF_RINGBUF_DISCARD_BIT) >>> 0;
    dv.setUint32(hdr, newLen, true);
    const f = flagsNum(flags);
    if (f & BPF_RB_FORCE_WAKEUP) this.wakeups++;
    else if ((this.consumerPos & this.mask) === off && !(f & BPF_RB_NO_WAKEUP)) this.wakeups++;
    return true;
  }

  // kernel: bpf_ringbuf_output()
  ringbufOutput(dataAddr: number, size: number, flags: bigint): number {
    const f = flagsNum(flags);
    if (f & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return -EINVAL;
    const rec = this.reserveRecord(size);
    if (!rec) {
      this.dropped++;
      return -EAGAIN;
    }
    this.arena.u8.copyWithin(rec, dataAddr, dataAddr + size);
    this.commit(rec, flags, false);
    return 0;
  }

  // kernel: bpf_ringbuf_query()
  ringbufQuery(flags: bigint): bigint {
    switch (flags) {
      case BigInt(BPF_RB_AVAIL_DATA):
        return BigInt(this.producerPos - this.consumerPos);
      case BigInt(BPF_RB_RING_SIZE):
        return BigInt(this.size);
      case BigInt(BPF_RB_CONS_POS):
        return BigInt(this.consumerPos);
      case BigInt(BPF_RB_PROD_POS):
        return BigInt(this.producerPos);
      default:
        return 0n;
    }
  }

  /** Bytes produced and not yet consumed. */
  get availableData(): number {
    return this.producerPos - this.consumerPos;
  }

  /**
   * Consumes committed records as libbpf's ring_buffer__consume() does: stops at the first
   * record still being written, skips discarded ones, advances the consumer position.
   */
  consume(max = Number.POSITIVE_INFINITY): Uint8Array[] {
    this.checkOpen();
    const out: Uint8Array[] = [];
    const dv = this.arena.dv;
    while (this.consumerPos < this.producerPos && out.length < max) {
      const len = dv.getUint32(this.data + (this.consumerPos & this.mask), true);
      if (len & BPF_RINGBUF_BUSY_BIT) break;
      const size = len & ~BPF_RINGBUF_DISCARD_BIT;
      if (!(len & BPF_RINGBUF_DISCARD_BIT))
        out.push(this.readRing(this.consumerPos + BPF_RINGBUF_HDR_SZ, size));
      this.consumerPos += roundUp8(size + BPF_RINGBUF_HDR_SZ);
    }
    return out;
  }

  private readRing(pos: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const start = pos & this.mask;
    const first = Math.min(len, this.size - start);
    out.set(this.arena.u8.subarray(this.data + start, this.data + start + first));
    if (first < len) out.set(this.arena.u8.subarray(this.data, this.data + len - first), first);
    return out;
  }
}
