// The Game of Life demo's host: loads examples/life/life.bpf.o into a live collection, patches
// its .rodata (size, edges, rule, period), writes the first board into the `board` map, checks
// the programs with tsbpf's verifier, arms the timer with `start` and reads each generation
// back from the `generations` ring buffer — the same steps a libbpf loader takes in the kernel.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec } from '../elf/index.ts';
import type { CollectionSpec } from '../elf/spec.ts';
import { TsbpfError, UsageError } from '../errors.ts';
import { RingbufMap } from '../maps/index.ts';
import { type Collection, type Engine, newCollection } from '../runtime/index.ts';
import type { Board } from './board.ts';
import { BOARD_BYTES, decodeFrame, type Frame, MAX_SIDE, packBoard, unpackBoard } from './packed.ts';
import { type ProgramVerdict, verifyLifeProgram } from './verify.ts';

/** Resolved from this file, not the working directory, so `npx tsbpf life` works anywhere. */
export const LIFE_OBJECT = fileURLToPath(new URL('../../examples/life/life.bpf.o', import.meta.url));

/** B3/S23 as life.bpf.c's rule mask: bit n = birth with n neighbours, bit 9 + n = survival. */
export const RULE_B3_S23 = (1 << 3) | (1 << (9 + 2)) | (1 << (9 + 3));

/** The programs the host runs (step and seed stay unloaded: the timer does the stepping). */
export const HOST_PROGRAMS = ['start', 'stop'] as const;

export interface LifeOptions {
  width?: number;
  height?: number;
  /** Edges wrap (default true); false: cells past the edge are dead. */
  torus?: boolean;
  /** Timer period in ns (default 50 ms); 0 = every generation due at once. */
  periodNs?: number;
  /** The timer stops re-arming after this many generations (0 = never). */
  maxGenerations?: number;
  rule?: number;
  engine?: Engine;
  /** 'virtual' (default): generations run when the host drives the loop; 'real': on wall time. */
  clock?: 'virtual' | 'real';
  /** Run tsbpf's verifier over the programs before running them (default true). */
  verify?: boolean;
  /**
   * Check every memory access at run time (default true). Verified programs are memory-safe by
   * the verifier's proof, as in the kernel, so false trades a safety net for speed.
   */
  checked?: boolean;
  /** The verifier's processed-instruction limit (default the kernel's 1,000,000). */
  verifyLimit?: number;
}

/** One ring-buffer record: struct life_event of life.bpf.c. */
export interface GenerationEvent {
  generation: number;
  timeNs: number;
  live: number;
  births: number;
  deaths: number;
  hash: number;
  width: number;
  height: number;
}

/** The verifier refused a Life program (CLI exit code 1). */
export class LifeVerifyError extends TsbpfError {
  constructor(
    message: string,
    where: TsbpfError['where'],
    readonly log: string[],
  ) {
    super('VERIFY', message, { where });
  }
}

let specCache: CollectionSpec | undefined;
function lifeSpec(): CollectionSpec {
  specCache ??= loadCollectionSpec(readFileSync(LIFE_OBJECT), { file: LIFE_OBJECT });
  return specCache;
}

function side(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE)
    throw new UsageError(`--${name}: expected an integer between 1 and ${MAX_SIDE}, got ${v}`);
  return v;
}

function ringbuf(coll: Collection, name: string): RingbufMap {
  const ring = coll.map(name);
  if (!(ring instanceof RingbufMap)) throw new UsageError(`${LIFE_OBJECT}: map ${name} is not a ring buffer`);
  return ring;
}

/** Offset of `frames` in life.bpf.c's struct life_state (.bss). */
const FRAMES_FLAG_OFFSET = 28;

export class LifeHost {
  readonly width: number;
  readonly height: number;
  readonly torus: boolean;
  readonly engine: Engine;
  readonly coll: Collection;
  /** tsbpf's verdicts on HOST_PROGRAMS (empty with verify: false). */
  readonly verdicts: ProgramVerdict[] = [];
  private readonly ring: RingbufMap;
  private readonly frameRing: RingbufMap;
  private readonly packed = new Uint8Array(BOARD_BYTES);
  private readonly rowKey = new Uint8Array(4);
  private readonly rowKeyView = new DataView(this.rowKey.buffer);
  private running = false;

  constructor(opts: LifeOptions = {}) {
    this.width = side('width', opts.width ?? 64);
    this.height = side('height', opts.height ?? 40);
    this.torus = opts.torus ?? true;
    this.engine = opts.engine ?? 'interp';
    const spec = lifeSpec();
    this.coll = newCollection(spec, {
      engine: this.engine,
      clock: opts.clock ?? 'virtual',
      // Verified below with the timer's BTF offset, which the runtime's own gate does not pass.
      verify: false,
      programs: HOST_PROGRAMS,
      vm: { checked: opts.checked ?? true },
      rodata: {
        width: this.width,
        height: this.height,
        torus: this.torus ? 1 : 0,
        rule: opts.rule ?? RULE_B3_S23,
        period_ns: opts.periodNs ?? 50_000_000,
        max_generations: opts.maxGenerations ?? 0,
      },
    });
    try {
      if (opts.verify ?? true) this.verifyAll(spec, opts.verifyLimit);
      this.ring = ringbuf(this.coll, 'generations');
      this.frameRing = ringbuf(this.coll, 'frames');
    } catch (e) {
      this.coll.close();
      throw e;
    }
  }

