// Builds socket-filter programs (LLVM assembly) that run a sequence of map operations and
// record every result as a u64 in map 0, a one-element array used through direct value access
// (`map_value(0, off)`), so both the kernel and tsbpf expose each result in their map dumps.
//
// Stack layout: key at r10-8 (u32), value at r10-16 (u64), output data at r10-64..r10-24.
import { assembleAuto } from '../../src/isa/asm/index.ts';
import type { Insn } from '../../src/isa/insn.ts';
import type { KMap } from './kbpf.ts';

/** Recorded in place of a value when a lookup returns NULL. */
export const NULL_MARK = 0xeeeeeeee;

export class MapProg {
  private readonly lines: string[] = [];
  private recs = 0;
  private labels = 0;

  private emit(s: string): this {
    this.lines.push(s);
    return this;
  }

  private label(): string {
    return `L${this.labels++}`;
  }

  /** Stores register `reg` (not r1) as the next result. */
  record(reg: string): this {
    const off = this.recs++ * 8;
    return this.emit(`r1 = map_value(0, ${off}) ll`).emit(`*(u64 *)(r1 + 0) = ${reg}`);
  }

  /** A number key is a u32 at r10-8; a bigint key fills the 8 bytes at r10-8 (LPM keys). */
  private keyValue(key: number | bigint, value?: number): void {
    if (typeof key === 'bigint') this.emit(`r1 = ${key} ll`).emit('*(u64 *)(r10 - 8) = r1');
    else this.emit(`*(u32 *)(r10 - 8) = ${key}`);
    if (value !== undefined) this.emit(`*(u64 *)(r10 - 16) = ${value}`);
  }

  private mapArgs(map: number, withValue: boolean): void {
    this.emit(`r1 = map_fd(${map}) ll`).emit('r2 = r10').emit('r2 += -8');
    if (withValue) this.emit('r3 = r10').emit('r3 += -16');
  }

  update(map: number, key: number | bigint, value: number, flags = 0): this {
    this.keyValue(key, value);
    this.mapArgs(map, true);
    return this.emit(`r4 = ${flags}`).emit('call bpf_map_update_elem').record('r0');
  }

  /** Records the u64 at the value, or NULL_MARK. */
  lookup(map: number, key: number | bigint): this {
    this.keyValue(key);
    this.mapArgs(map, false);
    const l = this.label();
    return this.emit('call bpf_map_lookup_elem')
      .emit(`r6 = ${NULL_MARK} ll`)
      .emit(`if r0 == 0 goto ${l}`)
      .emit('r6 = *(u64 *)(r0 + 0)')
      .emit(`${l}:`)
      .record('r6');
  }

  /** bpf_map_push_elem of a u64; records r0. */
  push(map: number, value: number, flags = 0): this {
    return this.emit(`*(u64 *)(r10 - 16) = ${value}`)
      .emit(`r1 = map_fd(${map}) ll`)
      .emit('r2 = r10')
      .emit('r2 += -16')
      .emit(`r3 = ${flags}`)
      .emit('call bpf_map_push_elem')
      .record('r0');
  }

  /** bpf_map_pop_elem / peek_elem into r10-16; records r0, then the u64 read back. */
  take(map: number, fn: 'pop' | 'peek'): this {
    return this.emit('*(u64 *)(r10 - 16) = 0')
      .emit(`r1 = map_fd(${map}) ll`)
      .emit('r2 = r10')
      .emit('r2 += -16')
      .emit(`call bpf_map_${fn}_elem`)
      .record('r0')
      .emit('r6 = *(u64 *)(r10 - 16)')
      .record('r6');
  }

  /** bpf_map_peek_elem on a bloom filter: is `value` (maybe) present? Records r0. */
  bloomPeek(map: number, value: number): this {
    return this.emit(`*(u64 *)(r10 - 16) = ${value}`)
      .emit(`r1 = map_fd(${map}) ll`)
      .emit('r2 = r10')
      .emit('r2 += -16')
      .emit('call bpf_map_peek_elem')
      .record('r0');
  }

  /** Looks `key` up in the map-in-map `outer`, then `innerKey` in the inner map found. */
  lookupInner(outer: number, key: number, innerKey: number): this {
    const l = this.label();
    this.keyValue(key);
    this.mapArgs(outer, false);
    return this.emit('call bpf_map_lookup_elem')
      .emit(`r6 = ${NULL_MARK} ll`)
      .emit(`if r0 == 0 goto ${l}`)
      .emit('r1 = r0')
      .emit(`*(u32 *)(r10 - 8) = ${innerKey}`)
      .emit('r2 = r10')
      .emit('r2 += -8')
      .emit('call bpf_map_lookup_elem')
      .emit(`r6 = ${NULL_MARK} ll`)
      .emit(`if r0 == 0 goto ${l}`)
      .emit('r6 = *(u64 *)(r0 + 0)')
      .emit(`${l}:`)
      .record('r6');
  }

