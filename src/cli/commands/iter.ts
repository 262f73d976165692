// tsbpf iter: run an iterator program the way `cat` on a pinned BPF iterator does.
import { UsageError } from '../../errors.ts';
import { newCollection } from '../../runtime/index.ts';
import { type HostObject, iterate, iterateAsync } from '../../runtime/iter/index.ts';
import { readProcTcp } from '../../runtime/iter/proc-net.ts';
import { readProcTasks } from '../../runtime/iter/proc-tasks.ts';
import { flag, int, parseCommandArgs, str, strs } from '../args.ts';
import type { Command } from '../command.ts';
import { parseGlobals, verifyLoaded } from '../loaded-object.ts';
import { json, processIo, readInput, toHex } from '../io.ts';
import { loadInput, pickProgram } from '../program-input.ts';
import { BTF_OPTION, btfUsage, coreTargetOpt } from '../target-btf.ts';
import { provideUserMemory } from './run.ts';

const HEX = /^(?:[0-9a-f]{2})+$/i;

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

function hexBytes(s: string, what: string): Uint8Array {
  const h = s.startsWith('0x') ? s.slice(2) : s;
  if (!HEX.test(h)) throw new UsageError(`--fill ${what}: '${s}' is not hex bytes`);
  return Uint8Array.from(h.match(/../g)!.map((b) => Number.parseInt(b, 16)));
}

