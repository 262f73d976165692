// tsbpf map dump / map show: an object's maps after loading (global data maps hold their
// initial values), optionally after a pcap ran through a program, formatted through BTF as
// `bpftool map dump` prints them (kernel tree: tools/bpf/bpftool/map.c, btf_dumper.c).
import { UsageError } from '../../errors.ts';
import {
  ArrayMap,
  type BpfMap,
  type BtfValue,
  btfValueToJson,
  formatMapDump,
  HashMap,
  MapError,
} from '../../maps/index.ts';
import { flag, onePositional, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import { json } from '../io.ts';
import { BPFFS_OPTION, bpffsDir, openPin, pinPath } from '../pins.ts';
import { BTF_OPTION, btfUsage, coreTargetOpt } from '../target-btf.ts';
import { attachPcap, findMap, loadObject, requireObject } from './attach.ts';

const hexList = (b: Uint8Array): string[] => Array.from(b, (x) => `0x${x.toString(16).padStart(2, '0')}`);
const hexText = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** Elements of a map, or undefined for maps that cannot be walked (ring buffers, queues). */
function entriesOf(map: BpfMap): [Uint8Array, Uint8Array][] | undefined {
  try {
    return [...map.entries()];
  } catch (e) {
    if (e instanceof MapError) return undefined;
    throw e;
  }
}

const isPercpu = (map: BpfMap): boolean => (map instanceof ArrayMap || map instanceof HashMap) && map.percpu;

const hasBtf = (map: BpfMap): boolean => map.btf !== undefined && map.valueTypeId !== 0;

function perCpuValues(map: BpfMap, v: Uint8Array): Uint8Array[] {
  const stride = Math.ceil(map.valueSize / 8) * 8;
  return Array.from({ length: map.nrCpus }, (_, c) => v.subarray(c * stride, c * stride + map.valueSize));
}

/** JSON value with bigints kept exact: `bpftool -j map dump` of one map. */
export function dumpMapJson(map: BpfMap): BtfValue[] {
  const entries = entriesOf(map) ?? [];
  const formatted = hasBtf(map) ? formatMapDump(map) : undefined;
  return entries.map(([k, v], i) => {
    const raw: { [name: string]: BtfValue } = { key: hexList(k) };
    if (isPercpu(map)) raw.values = perCpuValues(map, v).map((x, cpu) => ({ cpu, value: hexList(x) }));
    else raw.value = hexList(v);
    if (formatted) raw.formatted = formatted[i]!;
    return raw;
  });
}

/** bpftool's pretty JSON writer: four-space indent, bigints as plain digits. */
export function pretty(v: BtfValue, indent = ''): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return JSON.stringify(v);
  const inner = `${indent}    `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => `${inner}${pretty(x, inner)}`).join(',\n')}\n${indent}]`;
  }
  const keys = Object.entries(v);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${pretty(x, inner)}`).join(`,\n`)}\n${indent}}`;
}

/** `bpftool map dump` text: BTF-formatted entries as pretty JSON, else hex key/value lines. */
export function dumpMapText(map: BpfMap): string {
  const entries = entriesOf(map);
  if (!entries) return `(a ${map.typeName} map has no elements to walk)`;
  if (hasBtf(map)) return prettyList(formatMapDump(map));
  const lines: string[] = [];
  for (const [k, v] of entries) {
    if (isPercpu(map)) {
      lines.push(`key:\n${hexText(k)}`);
      const values = perCpuValues(map, v);
      for (let cpu = 0; cpu < values.length; cpu++)
        lines.push(`value (CPU ${String(cpu).padStart(2, '0')}): ${hexText(values[cpu]!)}`);
    } else lines.push(`key: ${hexText(k)}  value: ${hexText(v)}`);
  }
  lines.push(`Found ${entries.length} element${entries.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}

const prettyList = (items: BtfValue[]): string => pretty(items, '');