  private verifyAll(spec: CollectionSpec, insnLimit: number | undefined): void {
    for (const name of HOST_PROGRAMS) {
      const v = verifyLifeProgram(spec, this.coll, name, insnLimit === undefined ? {} : { insnLimit });
      this.verdicts.push(v);
      if (v.result.verdict === 'accept') continue;
      const e = v.result.error;
      const src = e?.line ? ` at ${e.line.file}:${e.line.line} "${e.line.text.trim()}"` : '';
      throw new LifeVerifyError(
        `verifier rejected ${name}${src}: ${e?.message ?? 'rejected'} (--no-verify runs it anyway)`,
        { file: LIFE_OBJECT, prog: name, ...(e ? { insnIdx: e.insnIdx } : {}) },
        v.result.log,
      );
    }
  }

  private key(y: number): Uint8Array {
    this.rowKeyView.setUint32(0, y, true);
    return this.rowKey;
  }

  /** Writes `b` into the board map (cells past b's size are dead). */
  setBoard(b: Board): void {
    if (b.width > this.width || b.height > this.height)
      throw new UsageError(`board ${b.width}×${b.height} does not fit the ${this.width}×${this.height} game`);
    this.coll.map('board').update(this.key(0), packBoard(b, this.packed));
  }

  /** The board map's width × height area now. */
  board(): Board {
    const v = this.coll.map('board').lookup(this.key(0));
    return v instanceof Uint8Array && v.length >= BOARD_BYTES
      ? unpackBoard(v, this.width, this.height)
      : unpackBoard(new Uint8Array(BOARD_BYTES), this.width, this.height);
  }

  /**
   * Frames on or off: while on, every generation also publishes the whole board to the
   * `frames` ring buffer (.bss `state.frames`, read by the program on each generation).
   */
  publishFrames(on: boolean): void {
    const bss = this.coll.map('life.bss');
    const v = bss.lookup(this.key(0));
    if (!(v instanceof Uint8Array)) return;
    const copy = v.slice();
    new DataView(copy.buffer).setUint32(FRAMES_FLAG_OFFSET, on ? 1 : 0, true);
    bss.update(this.key(0), copy);
  }

  /** The frames published since the last call, oldest first. */
  drainFrames(): Frame[] {
    const out: Frame[] = [];
    for (const rec of this.frameRing.consume()) {
      const f = decodeFrame(rec);
      if (f) out.push(f);
    }
    return out;
  }

  /** Generations computed so far (.bss state.generation). */
  get generation(): number {
    const bss = this.coll.map('life.bss').lookup(this.key(0));
    return bss instanceof Uint8Array
      ? Number(new DataView(bss.buffer, bss.byteOffset).getBigUint64(0, true))
      : 0;
  }

  /** Runs `start`: the timer now computes a generation every period and re-arms itself. */
  start(): void {
    const r = this.coll.program('start').run();
    if (r.retval !== 0)
      throw new TsbpfError('FAULT', `start returned ${r.retval | 0}`, { where: { prog: 'start' } });
    this.running = true;
  }

  /** Runs `stop`: the timer is cancelled. */
  stop(): void {
    if (!this.running) return;
    this.coll.program('stop').run();
    this.running = false;
  }

  /** Records the timer published since the last drain, oldest first. */
  drain(): GenerationEvent[] {
    return this.ring.consume().map((r) => {
      const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
      return {
        generation: Number(dv.getBigUint64(0, true)),
        timeNs: Number(dv.getBigUint64(8, true)),
        live: dv.getUint32(16, true),
        births: dv.getUint32(20, true),
        deaths: dv.getUint32(24, true),
        hash: dv.getUint32(28, true),
        width: dv.getUint16(32, true),
        height: dv.getUint16(34, true),
      };
    });
  }

  /**
   * Virtual clock: fires timer events until `n` more generations are on the board (or the timer
   * stops), draining the ring buffer as it goes so that no record is dropped. `onEvent` sees
   * every record. Returns the generation reached.
   */
  runGenerations(n: number, onEvent?: (e: GenerationEvent) => void): number {
    const target = this.generation + n;
    let gen = this.generation;
    while (gen < target && this.coll.loop.pending > 0) {
      // One event per generation; chunks keep the 256 KiB ring (~5,400 records) from filling.
      this.coll.loop.runSteps(Math.min(4096, target - gen));
      const events = this.drain();
      if (onEvent) for (const e of events) onEvent(e);
      gen = this.generation;
    }
    return gen;
  }

  close(): void {
    this.coll.close();
  }
}