  /** Keeps the value pointer of `key` in r8 (NULL_MARK recorded when missing). */
  hold(map: number, key: number): this {
    this.keyValue(key);
    this.mapArgs(map, false);
    return this.emit('call bpf_map_lookup_elem').emit('r8 = r0');
  }

  /** Records the u64 r8 points at (if r8 is NULL: NULL_MARK). */
  readHeld(): this {
    const l = this.label();
    return this.emit(`r6 = ${NULL_MARK} ll`)
      .emit(`if r8 == 0 goto ${l}`)
      .emit('r6 = *(u64 *)(r8 + 0)')
      .emit(`${l}:`)
      .record('r6');
  }

  /** Adds `n` to the held value in place (programs write map values directly). */
  addHeld(n: number): this {
    const l = this.label();
    return this.emit(`if r8 == 0 goto ${l}`)
      .emit('r6 = *(u64 *)(r8 + 0)')
      .emit(`r6 += ${n}`)
      .emit('*(u64 *)(r8 + 0) = r6')
      .emit(`${l}:`);
  }

  delete(map: number, key: number | bigint): this {
    this.keyValue(key);
    this.mapArgs(map, false);
    return this.emit('call bpf_map_delete_elem').record('r0');
  }

  /** bpf_map_lookup_percpu_elem; records the value or NULL_MARK. */
  lookupPercpu(map: number, key: number, cpu: number): this {
    this.keyValue(key);
    this.mapArgs(map, false);
    const l = this.label();
    return this.emit(`r3 = ${cpu}`)
      .emit('call bpf_map_lookup_percpu_elem')
      .emit(`r6 = ${NULL_MARK} ll`)
      .emit(`if r0 == 0 goto ${l}`)
      .emit('r6 = *(u64 *)(r0 + 0)')
      .emit(`${l}:`)
      .record('r6');
  }

  /** Reserves `size` bytes; records 1/0 for success; writes a u64 and submits or discards. */
  reserve(map: number, size: number, flags: number, then: 'submit' | 'discard', commitFlags = 0): this {
    const l = this.label();
    this.emit(`r1 = map_fd(${map}) ll`)
      .emit(`r2 = ${size}`)
      .emit(`r3 = ${flags}`)
      .emit('call bpf_ringbuf_reserve')
      .emit('r7 = 0')
      .emit(`if r0 == 0 goto ${l}`)
      .emit('r7 = 1');
    if (size >= 8) this.emit('r2 = 0x5a5a').emit('*(u64 *)(r0 + 0) = r2');
    return this.emit('r1 = r0')
      .emit(`r2 = ${commitFlags}`)
      .emit(`call bpf_ringbuf_${then}`)
      .emit(`${l}:`)
      .record('r7');
  }

  /** bpf_ringbuf_output of `size` (<= 40) stack bytes. */
  output(map: number, size: number, flags = 0): this {
    for (let off = 64; off > 24; off -= 8) this.emit(`*(u64 *)(r10 - ${off}) = ${off}`);
    return this.emit(`r1 = map_fd(${map}) ll`)
      .emit('r2 = r10')
      .emit('r2 += -64')
      .emit(`r3 = ${size}`)
      .emit(`r4 = ${flags}`)
      .emit('call bpf_ringbuf_output')
      .record('r0');
  }

  query(map: number, what: number): this {
    return this.emit(`r1 = map_fd(${map}) ll`)
      .emit(`r2 = ${what}`)
      .emit('call bpf_ringbuf_query')
      .record('r0');
  }

  /** Number of results recorded so far. */
  get count(): number {
    return this.recs;
  }

  /** The program (returning the number of results) and map 0's spec. */
  build(): { insns: Insn[]; out: KMap; text: string } {
    const text = [...this.lines, `r0 = ${this.recs}`, 'exit'].join('\n');
    return {
      insns: assembleAuto(text),
      out: { type: 'array', key: 4, value: Math.max(8, this.recs * 8), max: 1 },
      text,
    };
  }
}

/** Splits map0[0]'s hex into the recorded u64 results, as signed numbers where they are small. */
export function results(hexValue: string | undefined): bigint[] {
  if (!hexValue) return [];
  const b = Buffer.from(hexValue, 'hex');
  const out: bigint[] = [];
  for (let i = 0; i + 8 <= b.length; i += 8) out.push(b.readBigInt64LE(i));
  return out;
}