export const mapDumpCommand: Command = {
  name: 'map dump',
  summary: "Print a map's elements after loading (or after a pcap run), like bpftool map dump",
  usage: `map dump FILE.o --map NAME [--prog NAME --pcap IN.pcap] [--set VAR=VAL] [--json]
       map dump pinned PATH [--bpffs DIR] [--json]

  pinned PATH     a pinned map (see 'tsbpf map pin'), under --bpffs DIR, $TSBPF_BPFFS
                  or ./.tsbpf/bpffs unless absolute
  --map NAME      the map ('.data', '.rodata', '.bss' name an object's global data)
  --prog NAME     with --pcap: run this program over the packets first
  --pcap FILE     packets (pcap or pcapng) to run through --prog before dumping
  --map-set M:K=V update a map first (hex bytes in memory order, repeatable)
  --set NAME=VAL  set a global (const volatile) variable before loading
  --no-verify     run without the verifier
${btfUsage(18)}
  --json          like 'bpftool -j map dump': [{"key", "value", "formatted"}]`,
  run(argv, io) {
    const p = parseCommandArgs('map dump', argv, {
      map: { type: 'string' },
      prog: { type: 'string' },
      pcap: { type: 'string' },
      'map-set': { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      'no-verify': { type: 'boolean' },
      json: { type: 'boolean' },
      ...BTF_OPTION,
      ...BPFFS_OPTION,
    });
    if (p.positionals[0] === 'pinned') {
      if (p.positionals.length !== 2) throw new UsageError("expected 'pinned PATH'");
      const pin = openPin(pinPath(bpffsDir(p), p.positionals[1]!));
      try {
        io.out(flag(p, 'json') ? btfValueToJson(dumpMapJson(pin.map)) : dumpMapText(pin.map));
        return 0;
      } finally {
        pin.close();
      }
    }
    const path = onePositional(p, 'map dump', 'FILE.o');
    const name = str(p, 'map');
    if (name === undefined) throw new UsageError('--map NAME is required');
    const pcap = str(p, 'pcap');
    const progName = str(p, 'prog');
    if (pcap !== undefined && progName === undefined) throw new UsageError('--pcap needs --prog NAME');
    const { coll, prog } = loadObject({
      path,
      ...(progName !== undefined ? { prog: progName } : {}),
      mapsOnly: true,
      sets: strs(p, 'set'),
      mapSets: strs(p, 'map-set'),
      verify: !flag(p, 'no-verify'),
      ...coreTargetOpt(p),
    });
    try {
      const map = findMap(coll, name);
      if (pcap !== undefined && prog) attachPcap(coll, prog, pcap, undefined, [path]);
      // btfValueToJson keeps 64-bit values exact, as bpftool's %llu does.
      io.out(flag(p, 'json') ? btfValueToJson(dumpMapJson(map)) : dumpMapText(map));
      return 0;
    } finally {
      coll.close();
    }
  },
};

export const mapShowCommand: Command = {
  name: 'map show',
  summary: "List an object's maps (type, key/value sizes, max entries, flags), like bpftool map show",
  usage: `map show FILE.o [--map NAME] [--json]`,
  run(argv, io) {
    const p = parseCommandArgs('map show', argv, { map: { type: 'string' }, json: { type: 'boolean' } });
    const path = onePositional(p, 'map show', 'FILE.o');
    const spec = requireObject(path);
    const want = str(p, 'map');
    const maps = spec.maps
      .map((m, i) => ({ id: i + 1, m }))
      .filter(
        ({ m }) => want === undefined || m.name === want || (want.startsWith('.') && m.name.endsWith(want)),
      );
    if (want !== undefined && maps.length !== 1)
      throw new UsageError(
        `no map named '${want}' (maps: ${spec.maps.map((m) => m.name).join(', ') || 'none'})`,
      );
    const rows = maps.map(({ id, m }) => ({
      id,
      name: m.name,
      type: m.typeName,
      key_size: m.keySize,
      value_size: m.valueSize,
      max_entries: m.maxEntries,
      flags: m.flags,
      origin: m.origin,
      ...(m.frozen ? { frozen: true } : {}),
      btf_key_type_id: m.keyTypeId,
      btf_value_type_id: m.valueTypeId,
    }));
    if (flag(p, 'json')) {
      io.out(json(want === undefined ? rows : rows[0]));
      return 0;
    }
    const out: string[] = [];
    for (const r of rows) {
      out.push(
        `${r.id}: ${r.type}  name ${r.name}  flags 0x${r.flags.toString(16)}${r.frozen ? '  frozen' : ''}`,
      );
      out.push(
        `\tkey ${r.key_size}B  value ${r.value_size}B  max_entries ${r.max_entries}  origin ${r.origin}`,
      );
      if (r.btf_value_type_id)
        out.push(`\tbtf key type ${r.btf_key_type_id}  value type ${r.btf_value_type_id}`);
    }
    io.out(out.join('\n') || `${path}: no maps`);
    return 0;
  },
};
