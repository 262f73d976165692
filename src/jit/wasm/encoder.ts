// A growing byte buffer with LEB128 writers. Section and body sizes are written as fixed-width
// (5-byte, padded) LEB128 placeholders and patched once the size is known, so nothing is copied.

export class ByteWriter {
  private buf = new Uint8Array(256);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  u8(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    this.ensure(bs.length);
    this.buf.set(bs, this.len);
    this.len += bs.length;
  }

  /** Unsigned LEB128 of a u32. */
  uleb(v: number): void {
    this.ensure(5);
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (x !== 0);
  }

  /** Signed LEB128 of an i32. */
  sleb32(v: number): void {
    this.ensure(5);
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  /** Signed LEB128 of the i64 with halves (lo, hi); shifts the pair right 7 bits at a time. */
  sleb64(lo: number, hi: number): void {
    if (hi === lo >> 31) {
      this.sleb32(lo);
      return;
    }
    this.ensure(10);
    let l = lo >>> 0;
    let h = hi | 0;
    for (;;) {
      const b = l & 0x7f;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>= 7;
      const done =
        (h === 0 && l === 0 && (b & 0x40) === 0) || (h === -1 && l === 0xffffffff && (b & 0x40) !== 0);
      if (done) {
        this.buf[this.len++] = b;
        return;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  /** UTF-8 name, length-prefixed. */
  name(s: string): void {
    const b = new TextEncoder().encode(s);
    this.uleb(b.length);
    this.bytes(b);
  }

  /** Reserves a 5-byte LEB128 slot; fill it with patchSize(). */
  placeholder(): number {
    this.ensure(5);
    const at = this.len;
    this.len += 5;
    return at;
  }

  /** Writes the number of bytes after the placeholder at `at` into it, padded to 5 bytes. */
  patchSize(at: number): void {
    let x = this.len - at - 5;
    for (let i = 0; i < 5; i++) {
      this.buf[at + i] = (x & 0x7f) | (i < 4 ? 0x80 : 0);
      x >>>= 7;
    }
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
