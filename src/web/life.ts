// examples/life on a canvas: `seed`, `step`, `start` / `stop` are the object's own syscall
// programs. `start` arms a bpf_timer on the collection's virtual-time event loop; a JS interval
// advances that clock by one period per frame, so the timer callback computes the generations.
import type { Collection } from '../runtime/collection.ts';
import { RingbufMap } from '../maps/ringbuf.ts';
import { BOARD_BYTES, packedCell } from '../life/packed.ts';

// examples/life defaults (.rodata width / height / period_ns, not patched here).
const WIDTH = 64;
const HEIGHT = 40;
const PERIOD_NS = 100e6;
const FRAME_MS = 100;

export function isLife(coll: Collection | undefined): coll is Collection {
  return (
    !!coll && ['seed', 'step', 'start', 'stop'].every((p) => coll.programs.has(p)) && coll.maps.has('board')
  );
}

export class LifeView {
  private interval: ReturnType<typeof setInterval> | undefined;
  generation = 0n;
  live = 0;

  constructor(
    private readonly coll: Collection,
    private readonly canvas: HTMLCanvasElement,
    private readonly info: HTMLElement,
    private readonly output: (line: string) => void,
  ) {}

  seed(): void {
    this.coll.program('seed').run({});
    this.draw();
  }

  step(): void {
    this.coll.program('step').run({});
    this.drain();
    this.draw();
  }

  /** Arms the program's timer; the frames then move the virtual clock. */
  start(): void {
    const r = this.coll.program('start').run({});
    if (r.retval !== 0) this.output(`life: start returned ${r.retval | 0}`);
    this.interval ??= setInterval(() => this.frame(), FRAME_MS);
  }

  stop(): void {
    this.coll.program('stop').run({});
    this.halt();
  }

  halt(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    this.interval = undefined;
  }

  private frame(): void {
    try {
      const loop = this.coll.loop;
      loop.runUntil(loop.now() + PERIOD_NS);
      this.drain();
      this.draw();
      if (loop.pending === 0) this.halt();
    } catch (e) {
      this.output(`life: ${e instanceof Error ? e.message : String(e)}`);
      this.halt();
    }
  }

  /** Reads struct life_event records from the `generations` ring buffer. */
  private drain(): void {
    const rb = this.coll.maps.get('generations');
    if (!(rb instanceof RingbufMap)) return;
    for (const rec of rb.consume()) {
      if (rec.length < 24) continue;
      const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      this.generation = dv.getBigUint64(0, true);
      this.live = dv.getUint32(16, true);
    }
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const board = this.coll.map('board');
    const cw = this.canvas.width / WIDTH;
    const ch = this.canvas.height / HEIGHT;
    ctx.fillStyle = '#111';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.fillStyle = '#8fe388';
    // One map value: struct life_board, the rows as bits (src/life/packed.ts).
    const v = board.lookup(new Uint8Array(4));
    let live = 0;
    if (v instanceof Uint8Array && v.length >= BOARD_BYTES)
      for (let y = 0; y < HEIGHT; y++)
        for (let x = 0; x < WIDTH; x++) {
          if (!packedCell(v, x, y)) continue;
          live++;
          ctx.fillRect(x * cw, y * ch, cw - 1, ch - 1);
        }
    this.canvas.dataset.live = String(live);
    this.info.textContent = `generation ${this.generation}, ${live} live cells${this.interval ? ', running on bpf_timer' : ''}`;
  }
}
