// Zeroed work arrays for the passes before exploration, reused from one verify() to the next. A
// typed array over 64 bytes lives outside V8's heap: allocating one costs 0.2-0.4 µs plus its
// clean-up, as much as a whole pass over a small program, and a verify() needed a dozen. Only
// for temporaries a pass drops before it returns: the next pass that asks overwrites them.

type Typed = Int32Array | Uint32Array | Uint16Array | Uint8Array;

/** One reusable buffer; get(n) hands out its first n elements, zeroed. */
export class WorkArray<T extends Typed> {
  private buf: T;

  constructor(private readonly make: (n: number) => T) {
    this.buf = make(256);
  }

  get(n: number): T {
    if (this.buf.length < n) this.buf = this.make(Math.max(n, 2 * this.buf.length));
    const view = this.buf.subarray(0, n) as T;
    view.fill(0);
    return view;
  }
}