/** `--objects FILE`: [{ field: number | string }, ...] */
function readObjects(path: string): HostObject[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(readInput(path)));
  } catch (e) {
    throw new UsageError(`--objects ${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const ok = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  if (
    !Array.isArray(parsed) ||
    !parsed.every(
      (o) => o !== null && typeof o === 'object' && !Array.isArray(o) && Object.values(o).every(ok),
    )
  )
    throw new UsageError(`--objects ${path}: expected an array of objects of integers and strings`);
  return parsed as HostObject[];
}

export const iterCommand: Command = {
  name: 'iter',
  summary:
    'Run an iterator program (iter/bpf_map_elem over a map, iter/bpf_map, iter/task) and print what it writes (like cat on a pinned iterator)',
  usage: `iter FILE.o [--prog NAME] [--before NAME] [--map NAME] [--fill KEY=VALUE]... [--set NAME=VAL]... [--tasks host | --sockets host | --objects FILE] [--user ADDR=HEX]... [--user-delay MS] [--read-size N] [--no-verify] [--json]
  --prog NAME        the iterator program (default: the object's only iterator)
  --before NAME      run this (syscall) program once first, e.g. to fill the map
  --map NAME         the map iter/bpf_map_elem walks (default: the object's only map that is
                     not global data); iter/bpf_map walks every map of the object
  --fill KEY=VALUE   put an element in the map first; key and value in hex, little-endian
                     as in memory (e.g. --fill 01000000=0a00000000000000...); repeatable
  --set NAME=VAL     set a global (const volatile) variable before loading
${btfUsage(21)}
  --objects FILE     iter/task, iter/tcp: a JSON array of the objects' fields by kernel name,
                     e.g. [{"pid": 1, "tgid": 1, "comm": "init"}] (task_struct),
                     [{"skc_family": 2, "skc_num": 80, "skc_state": 10, "uid": 0}] (sock_common;
                     uid is the ctx's)
  --tasks host       iter/task: this machine's tasks, every thread, from /proc (pid, tgid,
                     comm, flags, prio, static_prio)
  --sockets host     iter/tcp: this machine's IPv4 TCP sockets from /proc/net/tcp (sock_common
                     addresses, ports, state; uid)
  --user ADDR=HEX    iter.s/ (sleepable) programs: user memory bpf_copy_from_user reads
  --user-delay MS    deliver the --user memory after MS ms (the program sleeps meanwhile)
  --read-size N      bytes per read(), which decides where the output is cut into the kernel's
                     32 KiB buffer fills (default 131072, as cat)
  --json             {program, map, reads, bytes, error, output (UTF-8), output_hex}
  The output goes to stdout as the program wrote it; exit 1 if the stream ended with an error
  (EAGAIN: the program returned 1; E2BIG: one element's output did not fit 32 KiB).
  --no-verify        load the programs without tsbpf's verifier (by default a program it
                     rejects is not run: exit 1 with the verifier's message)`,
  async run(argv, io) {
    const p = parseCommandArgs('iter', argv, {
      prog: { type: 'string' },
      map: { type: 'string' },
      fill: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      'read-size': { type: 'string' },
      objects: { type: 'string' },
      tasks: { type: 'string' },
      sockets: { type: 'string' },
      user: { type: 'string', multiple: true },
      'user-delay': { type: 'string' },
      before: { type: 'string' },
      'no-verify': { type: 'boolean' },
      json: { type: 'boolean' },
      ...BTF_OPTION,
    });
    if (p.positionals.length !== 1)
      throw new UsageError(`expected exactly one FILE.o, got ${p.positionals.length}`);
    const path = p.positionals[0]!;
    const input = loadInput(path);
    if (!input.spec) throw new UsageError(`${path} is not an ELF object`);
    const spec = input.spec;
    const iters = spec.programs.filter((x) => /^iter(\.s)?\//.test(x.section));
    const progName = str(p, 'prog') ?? (iters.length === 1 ? iters[0]!.name : undefined);
    const ps = pickProgram(spec, progName);
    const before = str(p, 'before');
    if (!/^iter(\.s)?\//.test(ps.section))
      throw new UsageError(`${path}: program ${ps.name} (SEC("${ps.section}")) is not an iterator`);
    const target = ps.section.slice(ps.section.indexOf('/') + 1);
    let mapName = str(p, 'map');
    if (mapName === undefined && target === 'bpf_map_elem') {
      const user = spec.maps.filter((m) => m.origin === 'btf' || m.origin === 'legacy');
      if (user.length !== 1)
        throw new UsageError(
          `${path}: say which map with --map (maps: ${user.map((m) => m.name).join(', ')})`,
        );
      mapName = user[0]!.name;
    }
    const coll = newCollection(spec, {
      verify: false,
      programs: before === undefined ? [ps.name] : [ps.name, before],
      rodata: parseGlobals(strs(p, 'set')),
      ...coreTargetOpt(p),
    });
    try {
      // as the kernel checks iterator programs at load: ctx layout, nullable object pointers
      if (!flag(p, 'no-verify')) for (const prog of coll.programs.values()) verifyLoaded(path, coll, prog);
      const map = mapName === undefined ? undefined : coll.map(mapName);
      if (!map && strs(p, 'fill').length) throw new UsageError('--fill needs --map');
      for (const f of strs(p, 'fill')) {
        if (!map) break;
        const eq = f.indexOf('=');
        if (eq <= 0) throw new UsageError(`--fill ${f}: expected KEY=VALUE in hex`);
        const key = hexBytes(f.slice(0, eq), f);
        const value = hexBytes(f.slice(eq + 1), f);
        if (key.length !== map.keySize || value.length !== map.hostValueSize)
          throw new UsageError(
            `--fill ${f}: map ${map.name} has ${map.keySize}-byte keys and ${map.hostValueSize}-byte values`,
          );
        map.update(key, value);
      }
      const readSize = int(p, 'read-size', 131072, 1 << 30);
      if (readSize === 0) throw new UsageError('--read-size: must be at least 1');
      if (before !== undefined) coll.program(before).run();
      const objectsFile = str(p, 'objects');
      const tasks = str(p, 'tasks');
      const sockets = str(p, 'sockets');
      for (const [opt, v] of [
        ['--tasks', tasks],
        ['--sockets', sockets],
      ] as const)
        if (v !== undefined && v !== 'host')
          throw new UsageError(`${opt} ${v}: the only source is 'host' (use --objects FILE for a list)`);
      if ([tasks, sockets, objectsFile].filter((v) => v !== undefined).length > 1)
        throw new UsageError('--tasks, --sockets and --objects all give the objects: use one');
      const objects =
        tasks !== undefined
          ? readProcTasks()
          : sockets !== undefined
            ? readProcTcp()
            : objectsFile === undefined
              ? undefined
              : readObjects(objectsFile);
      provideUserMemory(coll, p);
      const iterOpts = { ...(map ? { map } : {}), ...(objects ? { objects } : {}), readSize };
      // iter.s/ programs may sleep in bpf_copy_from_user: their runs are awaited
      const r = ps.sleepable
        ? await iterateAsync(coll.program(ps.name), iterOpts)
        : iterate(coll.program(ps.name), iterOpts);
      if (flag(p, 'json')) {
        io.out(
          json({
            program: ps.name,
            map: map?.name ?? null,
            reads: r.reads,
            bytes: r.bytes.length,
            error: r.error?.name ?? null,
            output: new TextDecoder().decode(r.bytes),
            output_hex: toHex(r.bytes),
          }),
        );
      } else {
        // Seq output is bytes (bpf_seq_write): the terminal gets them unchanged, a captured Io
        // gets one char per byte.
        if (io === processIo) process.stdout.write(r.bytes);
        else if (r.bytes.length) io.out(latin1(r.bytes));
        if (r.error) io.err(`tsbpf iter: read: ${r.error.name} (after ${r.bytes.length} bytes)`);
      }
      return r.error ? 1 : 0;
    } finally {
      coll.close();
    }
  },
};
