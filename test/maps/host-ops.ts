// Runs kmapops scripts (see kmapops.c for the language) in the kernel and through tsbpf's host
// map API, producing the same result lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BloomFilterMap } from '../../src/maps/bloom-filter.ts';
import { createMap } from '../../src/maps/create.ts';
import { MapError } from '../../src/maps/errno.ts';
import type { BpfMap } from '../../src/maps/map.ts';
import { MapInMap } from '../../src/maps/map-in-map.ts';
import { RingbufMap } from '../../src/maps/ringbuf.ts';
import type { MapCreateSpec } from '../../src/maps/spec.ts';
import { InputError } from '../../src/errors.ts';
import { decodeSlots } from '../../src/isa/decode.ts';
import { testRun } from '../../src/runtime/test-run.ts';
import { Arena } from '../../src/vm/arena.ts';
import { Vm } from '../../src/vm/vm.ts';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'node_modules/.cache/kmapops');
const src = join(root, 'test/maps/kmapops.c');

/** Why the kernel side cannot run, or undefined. */
export function kmapopsProblem(): string | undefined {
  try {
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
      mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
      execFileSync('gcc', ['-O2', '-o', bin, src], { stdio: 'pipe' });
    }
  } catch (e) {
    return `cannot build kmapops (gcc missing?): ${(e as Error).message.split('\n')[0]}`;
  }
  const r = runKernelScript('create 2 4 4 1 0 0 -1');
  if (r[0] !== 'ok') return `bpf() unavailable: ${r[0] ?? 'no output'}`;
  return undefined;
}

/** The kernel's possible CPUs (what bpf() sizes per-CPU values by). */
export function possibleCpus(): number {
  try {
    const s = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    const m = /(\d+)$/.exec(s);
    return m ? Number(m[1]) + 1 : 1;
  } catch {
    return 1;
  }
}

export function runKernelScript(script: string): string[] {
  const r = spawnSync(bin, [], { input: `${script.trim()}\n`, encoding: 'utf8', maxBuffer: 1 << 26 });
  // A verifier refusal carries its errno; tsbpf (no verifier here) reports only "reject".
  return (r.stdout ?? '')
    .trim()
    .split('\n')
    .map((l) => (l.startsWith('reject') ? 'reject' : l));
}

const unhex = (s: string): Uint8Array =>
  s === '-' ? new Uint8Array(0) : new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function runTsbpfScript(script: string, nrCpus: number): string[] {
  const arena = new Arena();
  const maps: BpfMap[] = [];
  const specs: MapCreateSpec[] = [];
  const out: string[] = [];
  for (const line of script.trim().split('\n')) {
    const a = line.trim().split(/\s+/);
    const m = maps[Number(a[1])]!;
    try {
      switch (a[0]) {
        case 'create': {
          const inner = Number(a[7]);
          const spec: MapCreateSpec = {
            type: Number(a[1]),
            keySize: Number(a[2]),
            valueSize: Number(a[3]),
            maxEntries: Number(a[4]),
            flags: Number(a[5]),
            mapExtra: BigInt(a[6]!),
            innerMap: inner >= 0 ? specs[inner] : undefined,
          };
          maps.push(createMap(arena, spec, { nrCpus, hashSeed: 0 }));
          specs.push(spec);
          out.push('ok');
          break;
        }
        case 'update':
          m.update(unhex(a[2]!), unhex(a[3]!), Number(a[4]));
          out.push('ok');
          break;
        case 'updatefd':
          (m as MapInMap).setInner(unhex(a[2]!), maps[Number(a[3])]!, Number(a[4]));
          out.push('ok');
          break;
        case 'lookup': {
          if (m instanceof BloomFilterMap) {
            out.push(m.has(unhex(a[3]!)) ? `ok ${a[3]}` : 'err 2');
            break;
          }
          const v = m.lookup(unhex(a[2]!));
          // Map-in-map lookups return ids, which differ from the kernel's: report presence only.
          out.push(v ? `ok ${m instanceof MapInMap ? 'ID' : hex(v)}` : 'err 2');
          break;
        }
        case 'lookupdel': {
          const v = m.lookupAndDelete(unhex(a[2]!));
          out.push(v ? `ok ${hex(v)}` : 'err 2');
          break;
        }
        case 'delete':
          m.delete(unhex(a[2]!));
          out.push('ok');
          break;
        case 'next': {
          const k = m.nextKey(a[2] === '-' ? undefined : unhex(a[2]!));
          out.push(k ? `ok ${hex(k)}` : 'err 2');
          break;
        }
        case 'walk':
          out.push(['ok', ...[...m.keys()].map(hex)].join(' '));
          break;
        case 'run': {
          const insns = decodeSlots(unhex(a[1]!));
          const vm = new Vm({ arena, seed: 1 });
          try {
            const r = testRun(insns, { type: 'socket_filter', data: new Uint8Array(64), vm, maps });
            out.push(`ok ${r.retval}`);
          } catch (e) {
            if (!(e instanceof InputError)) throw e;
            out.push('reject');
          }
          break;
        }
        case 'ringdump': {
          if (!(m instanceof RingbufMap)) throw new Error('ringdump needs a ring buffer');
          // The ring as user space sees it through mmap: positions, then each record header.
          const u8 = arena.u8;
          const at = (pos: number) => m.data + (pos & m.mask);
          const u32le = (pos: number) => arena.dv.getUint32(at(pos), true);
          const parts = [`ok ${m.consumerPos} ${m.producerPos}`];
          for (let c = m.consumerPos; c < m.producerPos; ) {
            const len = u32le(c);
            let part = `${len.toString(16)}/${u32le(c + 4)}/`;
            if (len & 0x80000000) {
              parts.push(part);
              break;
            }
            const sz = len & ~0x40000000;
            for (let i = 0; i < sz; i++) part += u8[at(c + 8 + i)]!.toString(16).padStart(2, '0');
            parts.push(part);
            c += Math.ceil((sz + 8) / 8) * 8;
          }
          out.push(parts.join(' '));
          break;
        }
        case 'freeze':
          m.freeze();
          out.push('ok');
          break;
        default:
          out.push(`bad command ${a[0]}`);
      }
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      out.push(`err ${e.errno}`);
    }
  }
  for (const m of maps) m.close();
  return out;
}
