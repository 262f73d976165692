// bpf_timer: a struct bpf_timer (16 opaque bytes) inside a map value; init binds it to its map,
// set_callback names a function, start arms it on the runtime's event loop.
// kernel: kernel/bpf/helpers.c (bpf_timer_init, __bpf_async_set_callback, bpf_timer_start,
// bpf_timer_cancel, bpf_timer_cb)
//
// The timer's bytes hold a non-zero id that finds its state here. When the map element goes
// away (deleted, or its value zeroed), the id no longer matches and the timer is dropped the
// next time it would fire, as the kernel frees timers with their element.
import type { FuncProto, HelperCtx, HelperTable } from '../../vm/helpers.ts';
import type { VmMap } from '../../vm/maps.ts';
import type { ScheduledEvent } from '../event-loop.ts';
import { mapArg } from './callbacks.ts';
import { EBUSY, EDEADLK, EINVAL, type RuntimeEnv } from './env.ts';
import type { FuncTarget } from './func-ptr.ts';

export const BPF_FUNC_timer_init = 169;
export const BPF_FUNC_timer_set_callback = 170;
export const BPF_FUNC_timer_start = 171;
export const BPF_FUNC_timer_cancel = 172;

/** sizeof(struct bpf_timer) */
export const BPF_TIMER_SIZE = 16;
// kernel: enum { BPF_F_TIMER_ABS = 1, BPF_F_TIMER_CPU_PIN = 2 }
const BPF_F_TIMER_ABS = 1n;
const BPF_F_TIMER_CPU_PIN = 2n;
// Clocks bpf_timer_init accepts.
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
/** Marks the second word of an initialised timer. */
const TIMER_MAGIC = 0x746d7242;

interface TimerState {
  id: number;
  addr: number;
  map: VmMap;
  valueAddr: number;
  /** Copy of the element's key, handed to the callback (freed with the timer). */
  keyAddr: number;
  cb: FuncTarget | undefined;
  event: ScheduledEvent | undefined;
  running: boolean;
}

const timerArg = { type: 'ARG_PTR_TO_TIMER' } as const;
const anything = { type: 'ARG_ANYTHING' } as const;
export const timerProtos = {
  init: { ret: 'RET_INTEGER', args: [timerArg, { type: 'ARG_CONST_MAP_PTR' }, anything] },
  setCallback: { ret: 'RET_INTEGER', args: [timerArg, { type: 'ARG_PTR_TO_FUNC' }] },
  start: { ret: 'RET_INTEGER', args: [timerArg, anything, anything] },
  cancel: { ret: 'RET_INTEGER', args: [timerArg] },
} as const satisfies Record<string, FuncProto>;

/** Every timer of one runtime. */
export class TimerTable {
  private readonly byId = new Map<number, TimerState>();
  private nextId = 1;
  /** Callback runs so far. */
  fired = 0;
  private sweepAt = 64;

  constructor(private readonly env: RuntimeEnv) {}

  /** Timers initialised and not yet freed. */
  get size(): number {
    return this.byId.size;
  }

  /** Armed timers. */
  get armed(): number {
    let n = 0;
    for (const t of this.byId.values()) if (t.event) n++;
    return n;
  }

  /** The live timer whose bytes are at addr, if any. */
  at(ctx: HelperCtx, addr: number): TimerState | undefined {
    if (!ctx.arena.check(addr, BPF_TIMER_SIZE, true))
      return ctx.fault('helper', `0x${addr.toString(16)} is not a writable struct bpf_timer`);
    const dv = ctx.arena.dv;
    if (dv.getUint32(addr + 4, true) !== TIMER_MAGIC) return undefined;
    const t = this.byId.get(dv.getUint32(addr, true));
    return t && t.addr === addr ? t : undefined;
  }

  init(ctx: HelperCtx, addr: number, map: VmMap, flags: bigint): number {
    const clock = Number(flags & 0xfn);
    if (
      flags >> 4n !== 0n ||
      (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC && clock !== CLOCK_BOOTTIME)
    )
      return -EINVAL;
    if (this.at(ctx, addr)) return -EBUSY;
    this.sweep();
    const valueAddr = this.valueOf(map, addr);
    if (valueAddr === undefined)
      return ctx.fault('helper', `bpf_timer_init: timer is not inside a value of map ${map.name}`);
    const key = this.keyOf(map, valueAddr);
    if (!key) return -EINVAL;
    const a = ctx.arena;
    const keyAddr = a.alloc(Math.max(1, map.keySize), 8, {
      kind: 'scratch',
      writable: false,
      name: `timer key ${map.name}`,
    });
    a.write(keyAddr, key);
    const id = this.nextId++;
    this.byId.set(id, { id, addr, map, valueAddr, keyAddr, cb: undefined, event: undefined, running: false });
    a.dv.setUint32(addr, id, true);
    a.dv.setUint32(addr + 4, TIMER_MAGIC, true);
    return 0;
  }

  setCallback(t: TimerState, cb: FuncTarget): number {
    t.cb = cb;
    return 0;
  }

