// tsbpf attach: a packet program (xdp, tc, socket filter, cgroup_skb) over every packet of a
// pcap/pcapng file, one test run per packet, as if attached to an interface replaying it.
// Prints per-action counts, refused packets, timing, ring buffer records, optionally the
// packets that went on as a pcap and the maps formatted like `bpftool map dump`.
import { performance } from 'node:perf_hooks';
import type { Btf } from '../../btf/btf.ts';
import type { CollectionSpec } from '../../elf/spec.ts';
import { UsageError } from '../../errors.ts';
import {
  type BpfMap,
  type BtfValue,
  btfValue,
  btfValueToJson,
  MapError,
  PerfEventArrayMap,
  RingbufMap,
} from '../../maps/index.ts';
import { type Collection, newCollection, type Program } from '../../runtime/collection.ts';
import {
  LINKTYPE_ETHERNET,
  type PacketAction,
  readPcap,
  runPacketStream,
} from '../../runtime/attach/index.ts';
import { ETH_HLEN } from '../../vm/ctx-layout.ts';
import { flag, onePositional, type Parsed, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import { readInput, samePath, writeOutput } from '../io.ts';
import { loadInput, pickProgram } from '../program-input.ts';
import { parseGlobals, verifyLoaded } from '../loaded-object.ts';
import { BTF_OPTION, btfUsage, coreTargetOpt } from '../target-btf.ts';
import { dumpMapJson, dumpMapText } from './map.ts';
import { reusePins, savePins } from '../object-pins.ts';
import { BPFFS_OPTION, bpffsDir } from '../pins.ts';

const PACKET_TYPES = new Set(['xdp', 'sched_cls', 'sched_act', 'socket_filter', 'cgroup_skb']);

export function requireObject(path: string): CollectionSpec {
  const input = loadInput(path);
  if (!input.spec) throw new UsageError(`${path} is not an ELF object`);
  return input.spec;
}

function hexBytes(text: string, what: string): Uint8Array {
  const h = text.replace(/^0x/i, '');
  if (h.length === 0 || h.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(h))
    throw new UsageError(`--map-set ${what}: '${text}' is not an even number of hex digits`);
  return Uint8Array.from(h.match(/../g)!, (b) => Number.parseInt(b, 16));
}

/** The map a user names: its exact name, or a global data section ('.data' for 'obj.data'). */
export function findMap(coll: Collection, name: string): BpfMap {
  const exact = coll.maps.get(name);
  if (exact) return exact;
  if (name.startsWith('.')) {
    const bySuffix = [...coll.maps.values()].filter((m) => m.name.endsWith(name));
    if (bySuffix.length === 1) return bySuffix[0]!;
  }
  throw new UsageError(`no map named '${name}' (maps: ${[...coll.maps.keys()].join(', ') || 'none'})`);
}

/** `--map-set MAP:KEYHEX=VALUEHEX`: key and value bytes as they sit in memory. */
function applyMapSets(coll: Collection, sets: readonly string[]): void {
  for (const s of sets) {
    const m = /^([^:]+):([^=]*)=(.*)$/.exec(s);
    if (!m) throw new UsageError(`--map-set ${s}: expected MAP:KEYHEX=VALUEHEX`);
    const map = findMap(coll, m[1]!);
    const key = hexBytes(m[2]!, s);
    const value = hexBytes(m[3]!, s);
    if (key.length !== map.keySize || value.length !== map.valueSize)
      throw new UsageError(
        `--map-set ${s}: map ${map.name} takes ${map.keySize}-byte keys and ${map.valueSize}-byte values, got ${key.length} and ${value.length}`,
      );
    try {
      map.update(key, value);
    } catch (e) {
      if (e instanceof MapError) throw new UsageError(`--map-set ${s}: ${e.message}`);
      throw e;
    }
  }
}

export interface LoadOptions {
  path: string;
  /** Load and return this program (undefined: the object's only program). */
  prog?: string;
  /** Load no program unless `prog` names one (map inspection). */
  mapsOnly?: boolean;
  sets?: readonly string[];
  mapSets?: readonly string[];
  engine?: 'interp' | 'jit';
  verify?: boolean;
  /** --btf: CO-RE target. */
  coreTarget?: Btf;
  /** bpffs stand-in: maps with pinning LIBBPF_PIN_BY_NAME reuse their pins from here. */
  bpffs?: string;
}

/** Loads an object as a live collection (only `prog` and its tail-call targets, when given). */
export function loadObject(o: LoadOptions): { coll: Collection; prog?: Program } {
  const spec = requireObject(o.path);
  let progName: string | undefined;
  if (o.prog !== undefined || !o.mapsOnly) {
    const ps = pickProgram(spec, o.prog);
    if (ps.isSubprog) throw new UsageError(`${ps.name} is a .text function, not a program`);
    progName = ps.name;
  }
  const names = new Set<string>(progName ? [progName] : []);
  for (const m of spec.maps) for (const v of m.initialValues ?? []) if (v.kind === 'prog') names.add(v.name);
  const coll = newCollection(spec, {
    programs: [...names],
    verify: false,
    rodata: parseGlobals(o.sets ?? []),
    engine: o.engine ?? 'interp',
    ...(o.coreTarget ? { coreTarget: o.coreTarget } : {}),
  });
  try {
    if (o.bpffs !== undefined) reusePins(coll, o.bpffs);
    if (o.verify !== false) for (const p of coll.programs.values()) verifyLoaded(o.path, coll, p);
    applyMapSets(coll, o.mapSets ?? []);
    return progName ? { coll, prog: coll.program(progName) } : { coll };
  } catch (e) {
    coll.close();
    throw e;
  }
}

export interface AttachReport {
  prog: string;
  type: string;
  packets: number;
  actions: Record<string, number>;
  /** Socket filters: accepted packets cut short by the return value. */
  truncated?: number;
  refused: number;
  refusedReasons: Record<string, number>;
  totalNs: number;
  nsPerPacket: number;
  ringbufRecords: number;
  ringbufLost: number;
  /** Perf event array samples drained (and lost because a buffer was full). */
  perfRecords: number;
  perfLost: number;
  output?: { path: string; packets: number };
}

/** One ring-buffer or perf-buffer record, as `--follow` prints it. */
export interface StreamRecord {
  map: string;
  kind: 'ringbuf' | 'perf';
  /** Index of the packet whose run produced it. */
  packet: number;
  cpu?: number;
  data: Uint8Array;
}

/**
 * Runs `prog` over the packets of `pcapPath`; ring buffers and perf buffers are drained after
 * every packet, each record handed to `onRecord` as it is drained.
 */
export function attachPcap(
  coll: Collection,
  prog: Program,
  pcapPath: string,
  outPath?: string,
  inputs: readonly string[] = [],
  onRecord?: (r: StreamRecord) => void,
): AttachReport {
  if (!PACKET_TYPES.has(prog.type))
    throw new UsageError(
      `program ${prog.name} is ${prog.type}, not a packet program (xdp, tc, socket_filter, cgroup_skb)`,
    );
  // Refuse before the run rather than after it.
  if (outPath !== undefined && [pcapPath, ...inputs].some((i) => samePath(i, outPath)))
    throw new UsageError(`refusing to overwrite the input file ${outPath}`);
  const packets = readPcap(readInput(pcapPath), pcapPath);
  const foreign = packets.findIndex((p) => p.linkType !== LINKTYPE_ETHERNET);
  if (foreign >= 0)
    throw new UsageError(
      `${pcapPath}: packet ${foreign} has link type ${packets[foreign]!.linkType}; packet programs need Ethernet (1)`,
    );
  const refusedReasons: Record<string, number> = {};
  let lastLen = 0;
  // Same program, but the reason a test run refuses a packet is counted before the stream skips it.
  const counting = Object.create(prog) as Program;
  counting.run = (opts) => {
    lastLen = opts?.data?.length ?? 0;
    try {
      return prog.run(opts);
    } catch (e) {
      if (e instanceof UsageError) {
        const why = e.message.replace(/\b\d+\b/g, 'N');
        refusedReasons[why] = (refusedReasons[why] ?? 0) + 1;
      }
      throw e;
    }
  };
  const ringbufs = [...coll.maps.values()].filter((m): m is RingbufMap => m instanceof RingbufMap);
  const lostBefore = ringbufs.reduce((n, r) => n + r.dropped, 0);
  const perfs = [...coll.maps.values()].filter((m): m is PerfEventArrayMap => m instanceof PerfEventArrayMap);
  let perfLost = 0;
  let perfRecords = 0;
  let packetNo = 0;
  let records = 0;
  let truncated = 0;
  const t0 = performance.now();
  const report = runPacketStream(counting, packets, {
    keepOutput: outPath !== undefined,
    onPacket: (v) => {
      for (const r of ringbufs)
        for (const data of r.consume()) {
          records++;
          onRecord?.({ map: r.name, kind: 'ringbuf', packet: packetNo, data });
        }
      for (const m of perfs) {
        const got = m.read();
        for (const l of got.lost) perfLost += l.count;
        for (const rec of got.records) {
          perfRecords++;
          onRecord?.({ map: m.name, kind: 'perf', packet: packetNo, cpu: rec.cpu, data: rec.data });
        }
      }
      packetNo++;
      if (prog.type === 'socket_filter' && v.action === 'ACCEPT' && v.retval < lastLen - ETH_HLEN)
        truncated++;
    },
  });
  const totalNs = Math.round((performance.now() - t0) * 1e6);
  if (outPath !== undefined) writeOutput(outPath, report.outputPcap(), [pcapPath, ...inputs]);
  const actions: Record<string, number> = {};
  for (const [a, n] of [...report.actions].sort(([a], [b]) => actionOrder(a) - actionOrder(b)))
    actions[a] = n;
  return {
    prog: prog.name,
    type: prog.type,
    packets: report.packets,
    actions,
    ...(prog.type === 'socket_filter' ? { truncated } : {}),
    refused: report.rejected,
    refusedReasons,
    totalNs,
    nsPerPacket: report.packets ? Math.round(totalNs / report.packets) : 0,
    ringbufRecords: records,
    ringbufLost: ringbufs.reduce((n, r) => n + r.dropped, 0) - lostBefore,
    perfRecords,
    perfLost,
    ...(outPath !== undefined ? { output: { path: outPath, packets: report.output.length } } : {}),
  };
}

const spacedHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const toHexString = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** `--record-type NAME`: records of exactly that struct's size are shown through its BTF. */
function recordFormatter(
  coll: Collection,
  name: string | undefined,
): (b: Uint8Array) => BtfValue | undefined {
  if (name === undefined) return () => undefined;
  const btf = coll.spec.btf;
  const t = btf?.findByName(name, 'struct')[0] ?? btf?.findByName(name, 'union')[0];
  if (!btf || !t || (t.kind !== 'struct' && t.kind !== 'union'))
    throw new UsageError(`--record-type ${name}: the object's BTF has no struct or union of that name`);
  return (b) => (b.length === t.size ? btfValue(btf, t.id, b) : undefined);
}

const ORDER = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT', 'TC_ACT_UNSPEC', 'TC_ACT_OK'];
const actionOrder = (a: PacketAction): number => {
  const i = ORDER.indexOf(a);
  return i < 0 ? ORDER.length : i;
};

function engineOpt(p: Parsed): 'interp' | 'jit' {
  const engine = str(p, 'engine') ?? 'interp';
  if (engine !== 'interp' && engine !== 'jit')
    throw new UsageError(`--engine ${engine}: expected interp or jit`);
  return engine;
}

export const attachCommand: Command = {
  name: 'attach',
  summary: 'Run a packet program over every packet of a pcap file; count its verdicts',
  usage: `attach FILE.o --pcap IN.pcap [options]

  --prog NAME          the program (needed when the object has several): xdp, tc
                       (sched_cls/sched_act), socket_filter or cgroup_skb
  --pcap FILE          packets to replay (pcap or pcapng, Ethernet)
  --out FILE           write the packets that went on (passed, transmitted,
                       redirected, accepted) as a pcap; never an input file
  --map-set M:KEY=VAL  before the run, update map M with key and value given as
                       hex bytes in memory order (repeatable)
  --set NAME=VAL       set a global (const volatile) variable before loading
  --engine E           interp (default) | jit
  --no-verify          run without the verifier
${btfUsage(23)}
  --pin-maps           after the run, pin every map whose state is its elements
  --bpffs DIR          pins' directory (default $TSBPF_BPFFS or ./.tsbpf/bpffs); maps
                       with pinning LIBBPF_PIN_BY_NAME reuse DIR/NAME and are pinned there
  --follow             print every ring-buffer and perf-buffer record as the packet
                       that produced it finishes ('[packet N] ringbuf MAP: hex');
                       with --json one object per line, then the report
  --record-type NAME   with --follow: format records as this BTF struct of the object
  --dump-maps          after the run, print every map like 'bpftool map dump'
  --json               {"prog", "type", "packets", "actions", "refused", "total_ns", ...}

  Exit code 1 when the verifier rejects the program; 2 for bad input.`,
  run(argv, io) {
    const p = parseCommandArgs('attach', argv, {
      prog: { type: 'string' },
      pcap: { type: 'string' },
      out: { type: 'string' },
      'map-set': { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      engine: { type: 'string' },
      'no-verify': { type: 'boolean' },
      'dump-maps': { type: 'boolean' },
      json: { type: 'boolean' },
      'pin-maps': { type: 'boolean' },
      follow: { type: 'boolean' },
      'record-type': { type: 'string' },
      ...BPFFS_OPTION,
      ...BTF_OPTION,
    });
    const path = onePositional(p, 'attach', 'FILE.o');
    const pcap = str(p, 'pcap');
    if (pcap === undefined) throw new UsageError('--pcap FILE is required');
    const out = str(p, 'out');
    const { coll, prog } = loadObject({
      path,
      prog: str(p, 'prog'),
      sets: strs(p, 'set'),
      mapSets: strs(p, 'map-set'),
      engine: engineOpt(p),
      verify: !flag(p, 'no-verify'),
      bpffs: bpffsDir(p),
      ...coreTargetOpt(p),
    });
    try {
      const follow = flag(p, 'follow');
      const recordType = str(p, 'record-type');
      if (recordType !== undefined && !follow) throw new UsageError('--record-type needs --follow');
      const fmt = recordFormatter(coll, recordType);
      const wantJson = flag(p, 'json');
      const onRecord = follow
        ? (rec: StreamRecord) => {
            const formatted = fmt(rec.data);
            if (wantJson)
              io.out(
                btfValueToJson({
                  packet: rec.packet,
                  map: rec.map,
                  kind: rec.kind,
                  ...(rec.cpu !== undefined ? { cpu: rec.cpu } : {}),
                  data: toHexString(rec.data),
                  ...(formatted !== undefined ? { formatted } : {}),
                }),
              );
            else
              io.out(
                `[packet ${rec.packet}] ${rec.kind} ${rec.map}${rec.cpu !== undefined ? ` cpu ${rec.cpu}` : ''}: ${
                  formatted !== undefined ? btfValueToJson(formatted) : spacedHex(rec.data)
                }`,
              );
          }
        : undefined;
      const r = attachPcap(coll, prog!, pcap, out, [path], onRecord);
      const pins = savePins(coll, bpffsDir(p), path, flag(p, 'pin-maps'));
      const maps = flag(p, 'dump-maps') ? [...coll.maps.values()] : [];
      if (flag(p, 'json')) {
        const body: { [key: string]: BtfValue } = {
          prog: r.prog,
          type: r.type,
          packets: r.packets,
          actions: r.actions,
          ...(r.truncated !== undefined ? { truncated: r.truncated } : {}),
          refused: r.refused,
          refused_reasons: r.refusedReasons,
          total_ns: r.totalNs,
          ns_per_packet: r.nsPerPacket,
          ringbuf_records: r.ringbufRecords,
          ringbuf_lost: r.ringbufLost,
          perf_records: r.perfRecords,
          perf_lost: r.perfLost,
          ...(r.output ? { output: r.output } : {}),
          ...(pins.pinned.length ? { pinned: pins.pinned } : {}),
          ...(maps.length ? { maps: Object.fromEntries(maps.map((m) => [m.name, dumpMapJson(m)])) } : {}),
        };
        // btfValueToJson keeps 64-bit map values exact (bpftool prints them as plain digits).
        io.out(btfValueToJson(body));
        return 0;
      }
      const lines = [`${r.prog} (${r.type}): ${r.packets} packets from ${pcap}`];
      for (const [a, n] of Object.entries(r.actions)) lines.push(`  ${a.padEnd(16)} ${n}`);
      if (r.truncated !== undefined) lines.push(`  ${'truncated'.padEnd(16)} ${r.truncated}`);
      lines.push(`refused: ${r.refused}`);
      for (const [why, n] of Object.entries(r.refusedReasons)) lines.push(`  ${n} ${why}`);
      lines.push(`time: ${(r.totalNs / 1e6).toFixed(3)} ms, ${r.nsPerPacket} ns/packet`);
      lines.push(
        `ring buffer records: ${r.ringbufRecords}${r.ringbufLost ? ` (${r.ringbufLost} lost)` : ''}`,
      );
      if (r.perfRecords || r.perfLost)
        lines.push(`perf buffer records: ${r.perfRecords}${r.perfLost ? ` (${r.perfLost} lost)` : ''}`);
      if (r.output) lines.push(`wrote ${r.output.packets} packets to ${r.output.path}`);
      for (const x of pins.pinned) lines.push(`pinned: ${x.map} at ${x.path}`);
      for (const m of maps) lines.push('', `map ${m.name}:`, dumpMapText(m));
      io.out(lines.join('\n'));
      return 0;
    } finally {
      coll.close();
    }
  },
};
