// BPF_MAP_TYPE_USER_RINGBUF (kernel: kernel/bpf/ringbuf.c): the ring buffer user space produces
// into and programs drain with bpf_user_ringbuf_drain(). Records are laid out as in a
// BPF_MAP_TYPE_RINGBUF (ringbuf.ts): an 8-byte header (u32 len with BUSY bit 31 and DISCARD
// bit 30, u32 pad) before each sample, rounded up to 8 bytes, positions that grow without
// wrapping. The host side here is libbpf's user_ring_buffer__reserve/submit/discard; the data
// block is twice the ring so a record that wraps stays contiguous (its tail is copied to the
// start of the ring on submit, as the kernel's double mapping shows it).
import type { Arena } from '../vm/arena.ts';
import { BPF_DYNPTR_SIZE, DYNPTR_MAX_SIZE, initLocalDynptr } from '../vm/dynptr-helpers.ts';
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, RB_PAGE } from '../vm/maps.ts';
import { E2BIG, EAGAIN, EBUSY, EINVAL, ENODATA, ENOSPC, MapError } from './errno.ts';
import { BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP } from './flags.ts';
import { ElementlessMap } from './elementless.ts';
import { flagsNum, roundUp8 } from './map.ts';
import type { CreateMapOptions, NormalizedSpec } from './spec.ts';

/** kernel: BPF_MAX_USER_RINGBUF_SAMPLES */
const BPF_MAX_USER_RINGBUF_SAMPLES = 128 * 1024;

export class UserRingbufMap extends ElementlessMap {
  protected readonly kindName = 'a user ring buffer';
  /** Address of byte 0 of the ring (page aligned). */
  readonly data: number;
  readonly mask: number;
  consumerPos = 0;
  producerPos = 0;
  /** The dynptr each sample is handed to the callback in (kernel: on the helper's stack). */
  private readonly dynptr: number;
  /** A drain is running (kernel: rb->busy): a nested one is -EBUSY. */
  private busy = false;
  /** Producer notifications the kernel would have sent (irq_work wakeups). */
  wakeups = 0;

  constructor(arena: Arena, spec: NormalizedSpec, opts: CreateMapOptions = {}) {
    super(arena, spec, opts);
    this.mask = spec.maxEntries - 1;
    this.data = this.allocBlock(2 * spec.maxEntries, RB_PAGE, 'map_value', true, 'user ring');
    this.dynptr = this.allocBlock(BPF_DYNPTR_SIZE, 8, 'map_value', true, 'sample dynptr');
  }

  get size(): number {
    return this.mask + 1;
  }

  /**
   * libbpf: user_ring_buffer__reserve(): room for a sample of `size` bytes, BUSY until submit()
   * or discard(); its arena address. Throws MapError E2BIG (larger than the ring) or ENOSPC.
   */
  reserve(size: number): number {
    this.checkOpen();
    const len = roundUp8(size + BPF_RINGBUF_HDR_SZ);
    if (size > DYNPTR_MAX_SIZE || len > this.size)
      throw new MapError(E2BIG, `map ${this.name}: a ${size}-byte sample does not fit the ring`);
    if (this.producerPos + len - this.consumerPos > this.size)
      throw new MapError(ENOSPC, `map ${this.name}: no room for a ${size}-byte sample`);
    const hdr = this.data + (this.producerPos & this.mask);
    this.arena.dv.setUint32(hdr, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    this.arena.dv.setUint32(hdr + 4, 0, true);
    this.producerPos += len;
    return hdr + BPF_RINGBUF_HDR_SZ;
  }

  /** libbpf: user_ring_buffer__submit() of a reserved sample. */
  submit(sample: number): void {
    this.commit(sample, false);
  }

  /** libbpf: user_ring_buffer__discard(): the drain skips the sample. */
  discard(sample: number): void {
    this.commit(sample, true);
  }

  /** reserve() + copy + submit(). */
  write(sample: Uint8Array): void {
    const at = this.reserve(sample.length);
    this.arena.write(at, sample);
    this.submit(at);
  }

  private commit(sample: number, discard: boolean): void {
    this.checkOpen();
    const hdr = sample - BPF_RINGBUF_HDR_SZ;
    const off = hdr - this.data;
    const dv = this.arena.dv;
    const len = off >= 0 && off < this.size && off % 8 === 0 ? dv.getUint32(hdr, true) : 0;
    if (!(len & BPF_RINGBUF_BUSY_BIT))
      throw new MapError(EINVAL, `map ${this.name}: 0x${sample.toString(16)} is not a reserved sample`);
    const size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    const end = off + BPF_RINGBUF_HDR_SZ + size;
    if (end > this.size) this.arena.u8.copyWithin(this.data, this.data + this.size, this.data + end);
    dv.setUint32(hdr, ((len & ~BPF_RINGBUF_BUSY_BIT) | (discard ? BPF_RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
  }

  // kernel: __bpf_user_ringbuf_peek(): the next sample's address, or a negative errno (-EAGAIN:
  // a discarded sample, skipped)
  private peek(): { sample: number; size: number } | number {
    const prod = this.producerPos;
    const cons = this.consumerPos;
    if (prod % 8) return -EINVAL;
    if (cons >= prod) return -ENODATA;
    const hdrLen = this.arena.dv.getUint32(this.data + (cons & this.mask), true);
    const flags = hdrLen & (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    const size = (hdrLen & ~flags) >>> 0;
    const total = roundUp8(size + BPF_RINGBUF_HDR_SZ);
    if (total > prod - cons) return -EINVAL;
    if (total > this.size || size > DYNPTR_MAX_SIZE) return -E2BIG;
    if (flags & BPF_RINGBUF_DISCARD_BIT) {
      this.consumerPos = cons + total;
      return -EAGAIN;
    }
    if (flags & BPF_RINGBUF_BUSY_BIT) return -ENODATA;
    return { sample: this.data + ((cons + BPF_RINGBUF_HDR_SZ) & this.mask), size };
  }

  // kernel: bpf_user_ringbuf_drain()
  userRingbufDrain(visit: (dynptrAddr: number) => number, flags: bigint): number {
    const f = flagsNum(flags);
    if (flags >> 32n || f & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return -EINVAL;
    if (this.busy) return -EBUSY;
    this.busy = true;
    let samples = 0;
    let discarded = 0;
    try {
      for (let ret = 0; samples < BPF_MAX_USER_RINGBUF_SAMPLES && ret === 0; samples++) {
        const p = this.peek();
        if (p === -ENODATA) break;
        if (p === -EAGAIN) {
          discarded++;
          continue;
        }
        if (typeof p === 'number') return p;
        // kernel 6.18: a local dynptr, writable (bpf_dynptr_init() without set_rdonly)
        initLocalDynptr(this.arena.dv, this.dynptr, p.sample, p.size);
        ret = visit(this.dynptr);
        // kernel: __bpf_user_ringbuf_sample_release()
        this.consumerPos += roundUp8(p.size + BPF_RINGBUF_HDR_SZ);
      }
    } finally {
      this.busy = false;
    }
    if (f & BPF_RB_FORCE_WAKEUP || (!(f & BPF_RB_NO_WAKEUP) && samples > 0)) this.wakeups++;
    return samples - discarded;
  }
}