  start(t: TimerState, nsecs: bigint, flags: bigint): number {
    if (!t.cb || (flags & ~(BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN)) !== 0n) return -EINVAL;
    const loop = this.env.loop;
    // nsecs is a u64; past 2^53 ns (104 days) the deadline is "never" for any test.
    const n = Number(nsecs);
    const deadline = flags & BPF_F_TIMER_ABS ? n : loop.now() + n;
    if (t.event) loop.cancel(t.event);
    t.event = loop.schedule(deadline, () => this.fire(t));
    return 0;
  }

  /** kernel: bpf_timer_cancel() also drops the callback (drop_prog_refcnt): start needs a new one. */
  cancel(t: TimerState): number {
    if (t.running) return -EDEADLK;
    t.cb = undefined;
    if (!t.event) return 0;
    this.env.loop.cancel(t.event);
    t.event = undefined;
    return 1;
  }

  /** Cancels and frees every timer (the kernel does this when the map's last user goes). */
  clear(): void {
    for (const t of [...this.byId.values()]) this.free(t);
  }

  private fire(t: TimerState): void {
    t.event = undefined;
    const vm = this.env.vm;
    // Dropped with its map (the kernel cancels a map's timers when its last user goes) or
    // with its element?
    if (!this.alive(t)) {
      this.free(t);
      return;
    }
    const cb = t.cb!;
    t.running = true;
    this.fired++;
    try {
      vm.callFunction(cb.prog, cb.pc, t.map.ptr, t.keyAddr, t.valueAddr);
    } finally {
      t.running = false;
      // A callback that deleted its own element (a one-shot) leaves nothing to keep.
      if (!t.event && !this.alive(t)) this.free(t);
    }
  }

  /** The timer's bytes still carry its id and its element is still in the map. */
  private alive(t: TimerState): boolean {
    const dv = this.env.vm.arena.dv;
    return (
      (t.map as { closed?: boolean }).closed !== true &&
      dv.getUint32(t.addr, true) === t.id &&
      dv.getUint32(t.addr + 4, true) === TIMER_MAGIC &&
      t.map.lookup(t.keyAddr) === t.valueAddr
    );
  }

  /** Frees idle timers whose element went away (amortised: when the table has doubled). */
  private sweep(): void {
    if (this.byId.size < this.sweepAt) return;
    for (const t of [...this.byId.values()]) if (!t.event && !t.running && !this.alive(t)) this.free(t);
    this.sweepAt = Math.max(64, this.byId.size * 2);
  }

  private free(t: TimerState): void {
    if (t.event) this.env.loop.cancel(t.event);
    t.event = undefined;
    this.byId.delete(t.id);
    this.env.vm.arena.freeBlock(t.keyAddr);
  }

  /** Start of the map value containing [addr, addr+16), found through the map's elements. */
  private valueOf(map: VmMap, addr: number): number | undefined {
    let found: number | undefined;
    map.forEach?.(0, (_k, v) => {
      if (addr >= v && addr + BPF_TIMER_SIZE <= v + map.valueSize) found = v;
      return found === undefined ? 0 : 1;
    });
    return found;
  }

  /** Bytes of the key whose value starts at valueAddr, or undefined when it is gone. */
  private keyOf(map: VmMap, valueAddr: number): Uint8Array | undefined {
    let key: Uint8Array | undefined;
    const arena = this.env.vm.arena;
    map.forEach?.(0, (k, v) => {
      if (v === valueAddr) key = arena.read(k, map.keySize);
      return key ? 1 : 0;
    });
    return key;
  }
}

export function registerTimerHelpers(t: HelperTable, env: RuntimeEnv, timers: TimerTable): void {
  const live = (ctx: HelperCtx, addr: number) => timers.at(ctx, addr);
  t.register({
    id: BPF_FUNC_timer_init,
    name: 'bpf_timer_init',
    proto: timerProtos.init,
    impl: (ctx, addr) => timers.init(ctx, addr, mapArg(env, ctx, 2), ctx.arg64(3)),
  });
  t.register({
    id: BPF_FUNC_timer_set_callback,
    name: 'bpf_timer_set_callback',
    proto: timerProtos.setCallback,
    impl: (ctx, addr) => {
      const tm = live(ctx, addr);
      return tm ? timers.setCallback(tm, env.funcs.arg(ctx, 2)) : -EINVAL;
    },
  });
  t.register({
    id: BPF_FUNC_timer_start,
    name: 'bpf_timer_start',
    proto: timerProtos.start,
    impl: (ctx, addr) => {
      const tm = live(ctx, addr);
      return tm ? timers.start(tm, ctx.arg64(2), ctx.arg64(3)) : -EINVAL;
    },
  });
  t.register({
    id: BPF_FUNC_timer_cancel,
    name: 'bpf_timer_cancel',
    proto: timerProtos.cancel,
    impl: (ctx, addr) => {
      const tm = live(ctx, addr);
      return tm ? timers.cancel(tm) : -EINVAL;
    },
  });
}
